/** Commands that drive the fleet: restart, verify, status, start, stop, logs. Thin: flags → one call. */
import type { Command } from "commander";
import { createBackend } from "../../backend";
import { loadProject } from "../../manifest";
import { parseTarget, selectTargets, servicesOf } from "../../model/lookup";
import { restart } from "../../fleet/restart";
import { startInstances, stopInstances } from "../../fleet/control";
import { verifyServices } from "../../verify/verify";
import { OperationError, UsageError } from "../../errors";
import { notAnsweringMessage } from "../../backend/types";
import type { Service } from "../../model/types";
import { action } from "../program";
import { operationOf, type Context } from "../context";
import { statusReport } from "../../fleet/status";
import { followLog } from "../present/logs";
import { printStatus } from "../present/status";
import { printChecks } from "../present/verify-table";
import { printProxyUrls } from "../present/proxy";
import { verifyProxy } from "../../verify/proxy";
import { stopProxy } from "../../fleet/proxy";

async function runningBackend(ctx: Context) {
  const project = loadProject(ctx.manifest);
  const backend = createBackend(project.model, { kind: ctx.backend, ...ctx.systemd });
  await backend.requireReachable(); // systemd: "System has not been booted with systemd…" naming the alternatives
  const reach = await backend.reachability();
  if (reach === "not answering") throw new OperationError(notAnsweringMessage(backend.label));
  if (reach !== "running") {
    throw new OperationError(
      `${backend.label} is not running for ${project.model.paths.manifest} (no answer on ${backend.endpoint})`,
      'start the fleet with "orchestrate restart"',
    );
  }
  return { ...project, backend };
}

/** Adds `restart`, `verify`, `status`, `start`, `stop`, `shutdown` and `logs`. */
/** Naming a disabled service is bad input: it has no program, so there is nothing to start or verify. */
function refuseDisabled(disabled: Service[]): void {
  if (disabled.length)
    throw new UsageError(
      `${disabled.map((s) => s.name).join(", ")} ${disabled.length === 1 ? "is" : "are"} disabled (enabled: false): no program runs`,
      'set "enabled": true in the manifest and run "orchestrate restart"',
    );
}

