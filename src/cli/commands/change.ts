/** add-service, modify-service, remove-service, history, lint, docs: flags → one call. */
import { SPECIAL_KEYS } from "../../manifest/rules/names";
import { parseInstances } from "../../change/instances";
import { Command, InvalidArgumentError } from "commander";
import { UsageError } from "../../errors";
import { readJournal } from "../../history/journal";
import { projectOf } from "../project";
import { projectPaths } from "../../model/paths";
import { manifestPath } from "../../manifest/load";
import { addService } from "../../change/add-service";
import { lintPaths } from "../../lint/service";
import { modifyService } from "../../change/modify-service";
import { removeService } from "../../change/remove-service";
import { renderPortsMd } from "../../render/ports/ports-md";
import { table } from "../format";
import { formatLintFinding } from "../../lint/format";
import { action } from "../program";
import { operationOf } from "../context";
import { showChange } from "../present/change";
import { resolve } from "node:path";

function portArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError(`expected a port from 1 to 65535, found "${value}"`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--env K=V` flags → object; a flag without "=" is bad input (exit 2). Key and value rules are the manifest's. */
export function envFlags(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--env expects KEY=value, found "${pair}"`, "e.g. --env LOG_LEVEL=info");
    const key = pair.slice(0, at);
    if (SPECIAL_KEYS.has(key))
      throw new UsageError(
        `--env ${key}: "${key}" cannot be an environment variable name (JavaScript objects treat it specially)`,
        "choose another name",
      );
    env[key] = pair.slice(at + 1);
  }
  return env;
}

