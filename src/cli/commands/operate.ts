/** Commands that drive the fleet: restart, verify, status, start, stop, logs. Thin: flags → one call. */
import type { Command } from "commander";
import { createBackend } from "../../backend";
import { projectOf } from "../project";
import { selectTargets, servicesOf } from "../../model/lookup";
import { restart } from "../../fleet/restart";
import type { TakeOut } from "../../fleet/rollout";
import { startWithDependencies, stopWithDependents } from "../../fleet/start-stop";
import { UsageError } from "../../errors";
import { action } from "../program";
import { refuseDisabled, runningBackendOf, statusCommand, verifyCommand } from "./read-commands";
import { operationOf, type Context } from "../context";
import { logFiles, parseDuration, showLogs } from "../present/logs";
import { printProxyUrls } from "../present/proxy";
import { stopProxy } from "../../fleet/proxy";

async function runningBackend(ctx: Context) {
  const project = projectOf(ctx);
  return { ...project, backend: await runningBackendOf(ctx, project.model) };
}

/** Adds `restart`, `verify`, `status`, `start`, `stop`, `shutdown` and `logs`. */
export function registerOperate(program: Command): void {
  program
    .command("restart")
    .argument("[names...]", "services to restart: NAME (every instance), NAME:I or a process group (default: all)")
    .option("--all-at-once", "named services with instances: stop every instance, then start them (no rollout)")
    .option("--max-unavailable <n>", "rollout: instances out of service at once", "1")
    .option(
      "--take-out <how>",
      'rollout behind the proxy: "retry" (nginx retries the others while an instance stops; no reload) or "reload" (mark it down and reload first)',
      "retry",
    )
    .option(
      "--drain-timeout <seconds>",
      "rollout with --take-out reload: wait this long for an instance's requests to finish",
      "5",
    )
    .description("generate, ensure supervisord, apply, restart in dependency order waiting for readiness, verify")
    .addHelpText(
      "after",
      "\nReplaces MASTER_RESTART.sh: no kill -9, no fixed sleeps; only programs whose configuration changed are\nreloaded, and each dependency level must be ready (port accepting, health 2xx) before the next starts.\nA named service with instances is rolled: one instance at a time is stopped (it finishes its requests on\nits stop signal while the proxy retries new ones on the others), restarted with its new configuration,\nwaited for, and taken back by the proxy; the others keep serving. --take-out reload marks it down in the\nupstream and reloads nginx first, for programs that drop their requests when stopped.\n\nExamples:\n  orchestrate restart\n  orchestrate restart trade_executor\n  orchestrate restart api --max-unavailable 2\n  orchestrate restart api --take-out reload --drain-timeout 10\n\nExit: 0 every service verified · 1 a service failed (named, with its state and log tail; a rollout stops there) · 2 bad manifest",
    )
    .action(
      action(
        program,
        async (
          ctx,
          names: string[],
          opts: { allAtOnce?: boolean; maxUnavailable: string; drainTimeout: string; takeOut: string },
        ) => {
          const maxUnavailable = Number(opts.maxUnavailable);
          if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1)
            throw new UsageError(
              `--max-unavailable expects a whole number ≥ 1, found "${opts.maxUnavailable}"`,
              "e.g. --max-unavailable 1",
            );
          if (opts.takeOut !== "retry" && opts.takeOut !== "reload")
            throw new UsageError(
              `--take-out expects "retry" or "reload", found "${opts.takeOut}"`,
              "e.g. --take-out reload",
            );
          const drain = Number(opts.drainTimeout);
          if (!Number.isFinite(drain) || drain < 0)
            throw new UsageError(
              `--drain-timeout expects seconds ≥ 0, found "${opts.drainTimeout}"`,
              "e.g. --drain-timeout 5",
            );
          const result = await restart(operationOf(ctx), {
            names: names.length ? names : undefined,
            allAtOnce: opts.allAtOnce,
            maxUnavailable,
            drainTimeoutMs: drain * 1000,
            takeOut: opts.takeOut as TakeOut,
          });
          if (result.proxy) printProxyUrls(ctx, result.proxy.routes, (line) => ctx.stdout.write(line + "\n"));
          return result.ok ? 0 : 1;
        },
      ),
    );

  program
    .command("verify")
    .argument(
      "[names...]",
      "services to verify: NAME (every instance), NAME:I or a process group (default: all enabled)",
    )
    .option("--json", "machine-readable")
    .description(
      "state RUNNING, port listening, listener inside the program's process tree, health 2xx, CPU and memory",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate verify\n  orchestrate verify trade_executor --json\n\nExit: 0 all verified · 1 anything failed",
    )
    .action(
      action(program, (ctx, names: string[], opts: { json?: boolean }) =>
        verifyCommand(ctx, projectOf(ctx).model, names, opts),
      ),
    );

  program
    .command("status")
    .option("--json", "machine-readable")
    .description("state, pid, port, uptime, CPU, memory and health of every service")
    .addHelpText(
      "after",
      "\nRESTARTS counts automatic restarts since the fleet was started (supervisord: from its log; systemd:\nNRestarts); LAST EXIT is the exit code or signal of the last process, when, and how long it had run.\n\nExamples:\n  orchestrate status\n  orchestrate status --json | jq '.services[] | select(.state != \"RUNNING\")'\n\nExit: 0 every enabled service runs · 3 one does not (as supervisorctl status) · 2 bad manifest",
    )
    .action(action(program, (ctx, opts: { json?: boolean }) => statusCommand(ctx, projectOf(ctx).model, opts)));

  program
    .command("start")
    .argument("<names...>", "services: NAME (every instance), NAME:I (one) or a process group (its services)")
    .description("start services after their stopped dependencies (waits for readiness)")
    .addHelpText(
      "after",
      "\nA dependency (dependsOn) that is not running is started first and must be ready before the service\nstarts, like systemd's Wants=/After=; running dependencies are left alone. A oneshot runs again; a\nservice with autostart: false is started here.\n\nExample:\n  orchestrate start trade_executor\n\nExit: 0 every named service ready · 1 one failed (named, with its state and log tail) · 2 unknown name",
    )
    .action(
      action(program, async (ctx, names: string[]) => {
        const { model, backend } = await runningBackend(ctx);
        const targets = selectTargets(model, names);
        const services = servicesOf(targets);
        refuseDisabled(services.filter((s) => !s.enabled));
        const out = (line: string) => ctx.stdout.write(line + "\n");
        const result = await startWithDependencies(model, backend, services, out, {
          programs: new Set(targets.map((t) => t.instance.program)),
        });
        const named = new Set(services.map((s) => s.name));
        const byName = new Map(model.services.map((s) => [s.name, s]));
        for (const r of result.readiness) {
          const label = named.has(r.service) ? r.name : `${r.name} (dependency)`;
          const verb = byName.get(r.service)?.type === "oneshot" ? `ran (exit ${r.status?.exitStatus ?? 0})` : "ready";
          out(r.ok ? `${label}: ${verb} in ${Math.round(r.ms)} ms` : `${label}: ${r.reason}`);
          if (!r.ok && r.logTail) out(r.logTail.replace(/^/gm, "  | "));
        }
        return result.ok ? 0 : 1;
      }),
    );

  program
    .command("stop")
    .argument("<names...>", "services: NAME (every instance), NAME:I (one) or a process group (its services)")
    .option("--with-dependents", "also stop the running services that depend on them (first)")
    .description("stop services (the manager escalates to SIGKILL after stopTimeout)")
    .addHelpText(
      "after",
      "\nA running service that depends on one named (dependsOn) would lose it: the stop is refused, before\nanything is stopped, naming it; --with-dependents stops it too, dependents first.\n\nExamples:\n  orchestrate stop trade_executor\n  orchestrate stop users_api --with-dependents\n\nExit: 0 stopped · 1 refused: running dependents (named) · 2 unknown name",
    )
    .action(
      action(program, async (ctx, names: string[], opts: { withDependents?: boolean }) => {
        const { model, backend } = await runningBackend(ctx);
        const targets = selectTargets(model, names);
        const services = servicesOf(targets);
        refuseDisabled(services.filter((s) => !s.enabled));
        const result = await stopWithDependents(model, backend, services, {
          withDependents: !!opts.withDependents,
          programs: new Set(targets.map((t) => t.instance.program)),
        });
        if (result.refused) {
          for (const r of result.refused)
            ctx.stderr.write(`${r.name} is running and depends on ${r.dependsOn.join(", ")}\n`);
          ctx.stderr.write(
            `nothing stopped: run "orchestrate stop ${names.join(" ")} --with-dependents" to stop ${result.refused.map((r) => r.name).join(", ")} too, or stop ${result.refused.length === 1 ? "it" : "them"} first\n`,
          );
          return 1;
        }
        const labels = new Set(targets.map((t) => t.instance.label));
        for (const n of result.stopped)
          ctx.stdout.write(`${n}: stopped${labels.has(n) ? "" : " (depends on " + names.join(", ") + ")"}\n`);
        return 0;
      }),
    );

  program
    .command("shutdown")
    .description("stop the proxy (nginx), every program and the private supervisord (systemd: stop the project target)")
    .addHelpText("after", "\nExample:\n  orchestrate shutdown")
    .action(
      action(program, async (ctx) => {
        const { model } = projectOf(ctx);
        const backend = createBackend(model, { kind: ctx.backend, ...ctx.systemd });
        await backend.requireReachable();
        // the proxy first: nothing is sent to services that are stopping
        if (await stopProxy(model)) ctx.stdout.write("nginx (the proxy) stopped\n");
        if (!(await backend.isRunning())) {
          ctx.stdout.write(`${backend.label} is not running\n`);
          return 0;
        }
        await backend.shutdown();
        ctx.stdout.write(
          backend.fleetName === backend.label
            ? `${backend.label} and every program stopped\n`
            : `${backend.fleetName} stopped\n`,
        );
        return 0;
      }),
    );

  program
    .command("logs")
    .argument("[names...]", "services, NAME:I for one instance, or a process group (default: every enabled service)")
    .option("-f, --follow", "keep printing new lines of every selected log")
    .option("-n, --lines <n>", "lines to show per service and stream", "40")
    .option("--since <duration>", "only lines from the last DURATION (90s, 15m, 2h, 1d)")
    .option("--stderr", "only the error logs (default: stdout and stderr)")
    .description("the logs of one or many services, stdout and stderr interleaved in time order")
    .addHelpText(
      "after",
      '\nEach line is prefixed with its service (and instance; "(err)" for stderr), coloured per service.\nLines are ordered by the timestamp they start with; a line without one follows the line before it in\nits file, and a file without any timestamp is placed at its last modification time (README "logs").\n\nExamples:\n  orchestrate logs\n  orchestrate logs trade_executor -n 100\n  orchestrate logs users_api gateway --since 10m -f',
    )
    .action(
      action(
        program,
        async (ctx, names: string[], opts: { follow?: boolean; lines: string; stderr?: boolean; since?: string }) => {
          const { model } = projectOf(ctx);
          const lines = Number(opts.lines);
          if (!Number.isInteger(lines) || lines < 0)
            throw new UsageError(`--lines expects a whole number, found "${opts.lines}"`, "e.g. --lines 100");
          let sinceMs: number | undefined;
          if (opts.since !== undefined) {
            const ms = parseDuration(opts.since);
            if (ms === undefined)
              throw new UsageError(
                `--since expects a duration, found "${opts.since}"`,
                "e.g. --since 90s, 15m, 2h or 1d",
              );
            sinceMs = Date.now() - ms;
          }
          const instances = names.length
            ? selectTargets(model, names).map((t) => t.instance)
            : model.services.filter((s) => s.enabled).flatMap((s) => s.instances);
          await showLogs(ctx, logFiles(instances, { stderrOnly: !!opts.stderr }), {
            lines,
            follow: !!opts.follow,
            sinceMs,
          });
          return 0;
        },
      ),
    );
}
