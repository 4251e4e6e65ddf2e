/**
 * recover — the emergency recovery of a hand-kept runbook (`supervisorctl shutdown`, `pkill -f python`,
 * `lsof -i :PORT`, `kill -9`), made safe for a shared host, for either process manager. Six steps, each
 * reported with what it found and did:
 * 1 stop the fleet (the backend's emergency stop: supervisord itself, or PROJECT.target) · 2 stop what this
 * project's manager left running (./leftovers.ts, src/live-ports/ours.ts; only a backend whose programs can
 * outlive it has any) · 3 report foreign holders of managed ports, stop only those named by --kill-foreign
 * (./foreign.ts) · 4 validate, else fall back to the last good manifest and units under run/ (./project.ts)
 * · 5 regenerate, apply, start every service in dependency order · 6 verify.
 * `dryRun` reports the plan — which PIDs would be signalled and why — and changes nothing.
 */
import { createBackend } from "../backend";
import type { Backend, EmergencyStopResult } from "../backend/types";
import { UsageError } from "../errors";
import { summarizePlan } from "../fleet/generate";
import { waitStarted } from "../fleet/readiness";
import { startInOrder } from "../fleet/start-order";
import { reapTestStart } from "../fleet/test-start-record";
import { recordChange } from "../history/journal";
import { saveLastGood } from "../history/last-good";
import { inspectListeners } from "../inspect/listeners";
import { descendants, listProcesses } from "../inspect/processes";
import { checkPorts } from "../live-ports/check-ports";
import { livePortFacts } from "../live-ports/live-facts";
import { commandIndex, type OursFacts } from "../live-ports/ours";
import type { Model } from "../model/types";
import type { Operation } from "../progress/operation";
import { StepReporter, type Step, type StepRecord } from "../progress/steps";
import { counted } from "../progress/text";
import { renderAll } from "../render";
import { verifyServices, type ServiceCheck } from "../verify/verify";
import { applyPlan } from "../write/apply";
import { withManifestLock } from "../write/lock";
import { planFiles } from "../write/plan";
import { checkKillForeign, handleForeign } from "./foreign";
import { emergencyStopNginx, NginxRefusedError } from "../backend/nginx/control";
import { bringUpProxy } from "../fleet/proxy";
import { verifyProxy } from "../verify/proxy";
import { findLeftovers, stopTargets, targetText, type StopOutcome } from "./leftovers";
import { loadRecoverProject, type RecoverProject } from "./project";

/** Options of {@link recover}. */
export interface RecoverOptions {
  /** report the plan, change nothing */
  dryRun?: boolean;
  /** managed ports whose foreign holders are stopped deliberately */
  killForeign?: number[];
}

/**
 * What {@link recover} did. `ok`: the fleet is back and verified and no leftover survived (with `dryRun`:
 * the plan was reported). A foreign process left running on a managed port is a warning of step 3; it
 * fails the recovery only through the service it keeps from verifying — the same for both backends.
 */
export interface RecoverResult {
  ok: boolean;
  steps: StepRecord[];
  checks: ServiceCheck[];
}

/**
 * Runs the six steps.
 * @throws UsageError (exit 2) for a --kill-foreign port that is not managed, or when there is no valid
 *   manifest (nor a last good one) to start from — before anything is stopped; OperationError when the
 *   manager cannot be driven at all (systemd not booted), before anything is stopped.
 */
export async function recover(op: Operation, options: RecoverOptions = {}): Promise<RecoverResult> {
  const project = loadRecoverProject(op.manifest);
  const model = project.model;
  if (!model) {
    // refuse BEFORE stopping anything: with no manifest to start from, stopping the fleet would leave it down
    throw new UsageError(
      `${project.path} is invalid (${project.invalid?.message ?? "unreadable"}) and run/last-good.json holds no last good state: nothing was stopped`,
      'fix the manifest ("orchestrate validate" lists every problem), then run recover again',
    );
  }
  checkKillForeign(model, options.killForeign ?? []);
  const backend = createBackend(model, op.backend);
  try {
    await backend.requireReachable();
    if (options.dryRun) return await recoverLocked(op, options, project, model, backend);
    // a change in progress (add-service …) finishes first; a lock whose holder was killed is taken over
    return await withManifestLock(project.paths.manifest, () => recoverLocked(op, options, project, model, backend), {
      waitMs: 30_000,
    });
  } finally {
    backend.close();
  }
}

