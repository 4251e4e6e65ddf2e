/**
 * recover — the seeds' EMERGENCY RECOVERY (`supervisorctl shutdown`, `pkill -f python`, `lsof -i :PORT`,
 * `kill -9`), made safe for a shared host. Six steps, each printed with what it found and did:
 * 1 stop supervisord (src/backend/supervisord/emergency-stop.ts) · 2 stop this project's leftovers (./leftovers.ts, ./ours.ts)
 * · 3 report foreign holders of managed ports, stop only those named by --kill-foreign
 * (./recover-foreign.ts) · 4 validate, else fall back to the last good manifest and units under run/
 * · 5 regenerate, start supervisord, start every service in dependency order · 6 verify.
 * `dryRun` prints the plan — which PIDs would be signalled and why — and changes nothing.
 */
import { withManifestLock } from "../write/lock";
import { UsageError } from "../errors";
import { reapTestStart } from "./test-start-record";
import type { Context } from "../cli/context";
import { formatProblems } from "../cli/format";
import { SupervisordBackend, type SupervisordBackendOptions } from "../backend/supervisord/backend";
import { isAlive, readPidfile } from "../backend/supervisord/pids";
import { recordChange } from "../history/journal";
import { saveLastGood } from "../history/last-good";
import { inspectListeners } from "../inspect/listeners";
import { descendants, listProcesses } from "../inspect/processes";
import { verifyServices } from "../verify/verify";
import { applyPlan } from "../write/apply";
import { planFiles, type Plan } from "../write/plan";
import { renderAll } from "../render";
import { checkPorts } from "./check-ports";
import { findLeftovers, stopTargets, targetText } from "./leftovers";
import { livePortFacts } from "./live-ports";
import { commandIndex, type OursFacts } from "./ours";
import { stopSupervisord, type DaemonStopTimeouts } from "../backend/supervisord/emergency-stop";
import { checkKillForeign, handleForeign } from "./recover-foreign";
import { loadRecoverProject } from "./recover-project";
import { StepReporter } from "./report";
import { startInOrder } from "./restart";
import { waitStarted } from "./readiness";
import { summarizePlan } from "./generate";
import { printChecks } from "./verify-table";

