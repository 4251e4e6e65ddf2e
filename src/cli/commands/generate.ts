/** `orchestrate generate [--dry-run] [--check]`: write units/ from the manifest. */
import type { Command } from "commander";
import { loadProject } from "../../manifest";
import { generateUnits, summarizePlan } from "../../fleet/generate";
import { planDiff } from "../../write/apply";
import { action } from "../program";
import { withManifestLock } from "../../write/lock";

/** Adds `generate`. */
export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .option("--dry-run", "print a unified diff of what would change; write nothing")
    .option("--check", "write nothing; exit 1 when any generated file differs from the manifest (drift)")
    .description(
      "write units/: supervisord.conf, supervisor/NAME.conf, systemd units, ports.json, ports.env, port_config.py, PORTS.md",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate generate\n  orchestrate generate --dry-run | less\n  orchestrate generate --check || echo 'units/ drifted from manifest.json'\n\nOnly files an earlier generate recorded as its own (units/.generated.json) are ever removed.",
    )
    .action(
      action(program, async (ctx, opts: { dryRun?: boolean; check?: boolean }) => {
        const { model } = loadProject(ctx.manifest);
        const write = !opts.dryRun && !opts.check;
        // writing takes the manifest lock: never between an add-service's manifest write and its rollback
        const plan = write
          ? await withManifestLock(model.paths.manifest, async () => generateUnits(model, { write }))
          : generateUnits(model, { write });
        if (opts.check) {
          if (plan.changes.length === 0) {
            ctx.stdout.write(`units/ matches ${model.paths.manifest} (${plan.unchanged.length} files)\n`);
            return 0;
          }
          ctx.stderr.write(
            `drift: ${plan.changes.length === 1 ? "1 file differs" : `${plan.changes.length} files differ`} from what the manifest renders:\n`,
          );
          for (const c of plan.changes)
            ctx.stderr.write(
              `  ${c.kind === "added" ? "missing" : c.kind === "removed" ? "stale  " : "differs"}  ${c.path}\n`,
            );
          ctx.stderr.write('run "orchestrate generate" to rewrite them (hand edits belong in manifest.json)\n');
          return 1;
        }
        if (opts.dryRun) {
          ctx.stdout.write(plan.changes.length ? planDiff(plan) : "nothing to change\n");
          return 0;
        }
        ctx.stdout.write(`units/: ${summarizePlan(plan)}\n`);
        for (const c of plan.changes) ctx.stdout.write(`  ${c.kind.padEnd(7)} ${c.path}\n`);
        return 0;
      }),
    );
}