async function recoverLocked(
  op: Operation,
  options: RecoverOptions,
  project: RecoverProject,
  model: Model,
  backend: Backend,
): Promise<RecoverResult> {
  const dryRun = options.dryRun === true;
  const { paths, models } = project;
  if (dryRun)
    op.progress.emit({
      type: "note",
      level: "info",
      text: "recover --dry-run: the plan; nothing is signalled, started or written",
    });
  const report = new StepReporter(op.progress, 6);
  const changes: string[] = [];
  const result = (ok: boolean, checks: ServiceCheck[] = []): RecoverResult => ({ ok, steps: report.records, checks });

  const s1 = report.begin(`stop ${backend.fleetName}`);
  // the proxy first: it sends nothing to services that are being stopped
  const nginxStopped = await emergencyStopNginx(model, { dryRun });
  if (nginxStopped) {
    s1.detail(nginxStopped);
    if (!dryRun) changes.push(nginxStopped);
  }
  const stopped = await backend.emergencyStop(s1, { dryRun });
  s1.ok(stopped.summary);
  changes.push(...stopped.changes);

  const s2 = report.begin(`stop what this project's ${backend.label} left running`);
  const survivors = await stopLeftovers(s2, { dryRun, models, model, backend, stopped, changes });

  const s3 = report.begin("check managed ports for foreign processes");
  const live = checkPorts(
    model,
    await livePortFacts(model, backend, {
      alsoModels: models,
      formerManagerPid: stopped.orphanEvidence?.formerManagerPid,
    }),
  );
  const foreign = await handleForeign(model, live, s3, { dryRun, killForeign: options.killForeign ?? [] });
  if (foreign.stopped.length)
    changes.push(
      `stopped foreign ${foreign.stopped.map((o) => `PID ${o.target.pid} on ${o.target.ports.join(",")}`).join(", ")} (--kill-foreign)`,
    );
  if (foreign.leftRunning.length)
    s3.warn(
      `foreign process${foreign.leftRunning.length === 1 ? "" : "es"} left running on port ${foreign.leftRunning.join(", ")}`,
    );
  else
    s3.ok(
      foreign.stopped.length
        ? `${counted(foreign.stopped.length, "foreign holder")} stopped as asked`
        : "no foreign holder",
    );

  const s4 = report.begin("validate the manifest");
  for (const p of project.invalid?.problems ?? [])
    s4.detail(`${p.severity} ${p.path}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ""}`);
  if (project.current) s4.ok(`valid: ${counted(model.services.length, "service")}`);
  else {
    s4.warn(
      `${project.path} is invalid (${project.invalid?.message}); using the LAST GOOD manifest and units saved ${project.lastGood?.time} in run/last-good.json; manifest.json is left as is: fix it, then run "orchestrate restart"`,
    );
    changes.push("used the last good manifest");
  }

  const s5 = report.begin(`regenerate, apply to ${backend.label}, start every service in dependency order`);
  const plan = planFiles(paths.root, project.current ? renderAll(model) : project.lastGood!.units);
  s5.detail(`units/: ${summarizePlan(plan)}${project.current ? "" : " (restored from the last good state)"}`);
  const enabled = model.services.filter((s) => s.enabled);
  if (dryRun) {
    s5.detail(
      `would start ${counted(model.levels.flat().length, "service")}${programsNote(model)}, each as soon as its dependencies are ready: ${model.levels.map((l, i) => `level ${i}: ${l.join(" ")}`).join("; ")}`,
    );
    s5.ok("planned");
    report.begin("verify").skip("dry run");
    return result(true);
  }
  applyPlan(plan, paths);
  try {
    const { started } = await backend.ensureRunning();
    if (started) s5.detail(`started ${backend.label} (${backend.endpoint})`);
    const applied = await backend.apply();
    s5.detail(
      `applied: added ${applied.added.join(" ") || "none"}, changed ${applied.changed.join(" ") || "none"}, removed ${applied.removed.join(" ") || "none"}`,
    );
  } catch (err) {
    s5.fail((err as Error).message);
    recordChange(paths, { command: "recover", changes, outcome: "failed", reason: (err as Error).message });
    return result(false);
  }
  const readiness = await startInOrder(model, backend, enabled, { restart: false, onLine: (l) => s5.detail(l) });
  let failed = readiness.filter((r) => !r.ok).length;
  if (model.proxy)
    try {
      const up = await bringUpProxy(model, readiness);
      s5.detail(
        `proxy (nginx): ${up.action}${up.pid ? ` (pid ${up.pid})` : ""}, only ready instances in its upstreams`,
      );
    } catch (e) {
      if (!(e instanceof NginxRefusedError)) throw e;
      s5.detail(e.message);
      failed++;
    }
  if (failed) s5.fail(`${failed} of ${readiness.length} not ready`);
  else s5.ok(`${counted(enabled.length, "service")} ready`);
  await waitStarted(
    backend,
    enabled.filter((s) => readiness.some((r) => r.service === s.name && r.ok)),
  );

  const s6 = report.begin("verify");
  const services = await verifyServices(model, backend, model.services);
  const checks = [...services, ...(model.proxy ? (await verifyProxy(model)).checks : [])];
  s6.checks(checks);
  const bad = checks.filter((c) => !c.ok);
  if (bad.length) s6.fail(`${bad.length} of ${checks.length} failed: ${bad.map((c) => c.name).join(", ")}`);
  else s6.ok(`${checks.length}/${checks.length} verified`);
  const ok = bad.length === 0 && failed === 0 && survivors.length === 0;
  if (ok && project.current) saveLastGood(paths, project.current.source.text, plan.rendered);
  recordChange(paths, {
    command: "recover",
    changes,
    outcome: ok ? "applied" : "failed",
    reason: ok
      ? undefined
      : [
          ...bad.map((c) => `${c.name}: ${c.problems[0]}`),
          ...survivors.map((o) => `PID ${o.target.pid}: ${o.text}`),
        ].join("; "),
  });
  return result(ok, checks);
}

