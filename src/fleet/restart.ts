/**
 * restart — what a hand-written MASTER_RESTART.sh did, without kill -9 and fixed sleeps: validate →
 * generate → ensure the manager → apply (only changed programs restart) → stop, then start level by level
 * in dependency order, waiting for each level's readiness → verify. A failing service is named with its
 * state and the tail of its logs; services that depend on it are not started.
 */
import { createBackend } from "../backend";
import type { Backend } from "../backend/types";
import { checkPorts, type PortCheck } from "../live-ports/check-ports";
import { livePortFacts } from "../live-ports/live-facts";
import type { Model, Service } from "../model/types";
import { UsageError } from "../errors";
import { recordChange } from "../history/journal";
import { saveLastGood } from "../history/last-good";
import { loadProject } from "../manifest";
import { manifestPath } from "../manifest/load";
import { selectTargets, servicesOf } from "../model/lookup";
import type { Operation } from "../progress/operation";
import { StepReporter, type StepRecord } from "../progress/steps";
import { counted } from "../progress/text";
import { verifyServices, type ServiceCheck } from "../verify/verify";
import { withManifestLock } from "../write/lock";
import { generateUnits, summarizePlan } from "./generate";
import { waitStarted, type Readiness } from "./readiness";
import { startInOrder } from "./start-order";
import { reapTestStart } from "./test-start-record";
import { requireHostUsers } from "./host-users";

/** Options of {@link restart}. */
export interface RestartOptions {
  /**
   * services to restart, NAME (every instance) or NAME:I (one); default all. An unknown name throws
   * UnknownServiceError, a bad index or a disabled service UsageError. A service with `autostart: false`
   * is started only when named here.
   */
  names?: string[];
}

/** What {@link restart} did: `ok` exactly when every started service was ready and every checked one verified. */
export interface RestartResult {
  ok: boolean;
  steps: StepRecord[];
  readiness: Readiness[];
  checks: ServiceCheck[];
}

/**
 * Runs the whole restart procedure, reporting six steps to `op.progress`.
 * @throws ManifestError / UsageError (exit 2) for an invalid manifest or bad names, before anything is touched;
 *   OperationError when the manager cannot be started or refuses the configuration.
 */
export async function restart(op: Operation, options: RestartOptions = {}): Promise<RestartResult> {
  // under the manifest lock: a restart between an add-service's manifest write and its test-start would
  // apply a program that the add-service may still roll back
  return withManifestLock(manifestPath(op.manifest), () => restartLocked(op, options));
}