export function registerOperate(program: Command): void {
  program
    .command("restart")
    .argument("[names...]", "services to restart: NAME (every instance) or NAME:I (default: all)")
    .option("--all-at-once", "named services with instances: stop every instance, then start them (no rollout)")
    .option("--max-unavailable <n>", "rollout: instances out of service at once", "1")
    .option("--drain-timeout <seconds>", "rollout: wait this long for an instance's requests to finish", "5")
    .description("generate, ensure supervisord, apply, restart in dependency order waiting for readiness, verify")
    .addHelpText(
      "after",
      "\nReplaces MASTER_RESTART.sh: no kill -9, no fixed sleeps; only programs whose configuration changed are\nreloaded, and each dependency level must be ready (port accepting, health 2xx) before the next starts.\nA named service with instances is rolled: one instance at a time is taken out of the proxy's upstream,\ndrained, restarted with its new configuration, waited for and put back; the others keep serving.\n\nExamples:\n  orchestrate restart\n  orchestrate restart trade_executor\n  orchestrate restart api --max-unavailable 2 --drain-timeout 10\n\nExit: 0 every service verified · 1 a service failed (named, with its state and log tail; a rollout stops there) · 2 bad manifest",
    )
    .action(
      action(
        program,
        async (ctx, names: string[], opts: { allAtOnce?: boolean; maxUnavailable: string; drainTimeout: string }) => {
          const maxUnavailable = Number(opts.maxUnavailable);
          if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1)
            throw new UsageError(
              `--max-unavailable expects a whole number ≥ 1, found "${opts.maxUnavailable}"`,
              "e.g. --max-unavailable 1",
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
          });
          if (result.proxy) printProxyUrls(ctx, result.proxy.routes, (line) => ctx.stdout.write(line + "\n"));
          return result.ok ? 0 : 1;
        },
      ),
    );

  program
    .command("verify")
    .argument("[names...]", "services to verify: NAME (every instance) or NAME:I (default: all enabled)")
    .option("--json", "machine-readable")
    .description(
      "state RUNNING, port listening, listener inside the program's process tree, health 2xx, CPU and memory",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate verify\n  orchestrate verify trade_executor --json\n\nExit: 0 all verified · 1 anything failed",
    )
    .action(
      action(program, async (ctx, names: string[], opts: { json?: boolean }) => {
        const { model, backend } = await runningBackend(ctx);
        const targets = selectTargets(model, names.length ? names : undefined);
        const selected = servicesOf(targets);
        if (names.length) refuseDisabled(selected.filter((s) => !s.enabled));
        const checks = await verifyServices(model, backend, selected, {
          programs: new Set(targets.map((t) => t.instance.program)),
        });
        // the proxy is verified with the whole fleet (a named verify checks only those services)
        const proxy = model.proxy && !names.length ? await verifyProxy(model) : undefined;
        const ok = checks.every((c) => c.ok) && (proxy?.ok ?? true);
        if (opts.json)
          ctx.stdout.write(
            JSON.stringify(
              {
                ok,
                services: checks,
                ...(proxy ? { proxy: { ok: proxy.ok, checks: proxy.checks, routes: proxy.routes } } : {}),
              },
              null,
              2,
            ) + "\n",
          );
        else printChecks(ctx, [...checks, ...(proxy?.checks ?? [])], (line) => ctx.stdout.write(line + "\n"));
        return ok ? 0 : 1;
      }),
    );

  program
    .command("status")
    .option("--json", "machine-readable")
    .description("state, pid, port, uptime, CPU, memory and health of every service")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate status\n  orchestrate status --json | jq '.services[] | select(.state != \"RUNNING\")'",
    )
    .action(
      action(program, async (ctx, opts: { json?: boolean }) => {
        const { model } = loadProject(ctx.manifest);
        const backend = createBackend(model, { kind: ctx.backend, ...ctx.systemd });
        // A private supervisord that is down is a state to report (restart starts it); a systemd that is not
        // PID 1 (or unreachable) is an error orchestrate cannot fix: say so, naming --user and the supervisor backend.
        await backend.requireReachable();
        const report = await statusReport(model, backend);
        if (opts.json) ctx.stdout.write(JSON.stringify(report, null, 2) + "\n");
        else printStatus(ctx, report);
        return report.manager === "not answering" ? 1 : 0;
      }),
    );

  for (const verb of ["start", "stop"] as const) {
    program
      .command(verb)
      .argument("<names...>", "services: NAME (every instance) or NAME:I (one)")
      .description(
        verb === "start"
          ? "start services (waits for readiness)"
          : "stop services (the manager escalates to SIGKILL after stopTimeout)",
      )
      .addHelpText("after", `\nExample:\n  orchestrate ${verb} trade_executor`)
      .action(
        action(program, async (ctx, names: string[]) => {
          const { model, backend } = await runningBackend(ctx);
          const targets = selectTargets(model, names);
          refuseDisabled(servicesOf(targets).filter((s) => !s.enabled));
          if (verb === "stop") {
            await stopInstances(backend, targets);
            for (const t of targets) ctx.stdout.write(`${t.instance.label}: stopped\n`);
            return 0;
          }
          let code = 0;
          for (const r of await startInstances(backend, targets)) {
            ctx.stdout.write(
              r.ok
                ? `${r.name}: ${targets.find((t) => t.instance.program === r.program)?.service.type === "oneshot" ? `ran (exit ${r.status?.exitStatus ?? 0})` : "ready"} in ${Math.round(r.ms)} ms\n`
                : `${r.name}: ${r.reason}\n${r.logTail ? r.logTail.replace(/^/gm, "  | ") + "\n" : ""}`,
            );
            if (!r.ok) code = 1;
          }
          return code;
        }),
      );
  }

  program
    .command("shutdown")
    .description("stop the proxy (nginx), every program and the private supervisord (systemd: stop the project target)")
    .addHelpText("after", "\nExample:\n  orchestrate shutdown")
    .action(
      action(program, async (ctx) => {
        const { model } = loadProject(ctx.manifest);
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
    .argument("<name>", "service: NAME (every instance) or NAME:I (one)")
    .option("-f, --follow", "keep printing new lines")
    .option("-n, --lines <n>", "lines to show", "40")
    .option("--stderr", "only the error log (default: both, stdout then stderr)")
    .description("the last lines of a service's logs/NAME.out.log and logs/NAME.err.log (NAME@I.… per instance)")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate logs trade_executor -n 100\n  orchestrate logs trade_executor --follow",
    )
    .action(
      action(program, async (ctx, name: string, opts: { follow?: boolean; lines: string; stderr?: boolean }) => {
        const { model } = loadProject(ctx.manifest);
        const targets = parseTarget(model, name);
        const lines = Number(opts.lines);
        if (!Number.isInteger(lines) || lines < 0)
          throw new UsageError(`--lines expects a whole number, found "${opts.lines}"`, "e.g. --lines 100");
        await followLog(ctx, targets, { lines, follow: !!opts.follow, stderrOnly: !!opts.stderr });
        return 0;
      }),
    );
}