/** Step 2: reap test-start children, then (for a manager whose programs can outlive it) this project's leftovers. Returns the survivors. */
async function stopLeftovers(
  s2: Step,
  c: {
    dryRun: boolean;
    models: Model[];
    model: Model;
    backend: Backend;
    stopped: EmergencyStopResult;
    changes: string[];
  },
): Promise<StopOutcome[]> {
  const reaped = c.dryRun ? [] : await reapTestStart(c.model.paths);
  for (const note of reaped) {
    s2.detail(note);
    c.changes.push(note);
  }
  const evidence = c.stopped.orphanEvidence;
  if (!c.backend.leavesOrphans || !evidence) {
    s2.ok(
      `${reaped.length ? `${counted(reaped.length, "test-start child", "test-start children")} stopped; ` : ""}nothing else can be left: stopping ${c.backend.fleetName} stops every process of its programs`,
    );
    return [];
  }
  const table = await listProcesses();
  const servicePorts = c.model.services.flatMap((s) =>
    s.instances.flatMap((i) => (i.port === undefined ? [] : [i.port])),
  );
  const listeners = servicePorts.length ? (await inspectListeners({ ports: servicePorts })).listeners : [];
  // on a dry run the manager still runs: what it manages is stopped by its own shutdown (step 1), not here
  const exclude =
    c.dryRun && c.stopped.pid !== undefined && c.stopped.answered
      ? await descendants(c.stopped.pid, table)
      : new Set<number>();
  const facts: OursFacts = {
    serverUrl: evidence.serverUrl,
    commands: commandIndex(c.models),
    processes: table,
    marks: new Map(),
    formerSupervisord: evidence.formerManagerPid,
    observedChildren: evidence.observedChildren,
  };
  const targets = findLeftovers(c.models, facts, table, listeners, exclude);
  const under = exclude.size - 1; // without the manager itself
  const programs = evidence.observedChildren.size;
  if (under > 0)
    s2.detail(
      `${counted(under, "process", "processes")} under the running ${c.backend.label} (${counted(programs, "program process", "program processes")}${under > programs ? ` and ${under - programs} of their children` : ""}, as step 1 found): its own shutdown stops them`,
    );
  for (const t of targets)
    s2.detail(
      `${targetText(t)}; ${c.dryRun ? "would send" : "sending"} ${t.signal.slice(3)}, KILL after ${t.timeoutMs / 1000} s`,
    );
  const outcomes = c.dryRun ? [] : await stopTargets(targets);
  for (const o of outcomes) s2.detail(`  PID ${o.target.pid}: ${o.text}`);
  const survivors = outcomes.filter((o) => o.outcome === "survived" || o.outcome === "not permitted");
  if (outcomes.length) c.changes.push(`stopped ${counted(outcomes.length - survivors.length, "leftover")}`);
  if (targets.length === 0)
    s2.ok(under > 0 ? `no leftover besides the ${counted(under, "process", "processes")} step 1 stops` : "none found");
  else if (c.dryRun) s2.ok(`${counted(targets.length, "leftover")} would be stopped`);
  else if (survivors.length)
    s2.fail(
      `${survivors.length} of ${targets.length} could not be stopped: ${survivors.map((o) => o.target.pid).join(", ")}`,
    );
  else
    s2.ok(
      `${counted(targets.length, "leftover")} stopped (${outcomes.filter((o) => o.outcome === "killed").length} needed KILL)`,
    );
  return survivors;
}

/** " (15 programs: instances counted)" when services with instances make the count of programs differ (verify counts programs). */
function programsNote(model: Model): string {
  const names = new Set(model.levels.flat());
  const programs = model.services.filter((s) => names.has(s.name)).reduce((n, s) => n + s.instances.length, 0);
  return programs === names.size ? "" : ` (${programs} programs: instances counted)`;
}