async function restartLocked(op: Operation, options: RestartOptions): Promise<RestartResult> {
  const report = new StepReporter(op.progress, 7);
  // bad names are bad input: refused before step 1 is printed (nothing was begun)
  const project = loadProject(op.manifest);
  const { model } = project;
  const targets = selectTargets(model, options.names);
  const selected = servicesOf(targets);
  const programs = options.names ? new Set(targets.map((t) => t.instance.program)) : undefined;
  const disabled = options.names ? selected.filter((s) => !s.enabled) : [];
  if (disabled.length)
    throw new UsageError(
      `${disabled.map((s) => s.name).join(", ")} ${disabled.length === 1 ? "is" : "are"} disabled (enabled: false)`,
      "set enabled: true in the manifest to run it",
    );
  // supervisord refuses its whole configuration for one unknown user= (src/fleet/host-users.ts)
  await requireHostUsers(model);
  const s1 = report.begin("validate manifest");
  for (const note of await reapTestStart(model.paths)) s1.detail(note);
  s1.ok(`${counted(model.services.length, "service")}, ${counted(project.warnings.length, "warning")}`);

  const backend = createBackend(model, op.backend);
  try {
    const enabled = selected.filter((s) => s.enabled);
    // autostart: false — generated and known to the manager, started only by "orchestrate start" or by name
    const manual = enabled.filter((s) => !s.autostart && !options.names);
    const services = enabled.filter((s) => !manual.includes(s));
    // a manager that cannot be driven at all (systemd not booted) is named before ports are judged
    await backend.requireReachable();
    const s2 = report.begin(`check the ports of ${counted(services.length, "service")}`);
    const blocked = await blockedPorts(model, backend, services);
    for (const b of blocked) s2.detail(`✗ ${b.problem}\n    fix: ${b.fix}`);
    if (blocked.length) {
      s2.fail(`${counted(blocked.length, "port")} held by another process: nothing was stopped`);
      return { ok: false, steps: report.records, readiness: [], checks: [] };
    }
    s2.ok(`${counted(services.filter((s) => s.port !== undefined).length, "port")} free or held by their own service`);

    const s2b = report.begin("generate units/");
    const plan = generateUnits(model, { write: true });
    s2b.ok(summarizePlan(plan));

    const s3 = report.begin(`ensure ${backend.label} is running`);
    const { started } = await backend.ensureRunning();
    s3.ok(started ? `started (${backend.endpoint})` : "already running");

    const s4 = report.begin("apply configuration");
    const applied = await backend.apply();
    const fresh = new Set([...applied.added, ...applied.changed]);
    s4.ok(
      fresh.size || applied.removed.length
        ? `added ${list(applied.added)}, changed ${list(applied.changed)}, removed ${list(applied.removed)}`
        : "no program changed",
    );

    const s5 = report.begin(`start ${counted(services.length, "service")} in dependency order`);
    if (manual.length)
      s5.detail(
        `not started (autostart: false, started by "orchestrate start NAME"): ${manual.map((s) => s.name).join(", ")}`,
      );
    // a manager that was just started started every program itself: nothing to restart
    const readiness = await startInOrder(model, backend, services, {
      restart: !started,
      fresh,
      programs,
      onLine: (l) => s5.detail(l),
    });
    const failed = readiness.filter((r) => !r.ok);
    if (failed.length)
      s5.fail(`${failed.length} of ${readiness.length} not ready: ${failed.map((r) => r.name).join(", ")}`);
    else s5.ok(`${readiness.length} ready`);

    // verify wants RUNNING (after startsecs); a service can be ready (port, health) before that
    await waitStarted(
      backend,
      services.filter((s) => readiness.some((r) => r.service === s.name && r.ok)),
    );
    const s6 = report.begin("verify");
    // CPU and memory right after a start say nothing and cost two getconf spawns: "orchestrate verify" shows them
    const checks = await verifyServices(model, backend, options.names ? enabled : model.services, {
      usage: false,
      programs,
    });
    s6.checks(checks);
    const bad = checks.filter((c) => !c.ok);
    if (bad.length) s6.fail(`${bad.length} of ${checks.length} failed: ${bad.map((c) => c.name).join(", ")}`);
    else s6.ok(`${checks.length}/${checks.length} verified`);
    const changes = [
      ...plan.changes.map((c) => `${c.path} ${c.kind}`),
      ...applied.added.map((n) => `${n} added to ${backend.kind}`),
      ...applied.changed.map((n) => `${n} reloaded`),
      ...applied.removed.map((n) => `${n} removed from ${backend.kind}`),
    ];
    const label = `restart${options.names ? ` ${options.names.join(" ")}` : ""}`;
    const ok = !failed.length && !bad.length;
    if (!ok) {
      recordChange(model.paths, {
        command: label,
        changes,
        outcome: "failed",
        // one part per service: a service that was not ready is not named again for failing verify
        reason: [
          ...failed.map((r) => `${r.name}: ${r.reason}`),
          ...bad
            .filter((c) => !failed.some((r) => r.name === c.name))
            .map((c) => `${c.name}: ${c.problems.join("; ")}`),
        ].join(" · "),
      });
    } else {
      if (changes.length) recordChange(model.paths, { command: label, changes, outcome: "applied" });
      saveLastGood(model.paths, project.source.text, plan.rendered);
    }
    return { ok, steps: report.records, readiness, checks };
  } finally {
    backend.close();
  }
}

/**
 * The ports of `services` held by someone restart would not stop: a foreign process, or a leftover of a
 * killed supervisord (recover's to stop). A port held by a program of this project that restart restarts
 * anyway (a wrong-port neighbour being restarted too) is not counted.
 */
async function blockedPorts(model: Model, backend: Backend, services: Service[]): Promise<PortCheck[]> {
  if (!services.some((s) => s.port !== undefined)) return [];
  const restarting = new Set(services.map((s) => s.name));
  const report = checkPorts(model, await livePortFacts(model, backend));
  return report.ports.filter(
    (p) =>
      p.kind === "service" &&
      p.conflict &&
      restarting.has(p.name) &&
      p.holders.some(
        (h) =>
          h.owner === "stale" ||
          (h.owner === "foreign" && ![...restarting].some((n) => h.reason.startsWith(`program ${n} `))),
      ),
  );
}

function list(names: string[]): string {
  return names.length ? names.join(" ") : "none";
}
