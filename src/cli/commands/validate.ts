/** `orchestrate validate [--json]`: every problem of the manifest at once. */
import type { Command } from "commander";
import { readManifestFile, manifestPath } from "../../manifest/load";
import { validateManifest } from "../../manifest/validate";
import { ManifestError, UsageError, type Problem } from "../../errors";
import type { ManifestSource } from "../../manifest/load";
import { resolveModel } from "../../manifest/resolve";
import { renderAll, RenderRefusals } from "../../render";
import { formatProblems } from "../format";
import { action } from "../program";
import { rememberValid } from "../fast-path";
import { liveProblemsFor } from "../../live-ports/live-problems";
import { unknownUsers, unknownUserMessage } from "../../fleet/host-users";

/**
 * `user` values this host does not have (src/fleet/host-users.ts): a warning, since the manifest may be
 * meant for another machine; an error with `--live` (this host is the one that matters then).
 */
async function userProblems(source: ManifestSource, live: boolean): Promise<Problem[]> {
  const validation = validateManifest(source.raw);
  if (!validation.manifest) return [];
  return (await unknownUsers(resolveModel(validation.manifest, source.path))).map((u) => ({
    severity: live ? ("error" as const) : ("warning" as const),
    path: `services.${u.service}.user`,
    service: u.service,
    field: "user",
    value: u.user,
    message: unknownUserMessage(u),
    fix: `create the user on the host that runs this manifest (useradd --system ${u.user}), or remove "user"; restart, start, add-service and test-start refuse it on a host without it`,
  }));
}

/** Adds `validate`. */
/**
 * What the generators would refuse (a value supervisord or systemd cannot carry, a socket path over 107
 * bytes, names that collide in ports.env): rendered once here, so `validate` reports it too.
 */
function renderProblems(source: ManifestSource): Problem[] {
  const validation = validateManifest(source.raw);
  if (!validation.manifest) return [];
  try {
    renderAll(resolveModel(validation.manifest, source.path));
    return [];
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return (e instanceof RenderRefusals ? e.refusals : [e]).map((r) => ({
      severity: "error" as const,
      path: "(generated files)",
      field: "(generate)",
      message: r.message,
      fix: r.hint ?? "change the value so that supervisord and systemd can carry it",
    }));
  }
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check the manifest: schema, port policy, groups, dependencies; every problem in one run")
    .option("--json", "machine-readable result")
    .option(
      "--live",
      "also inspect the live ports: a FOREIGN or stale process on an enabled service's port is an error (exit 1)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate validate\n  orchestrate validate --json | jq '.errors[].message'\n\nExit: 0 valid (warnings allowed) · 1 --live found a port held by another process · 2 invalid",
    )
    .action(
      action(program, async (ctx, opts: { json?: boolean; live?: boolean }) => {
        const path = manifestPath(ctx.manifest);
        let problems;
        let source;
        try {
          source = readManifestFile(path);
          problems = validateManifest(source.raw).problems;
        } catch (e) {
          if (!(e instanceof ManifestError)) throw e;
          problems = e.problems;
        }
        if (source && problems.every((p) => p.severity !== "error"))
          problems = [...problems, ...renderProblems(source)];
        if (source && problems.every((p) => p.severity !== "error"))
          problems = [...problems, ...(await userProblems(source, opts.live === true))];
        const live =
          opts.live && source && problems.every((p) => p.severity !== "error")
            ? await liveProblemsFor(source, { kind: ctx.backend, ...ctx.systemd })
            : [];
        problems = [...problems, ...live];
        const errors = problems.filter((p) => p.severity === "error");
        if (opts.json) {
          ctx.stdout.write(
            JSON.stringify(
              {
                manifest: path,
                valid: errors.length === 0,
                errors,
                warnings: problems.filter((p) => p.severity === "warning"),
              },
              null,
              2,
            ) + "\n",
          );
        } else if (problems.length) {
          (errors.length ? ctx.stderr : ctx.stdout).write(formatProblems(ctx, problems, path));
        }
        if (errors.length) return errors.some((e) => !live.includes(e)) ? 2 : 1;
        if (source) rememberValid(source);
        if (!opts.json)
          ctx.stdout.write(
            `${path}: valid${problems.length ? ` (${problems.length} warning${problems.length === 1 ? "" : "s"})` : ""}\n`,
          );
        return 0;
      }),
    );
}
