/**
 * recover with --backend systemd: the same six steps as the supervisord recovery (./recover.ts), where
 * systemd does the hard part itself — stopping PROJECT.target stops every unit through PartOf=, and
 * KillMode=control-group kills every process of each unit's cgroup, so nothing of ours is orphaned.
 * Foreign holders of managed ports are reported and never stopped unless --kill-foreign; an invalid
 * manifest falls back to the last good one; the units are re-installed and started level by level.
 */
import type { Context } from "../cli/context";
import { formatProblems } from "../cli/format";
import { systemdBackendFor } from "../backend/systemd/for-model";
import { UsageError } from "../errors";
import { recordChange } from "../history/journal";
import { saveLastGood } from "../history/last-good";
import { verifyServices } from "../verify/verify";
import { applyPlan } from "../write/apply";
import { withManifestLock } from "../write/lock";
import { planFiles } from "../write/plan";
import { renderAll } from "../render";
import { checkPorts } from "./check-ports";
import { summarizePlan } from "./generate";
import { livePortFacts } from "./live-ports";
import { waitStarted } from "./readiness";
import { checkKillForeign, handleForeign } from "./recover-foreign";
import { loadRecoverProject } from "./recover-project";
import { StepReporter } from "./report";
import { startInOrder } from "./restart";
import { reapTestStart } from "./test-start-record";
import { printChecks } from "./verify-table";

/**
 * Runs the systemd recovery. Exit code: 0 back and verified (or the plan printed) · 1 a step failed or a
 * foreign process still blocks a service.
 * @throws UsageError (exit 2) when there is no valid manifest to start from (nothing is stopped) or a
 * --kill-foreign port is not managed; OperationError when systemd is not running.
 */
export async function recoverSystemd(
  ctx: Context,
  options: { dryRun?: boolean; killForeign?: number[] },
): Promise<number> {
  const dryRun = options.dryRun === true;
  const killForeign = options.killForeign ?? [];
  const project = loadRecoverProject(ctx.manifest);
  const { paths, model, models } = project;
  if (!model) {
    throw new UsageError(
      `${project.path} is invalid (${project.invalid?.message ?? "unreadable"}) and run/last-good.json holds no last good state: nothing was stopped`,
      'fix the manifest ("orchestrate validate" lists every problem), then run recover again',
    );
  }
  checkKillForeign(model, killForeign);
  const backend = systemdBackendFor(model, ctx.systemd);
  await backend.ensureRunning(); // "System has not been booted with systemd" and the alternatives, before anything
  const body = async (): Promise<number> => {
    if (dryRun) ctx.stdout.write("recover --dry-run: the plan; nothing is stopped, started or written\n");
    const report = new StepReporter(ctx, 6);
    const changes: string[] = [];

    const s1 = report.begin(`stop ${model.project}.target`);
    if (dryRun) s1.ok(`would stop ${model.project}.target (every unit stops through PartOf=)`);
    else {
      await backend.shutdown();
      changes.push(`stopped ${model.project}.target`);
      s1.ok("stopped: every unit through PartOf=");
    }

    const s2 = report.begin("stop what the units left running");
    const reaped = dryRun ? [] : await reapTestStart(paths);
    for (const note of reaped) {
      s2.detail(note);
      changes.push(note);
    }
    s2.ok(
      `${reaped.length ? `${reaped.length} test-start child stopped; ` : ""}nothing else can be left: KillMode=control-group kills every process of a unit's cgroup`,
    );

    const s3 = report.begin("check managed ports for foreign processes");
    const live = checkPorts(model, await livePortFacts(model, { backendKind: "systemd", alsoModels: models }));
    const foreign = await handleForeign(model, live, s3, { dryRun, killForeign });
    if (foreign.stopped.length)
      changes.push(`stopped foreign ${foreign.stopped.map((o) => `PID ${o.target.pid}`).join(", ")} (--kill-foreign)`);
    if (foreign.leftRunning.length)
      s3.warn(
        `foreign process${foreign.leftRunning.length === 1 ? "" : "es"} left running on port ${foreign.leftRunning.join(", ")}`,
      );
    else s3.ok(foreign.stopped.length ? "foreign holders stopped as asked" : "no foreign holder");

    const s4 = report.begin("validate the manifest");
    if (project.invalid)
      for (const line of formatProblems(ctx, project.invalid.problems, project.path).trimEnd().split("\n"))
        s4.detail(line);
    if (project.current) s4.ok(`valid: ${model.services.length} services`);
    else {
      s4.warn(
        `${project.path} is invalid; using the LAST GOOD manifest and units saved ${project.lastGood?.time} in run/last-good.json; manifest.json is left as is`,
      );
      changes.push("used the last good manifest");
    }

    const s5 = report.begin("regenerate, install the units, start every service in dependency order");
    const plan = planFiles(paths.root, project.current ? renderAll(model) : project.lastGood!.units);
    s5.detail(`units/: ${summarizePlan(plan)}${project.current ? "" : " (restored from the last good state)"}`);
    const enabled = model.services.filter((s) => s.enabled);
    if (dryRun) {
      s5.ok(`would install and start ${model.levels.map((l, i) => `level ${i}: ${l.join(" ")}`).join("; ")}`);
      report.begin("verify").skip("dry run");
      return 0;
    }
    applyPlan(plan, paths);
    const applied = await backend.apply();
    s5.detail(
      `installed: added ${applied.added.join(" ") || "none"}, changed ${applied.changed.join(" ") || "none"}, removed ${applied.removed.join(" ") || "none"}`,
    );
    const readiness = await startInOrder(model, backend, enabled, { restart: false, onLine: (l) => s5.detail(l) });
    const failed = readiness.filter((r) => !r.ok);
    if (failed.length) s5.fail(`${failed.length} of ${enabled.length} not ready`);
    else s5.ok(`${enabled.length} services ready`);
    await waitStarted(
      backend,
      enabled.filter((s) => readiness.some((r) => r.name === s.name && r.ok)),
    );

    const s6 = report.begin("verify");
    const checks = await verifyServices(model, backend, model.services);
    printChecks(ctx, checks, (line) => s6.detail(line));
    const bad = checks.filter((c) => !c.ok);
    if (bad.length) s6.fail(`${bad.length} of ${checks.length} failed: ${bad.map((c) => c.name).join(", ")}`);
    else s6.ok(`${checks.length}/${checks.length} verified`);
    const ok = !bad.length && !failed.length && !foreign.leftRunning.length;
    if (ok && project.current) saveLastGood(paths, project.current.source.text, plan.rendered);
    recordChange(paths, {
      command: "recover --backend systemd",
      changes,
      outcome: ok ? "applied" : "failed",
      reason: ok ? undefined : bad.map((c) => `${c.name}: ${c.problems[0]}`).join("; "),
    });
    return ok ? 0 : 1;
  };
  return dryRun ? body() : withManifestLock(paths.manifest, body, { waitMs: 30_000 });
}
