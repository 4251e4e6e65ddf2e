/**
 * remove-service — seed 002's five steps as a transaction: refuse while another service dependsOn it
 * (unless --force, which also drops it from their dependsOn), stop the program, remove the entry,
 * regenerate (its files disappear, nothing else), remove it from the manager, verify the rest and that
 * its port is released.
 */
import type { Context } from "../cli/context";
import { createBackend } from "../backend";
import { UsageError } from "../errors";
import { listenersByPort } from "../inspect/listeners";
import { findService } from "../model/lookup";
import { describeHolder } from "../verify/ownership";
import { writeFileAtomicSync } from "../write/atomic";
import {
  applyAndWait,
  withChange,
  failingNow,
  printDryRun,
  proposedProject,
  rememberGood,
  verifyAfterChange,
} from "./change-steps";
import { generateUnits, summarizePlan } from "./generate";
import { takeSnapshot } from "./snapshot";
import { step, StepFailed, transact } from "./transaction";

/**
 * Runs remove-service. `force` drops it from dependents' dependsOn; `dryRun` prints the diff only. Exit code:
 * 0 done, 1 rolled back. @throws UsageError (exit 2, nothing written) while dependents exist without force, UnknownServiceError.
 */
export async function removeService(
  ctx: Context,
  o: { name: string; force?: boolean; dryRun?: boolean },
): Promise<number> {
  return withChange(ctx, async (path, before) => {
    const old = findService(before.model, o.name);
    const dependents = before.model.services.filter((s) => s.dependsOn.includes(o.name));
    if (dependents.length && !o.force)
      throw new UsageError(
        `${dependents.map((s) => s.name).join(", ")} ${dependents.length === 1 ? "depends" : "depend"} on ${o.name}`,
        `remove ${dependents.length === 1 ? "that dependency" : "those dependencies"} first, or pass --force to drop ${o.name} from their dependsOn`,
      );
    const raw = structuredClone(before.source.raw) as { services: Record<string, Record<string, unknown>> };
    delete raw.services[o.name];
    const changes = [`removed ${o.name}${old.port !== undefined ? ` (port ${old.port} freed)` : ""}`];
    for (const d of dependents) {
      const deps = (raw.services[d.name].dependsOn as string[]).filter((n) => n !== o.name);
      if (deps.length) raw.services[d.name].dependsOn = deps;
      else delete raw.services[d.name].dependsOn;
      changes.push(`${d.name} no longer depends on ${o.name} (--force)`);
    }
    const after = proposedProject(before, raw);
    if (o.dryRun) {
      printDryRun(ctx, before, after);
      return 0;
    }
    const snapshot = takeSnapshot(after.model.paths, before.source.text);
    const backend = createBackend(after.model, { kind: ctx.backend, ...ctx.systemd });
    // systemd that is not there is bad news before anything is written, not a "starts with the fleet" later
    if (backend.kind === "systemd") await backend.ensureRunning();
    const code = await transact(
      ctx,
      { command: `remove-service ${o.name}`, paths: after.model.paths, snapshot, changes, total: 6 },
      async (state) => {
        await step(
          state,
          "check dependents",
          async (s) => dependents.forEach((d) => s.detail(`${d.name} dependsOn ${o.name}: dropped (--force)`)),
          () => (dependents.length ? `${dependents.length} dependency dropped` : "none"),
        );
        const running = await backend.isRunning();
        const baseline = running ? await failingNow(before.model, backend) : new Set<string>();
        if (running && old.enabled) {
          await step(
            state,
            `stop ${o.name}`,
            async () => {
              state.backendTouched = backend;
              state.restartAfterRollback.push(o.name);
              await backend.stop(o.name);
            },
            () => "stopped",
          );
        } else
          state.report
            .begin(`stop ${o.name}`)
            .skip(running ? "disabled: not running" : "the process manager is not running");
        await step(
          state,
          "write manifest.json",
          async () => writeFileAtomicSync(path, after.source.text),
          () => `${o.name} removed`,
        );
        await step(
          state,
          "generate units/ (its files disappear, nothing else)",
          async () => summarizePlan(generateUnits(after.model, { write: true })),
          (s) => s,
        );
        if (!running) {
          state.report.begin("apply").skip("the process manager is not running");
          state.report.begin("verify").skip("nothing running");
          rememberGood(after);
          return;
        }
        // --force changed the dependents' programs (dependsOn → priority): the manager restarts them on
        // apply, so wait for them to be ready as well, or verify would catch them STARTING
        const restartedDependents = after.model.services.filter(
          (s) => s.enabled && dependents.some((d) => d.name === s.name),
        );
        await step(
          state,
          `apply: remove ${o.name} from ${backend.kind === "supervisor" ? "supervisord" : "systemd"}`,
          (s) => applyAndWait(state, s, backend, restartedDependents),
        );
        await step(
          state,
          `verify the rest${old.port !== undefined ? ` and that port ${old.port} is released` : ""}`,
          async (s) => {
            const checks = await verifyAfterChange(ctx, s, after.model, backend, baseline, []);
            if (old.port !== undefined) {
              const holders = (await listenersByPort([old.port])).get(old.port) ?? [];
              if (holders.length)
                throw new StepFailed(`port ${old.port} is still held by ${describeHolder(holders[0])}`);
            }
            return checks;
          },
          (checks) => `${checks.filter((c) => c.ok).length}/${checks.length} verified`,
        );
        rememberGood(after);
      },
    );
    if (code === 0) ctx.stdout.write(`removed ${o.name}\n`);
    return code;
  });
}