/** Adds `add-service`, `modify-service`, `remove-service`, `history`, `lint` and `docs`. */
export function registerChange(program: Command): void {
  program
    .command("add-service")
    .argument("<name>", "new service name ([a-z0-9][a-z0-9_.-]*)")
    .requiredOption("-c, --command <cmd>", "command (POSIX words; {port} {host} {name} are replaced)")
    .option("-g, --group <group>", "group whose range the port comes from")
    .option("-p, --port <n>", "this port instead of the next free one of the group", portArg)
    .option("--use-reserved", "allow --port to take a reserved port (its reservation is released)")
    .option("--instances <n>", "processes, each on its own port (port + i, or the lowest free ports of the group)")
    .option("-d, --dir <dir>", "working directory, relative to the manifest's folder", ".")
    .option("-e, --env <KEY=value>", "environment variable (repeatable)", collect)
    .option("--env-file <file>", "secrets file (KEY=value lines), never copied into generated files")
    .option("--health <path>", "HTTP health path, e.g. /health")
    .option("--depends-on <service>", "started before this one (repeatable)", collect)
    .option("--description <text>", "what it does")
    .option("--technology <name>", "python, node, …")
    .option("--no-start", "stop after generating units/: no test-start, apply or verify")
    .option("--dry-run", "show the port chosen and the diff; write nothing")
    .description(
      "the seven-step checklist as one transaction: port, manifest, code scan, units/, test-start, apply, verify",
    )
    .addHelpText(
      "after",
      `
Steps: 1 port (given, or the lowest free one of the group, skipping ports held by live processes)
       2 manifest.json (validated with the rest, written atomically under a lock)
       3 hardcoded ports in the service's code (warning)   4 units/ regenerated
       5 test-start (alone, before supervisord is touched)  6 apply: only the new program starts
       7 verify the new service and all the others
Any failure restores manifest.json and units/ byte for byte and removes the program again.

Examples:
  orchestrate add-service quotes --command "/usr/bin/python3 services/quotes.py" --group watchdog --health /health
  orchestrate add-service quotes -c "node quotes.js" -g watchdog --dry-run

Exit: 0 added and verified · 1 a step failed, everything rolled back · 2 bad input, nothing written`,
    )
    .action(
      action(
        program,
        async (
          ctx,
          name: string,
          o: {
            command: string;
            group?: string;
            port?: number;
            instances?: string;
            useReserved?: boolean;
            dir: string;
            env?: string[];
            envFile?: string;
            health?: string;
            dependsOn?: string[];
            description?: string;
            technology?: string;
            start: boolean;
            dryRun?: boolean;
          },
        ) => {
          if (o.group === undefined && o.port === undefined) {
            // a worker without a port is fine; say so only when a health path makes a port necessary
            if (o.health) throw new UsageError("--health needs a port: pass --group (to allocate one) or --port");
            ctx.stderr.write(
              `note: no --group and no --port: ${name} is added as a worker without a port (readiness = RUNNING for startsecs)\n`,
            );
          }
          const result = await addService(operationOf(ctx), {
            name,
            command: o.command,
            group: o.group,
            port: o.port,
            instances: o.instances === undefined ? undefined : parseInstances(o.instances),
            useReserved: o.useReserved,
            dir: o.dir,
            env: envFlags(o.env),
            envFile: o.envFile,
            health: o.health,
            dependsOn: o.dependsOn ?? [],
            description: o.description,
            technology: o.technology,
            noStart: !o.start,
            dryRun: o.dryRun,
          });
          return showChange(ctx, result);
        },
      ),
    );

  program
    .command("modify-service")
    .argument("<name>", "service")
    .option("-p, --port <n>", "new port (must be free; the old one is checked released)", portArg)
    .option(
      "--instances <n>",
      "scale: new instances get free ports of the group (written to the manifest); the highest instances stop; the others keep running",
    )
    .option("-c, --command <cmd>", "new command")
    .option("-g, --group <group>", "new group")
    .option("-e, --env <KEY=value>", "set a variable (repeatable)", collect)
    .option("--unset-env <KEY>", "remove a variable (repeatable)", collect)
    .option("--health <path>", "new health path")
    .option("--no-health", "remove the health check")
    .option("--depends-on <service>", "replace dependsOn (repeatable)", collect)
    .option("--description <text>", "new description")
    .option("--dry-run", "show the diff; write nothing")
    .description("change port, command, env, health, group or dependsOn as one transaction; only that program restarts")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate modify-service trade_executor --port 8021\n  orchestrate modify-service trade_executor --env LOG_LEVEL=debug --dry-run\n  orchestrate modify-service users_api --instances 3\n\nExit: 0 changed and verified · 1 rolled back · 2 bad input, nothing written",
    )
    .action(
      action(
        program,
        (
          ctx,
          name: string,
          o: {
            port?: number;
            instances?: string;
            command?: string;
            group?: string;
            env?: string[];
            unsetEnv?: string[];
            health?: string | boolean;
            dependsOn?: string[];
            description?: string;
            dryRun?: boolean;
          },
        ) =>
          modifyService(operationOf(ctx), {
            name,
            port: o.port,
            instances: o.instances === undefined ? undefined : parseInstances(o.instances),
            command: o.command,
            group: o.group,
            env: envFlags(o.env),
            unsetEnv: o.unsetEnv ?? [],
            health: o.health === true ? undefined : o.health,
            dependsOn: o.dependsOn,
            description: o.description,
            dryRun: o.dryRun,
          }).then((result) => showChange(ctx, result)),
      ),
    );

  program
    .command("remove-service")
    .argument("<name>", "service")
    .option("--force", "also when other services depend on it (drops it from their dependsOn)")
    .option("--dry-run", "show the diff; write nothing")
    .description("stop it, remove it from the manager and the manifest, regenerate, verify the rest")
    .addHelpText(
      "after",
      "\nExample:\n  orchestrate remove-service db_poller\n\nExit: 0 removed · 1 rolled back · 2 bad input (unknown name, dependents without --force)",
    )
    .action(
      action(program, (ctx, name: string, o: { force?: boolean; dryRun?: boolean }) =>
        removeService(operationOf(ctx), { name, force: o.force, dryRun: o.dryRun }).then((r) => showChange(ctx, r)),
      ),
    );

  program
    .command("history")
    .option("--json", "machine-readable")
    .option("-n, --limit <n>", "last N entries", "50")
    .description("the journal of changes: time, command, what changed, outcome")
    .addHelpText("after", "\nExample:\n  orchestrate history -n 10")
    .action(
      action(program, (ctx, o: { json?: boolean; limit: string }) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new UsageError(`--limit expects a whole number ≥ 1, found "${o.limit}"`, "e.g. -n 20");
        const entries = readJournal(projectPaths(manifestPath(ctx.manifest))).slice(-limit);
        if (o.json) ctx.stdout.write(JSON.stringify(entries, null, 2) + "\n");
        else if (!entries.length) ctx.stdout.write("no changes recorded yet (run/journal.jsonl)\n");
        else
          ctx.stdout.write(
            table([
              ["TIME", "COMMAND", "OUTCOME", "CHANGES"],
              ...entries.map((e) => [
                e.time.replace("T", " ").slice(0, 19),
                e.command,
                e.outcome,
                historyCell(e.changes, e.reason),
              ]),
            ]),
          );
        return 0;
      }),
    );

  program
    .command("lint")
    .argument("[paths...]", "files or folders (default: every service's source folder)")
    .option("--json", "machine-readable")
    .description("find hardcoded port numbers in service code (managed ports, or literals next to port/listen/bind)")
    .addHelpText(
      "after",
      '\nExamples:\n  orchestrate lint\n  orchestrate lint backend/api\n\nA line with the comment "orchestrate: allow-port" is not reported. Exit: 0 clean · 1 findings',
    )
    .action(
      action(program, async (ctx, paths: string[], o: { json?: boolean }) => {
        const { model } = projectOf(ctx);
        const { sourceFolder } = await import("../../lint/service");
        const targets = paths.length
          ? paths.map((p) => resolve(p))
          : [...new Set(model.services.map((s) => sourceFolder(model, s)))];
        const findings = await lintPaths(model, targets);
        if (o.json) ctx.stdout.write(JSON.stringify(findings, null, 2) + "\n");
        else if (!findings.length) ctx.stdout.write("no hardcoded ports found\n");
        else for (const f of findings) ctx.stdout.write(formatLintFinding(f) + "\n");
        return findings.length ? 1 : 0;
      }),
    );

  program
    .command("docs")
    .description("print PORTS.md: the port tables people used to keep by hand")
    .addHelpText("after", "\nExample:\n  orchestrate docs > docs/PORTS.md")
    .action(
      action(program, (ctx) => {
        ctx.stdout.write(renderPortsMd(projectOf(ctx).model).content);
        return 0;
      }),
    );
}

/**
 * The CHANGES cell of `history`: each change and each part of the reason once (a failed restart names a
 * service in its readiness and again in its verify; retries record the same change again), the reason's
 * first line only.
 */
function historyCell(changes: string[], reason?: string): string {
  const unique = [...new Set(changes)];
  const parts = reason ? [...new Set(reason.split("\n")[0].split(" · "))].filter((p) => !unique.includes(p)) : [];
  // a failed restart that changed no file has only its reason
  return [unique.join("; "), parts.join(" · ")].filter(Boolean).join(" — ");
}