/** Options of {@link recoverProcedure}. */
export interface RecoverOptions {
  /** print the plan, change nothing */
  dryRun?: boolean;
  /** managed ports whose foreign holders are stopped deliberately */
  killForeign?: number[];
  /** step 1 timeouts (ms) */
  daemonStop?: DaemonStopTimeouts;
  /** supervisord start options for step 5 */
  backend?: SupervisordBackendOptions;
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/**
 * Runs the six steps and prints them. Exit code: 0 the fleet is back and verified (or, with dryRun, the
 * plan was printed) · 1 anything failed or a foreign process still blocks a service · 2 bad --kill-foreign.
 * @throws UsageError for a --kill-foreign port that is not managed, or when there is nothing valid to start (before acting).
 */
export async function recoverProcedure(ctx: Context, options: RecoverOptions = {}): Promise<number> {
  const project = loadRecoverProject(ctx.manifest);
  if (!project.model && options.dryRun !== true) {
    // refuse BEFORE stopping anything: with no manifest to start from, stopping the fleet would leave it down
    throw new UsageError(
      `${project.path} is invalid (${project.invalid?.message ?? "unreadable"}) and run/last-good.json holds no last good state: nothing was stopped`,
      'fix the manifest ("orchestrate validate" lists every problem), then run recover again',
    );
  }
  if (options.dryRun === true) return recoverLocked(ctx, options, project);
  // a change in progress (add-service …) finishes first; a lock whose holder was killed is taken over after 10 s
  return withManifestLock(project.paths.manifest, () => recoverLocked(ctx, options, project), { waitMs: 30_000 });
}

async function recoverLocked(
  ctx: Context,
  options: RecoverOptions,
  project: ReturnType<typeof loadRecoverProject>,
): Promise<number> {
  const dryRun = options.dryRun === true;
  const killForeign = options.killForeign ?? [];
  const { paths, model, models } = project;
  checkKillForeign(model, killForeign);
  if (dryRun) ctx.stdout.write("recover --dry-run: the plan; nothing is signalled, started or written\n");
  const report = new StepReporter(ctx, 6);
  const changes: string[] = [];

  const s1 = report.begin("stop supervisord");
  const pidfileBefore = readPidfile(paths.pidfile);
  const daemon = await stopSupervisord(paths, s1, { dryRun, timeouts: options.daemonStop });
  s1.ok(
    daemon.pid === undefined
      ? "was not running"
      : dryRun
        ? "planned"
        : `stopped (${daemon.escalation === "rpc" ? "RPC shutdown" : daemon.escalation})`,
  );
  if (!dryRun && daemon.pid !== undefined) changes.push(`stopped supervisord PID ${daemon.pid} (${daemon.escalation})`);

  const s2 = report.begin("stop what this project's supervisord left running");
  if (!dryRun) {
    for (const note of await reapTestStart(paths)) {
      s2.detail(note);
      changes.push(note);
    }
  }
  const table = await listProcesses();
  const servicePorts = (model?.services ?? []).flatMap((s) => (s.port === undefined ? [] : [s.port]));
  const listeners = servicePorts.length ? (await inspectListeners({ ports: servicePorts })).listeners : [];
  const exclude =
    dryRun && daemon.pid !== undefined && daemon.answered ? await descendants(daemon.pid, table) : new Set<number>();
  const facts: OursFacts = {
    serverUrl: `unix://${paths.socket}`,
    commands: commandIndex(models),
    processes: table,
    marks: new Map(),
    // the supervisord whose session its orphans keep: the one stopped in step 1, else a dead one from the pidfile
    formerSupervisord:
      daemon.pid ?? (pidfileBefore !== undefined && !isAlive(pidfileBefore) ? pidfileBefore : undefined),
    observedChildren: daemon.children,
  };
  const targets = findLeftovers(models, facts, table, listeners, exclude);
  if (exclude.size > 1)
    s2.detail(
      `${plural(exclude.size - 1, "process", "processes")} under the running supervisord: its own shutdown (step 1) stops them`,
    );
  for (const t of targets)
    s2.detail(
      `${targetText(t)}; ${dryRun ? "would send" : "sending"} ${t.signal.slice(3)}, KILL after ${t.timeoutMs / 1000} s`,
    );
  const outcomes = dryRun ? [] : await stopTargets(targets);
  for (const o of outcomes) s2.detail(`  PID ${o.target.pid}: ${o.text}`);
  const survivors = outcomes.filter((o) => o.outcome === "survived" || o.outcome === "not permitted");
  if (outcomes.length) changes.push(`stopped ${plural(outcomes.length - survivors.length, "leftover")}`);
  if (targets.length === 0) s2.ok("none found");
  else if (dryRun) s2.ok(`${plural(targets.length, "leftover")} would be stopped`);
  else if (survivors.length)
    s2.fail(
      `${survivors.length} of ${targets.length} could not be stopped: ${survivors.map((o) => o.target.pid).join(", ")}`,
    );
  else
    s2.ok(
      `${plural(targets.length, "leftover")} stopped (${outcomes.filter((o) => o.outcome === "killed").length} needed KILL)`,
    );

  const s3 = report.begin("check managed ports for foreign processes");
  let foreignLeft: number[] = [];
  if (!model) s3.skip("no valid manifest: managed ports unknown");
  else {
    const live = checkPorts(
      model,
      await livePortFacts(model, { alsoModels: models, probeTimeoutMs: options.daemonStop?.probeMs }),
    );
    const result = await handleForeign(model, live, s3, { dryRun, killForeign });
    foreignLeft = result.leftRunning;
    if (result.stopped.length)
      changes.push(
        `stopped foreign ${result.stopped.map((o) => `PID ${o.target.pid} on ${o.target.ports.join(",")}`).join(", ")} (--kill-foreign)`,
      );
    if (foreignLeft.length)
      s3.warn(`foreign process${foreignLeft.length === 1 ? "" : "es"} left running on port ${foreignLeft.join(", ")}`);
    else
      s3.ok(
        result.stopped.length
          ? `${plural(result.stopped.length, "foreign holder")} stopped as asked`
          : "no foreign holder",
      );
  }

  const s4 = report.begin("validate the manifest");
  if (project.invalid)
    for (const line of formatProblems(ctx, project.invalid.problems, project.path).trimEnd().split("\n"))
      s4.detail(line);
  if (project.current) s4.ok(`valid: ${plural(project.current.model.services.length, "service")}`);
  else if (project.fallback) {
    s4.warn(
      `${project.path} is invalid (${project.invalid?.message}); using the LAST GOOD manifest and units saved ${project.lastGood?.time} in run/last-good.json; manifest.json is left as is: fix it, then run "orchestrate restart"`,
    );
    changes.push("used the last good manifest");
  } else {
    s4.fail(
      `${project.invalid?.message}; there is no last good state in run/last-good.json to fall back to: fix the manifest (orchestrate validate) and run recover again`,
    );
    if (!dryRun)
      recordChange(paths, {
        command: "recover",
        changes,
        outcome: "failed",
        reason: "invalid manifest, no last good state",
      });
    return 1;
  }
  const active = model!;

  const s5 = report.begin("regenerate, start supervisord, start every service in dependency order");
  const plan: Plan = planFiles(paths.root, project.current ? renderAll(active) : project.lastGood!.units);
  s5.detail(`units/: ${summarizePlan(plan)}${project.current ? "" : " (restored from the last good state)"}`);
  const enabled = active.services.filter((s) => s.enabled);
  if (dryRun) {
    s5.detail(
      `would start supervisord (units/supervisord.conf), then ${active.levels.map((l, i) => `level ${i}: ${l.join(" ")}`).join("; ")}`,
    );
    s5.ok("planned");
    report.begin("verify").skip("dry run");
    return 0;
  }
  applyPlan(plan, paths);
  const backend = new SupervisordBackend(paths, options.backend);
  let failed = 0;
  try {
    try {
      await backend.ensureRunning();
    } catch (err) {
      s5.fail((err as Error).message);
      recordChange(paths, { command: "recover", changes, outcome: "failed", reason: (err as Error).message });
      return 1;
    }
    s5.detail(`started supervisord PID ${readPidfile(paths.pidfile) ?? "?"}`);
    const readiness = await startInOrder(active, backend, enabled, { restart: false, onLine: (l) => s5.detail(l) });
    failed = readiness.filter((r) => !r.ok).length;
    if (failed) s5.fail(`${failed} of ${enabled.length} not ready`);
    else s5.ok(`${plural(enabled.length, "service")} ready`);

    await waitStarted(
      backend,
      enabled.filter((s) => readiness.some((r) => r.name === s.name && r.ok)),
    );
    const s6 = report.begin("verify");
    const checks = await verifyServices(active, backend, active.services);
    printChecks(ctx, checks, (line) => s6.detail(line));
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
    return ok ? 0 : 1;
  } finally {
    backend.rpc.close();
  }
}
