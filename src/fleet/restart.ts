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
import { verifyProxy, type ProxyVerification } from "../verify/proxy";
import { NginxRefusedError, nginxPid } from "../backend/nginx/control";
import { bringUpProxy, proxyStepCount, stopProxy } from "./proxy";
import { withManifestLock } from "../write/lock";
import { generateUnits, summarizePlan } from "./generate";
import { waitStarted, type Readiness } from "./readiness";
import { rolledServices, previousFiles } from "./rollout-plan";
import { rollOut, type RolloutResult, type TakeOut } from "./rollout";
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
  /**
   * Restart every named instance at once, as before rollouts (`restart --all-at-once`): stop them all, then
   * start them. Default false: a named service with two or more instances is rolled (./rollout.ts).
   */
  allAtOnce?: boolean;
  /** rollout: instances out at once (default 1) */
  maxUnavailable?: number;
  /** rollout: ms to wait for an instance's connections to close once it left the upstream (default 5000; takeOut "reload") */
  drainTimeoutMs?: number;
  /** rollout behind the proxy: nginx retries elsewhere while an instance stops (default), or `down` + reload first */
  takeOut?: TakeOut;
}

/** What {@link restart} did: `ok` exactly when every started service was ready and every checked one verified. */
export interface RestartResult {
  ok: boolean;
  steps: StepRecord[];
  readiness: Readiness[];
  checks: ServiceCheck[];
  /** with a `proxy`: nginx running, listening, each route answered by its own service */
  proxy?: ProxyVerification;
  /** one per rolled service, in the order rolled */
  rollouts: RolloutResult[];
}

/**
 * Runs the whole restart procedure, reporting seven steps (eight with a proxy) to `op.progress`.
 * @throws ManifestError / UsageError (exit 2) for an invalid manifest or bad names, before anything is touched;
 *   OperationError when the manager cannot be started or refuses the configuration.
 */
export async function restart(op: Operation, options: RestartOptions = {}): Promise<RestartResult> {
  // under the manifest lock: a restart between an add-service's manifest write and its test-start would
  // apply a program that the add-service may still roll back
  return withManifestLock(manifestPath(op.manifest), () => restartLocked(op, options));
}

async function restartLocked(op: Operation, options: RestartOptions): Promise<RestartResult> {
  const report = new StepReporter(op.progress, 7 + proxyStepCount(op.manifest));
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
      return { ok: false, steps: report.records, readiness: [], checks: [], rollouts: [] };
    }
    s2.ok(`${counted(services.filter((s) => s.port !== undefined).length, "port")} free or held by their own service`);

    const s2b = report.begin("generate units/");
    const plan = generateUnits(model, { write: true });
    const previous = previousFiles(model.paths, plan);
    s2b.ok(summarizePlan(plan));

    const s3 = report.begin(`ensure ${backend.label} is running`);
    const { started } = await backend.ensureRunning();
    s3.ok(started ? `started (${backend.endpoint})` : "already running");

    // a manager that was just started started every program itself: nothing to roll
    // only named services are rolled: the whole fleet restarts in dependency order as before
    const rolled = options.allAtOnce || started || !options.names ? [] : rolledServices(targets);
    const rolledPrograms = new Set(rolled.flatMap((r) => r.instances.map((i) => i.program)));
    const s4 = report.begin("apply configuration");
    const applied = await backend.apply(rolled.length ? { select: (p) => !rolledPrograms.has(p) } : undefined);
    if (applied.held?.length) s4.detail(`loaded one at a time by the rollout: ${applied.held.join(" ")}`);
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
    const rolledNames = new Set(rolled.map((r) => r.service.name));
    const readiness = await startInOrder(
      model,
      backend,
      services.filter((s) => !rolledNames.has(s.name)),
      { restart: !started, fresh, programs, onLine: (l) => s5.detail(l) },
    );
    const rollouts: RolloutResult[] = [];
    for (const r of rolled.filter((x) => services.includes(x.service))) {
      const failedDeps = r.service.dependsOn.filter((d) => readiness.some((x) => x.service === d && !x.ok));
      if (failedDeps.length) {
        s5.detail(`✗ ${r.service.name}: not rolled: depends on ${failedDeps.join(", ")}, which did not become ready`);
        continue;
      }
      s5.detail(`rolling restart of ${r.service.name}: ${r.instances.map((i) => i.label).join(" ")}`);
      const result = await rollOut(model, backend, r.service, {
        instances: r.instances,
        previous,
        maxUnavailable: options.maxUnavailable,
        drainTimeoutMs: options.drainTimeoutMs,
        takeOut: options.takeOut,
        onLine: (l) => s5.detail(`  ${l}`),
      });
      rollouts.push(result);
      readiness.push(...result.readiness);
      if (result.failed?.logTail)
        s5.detail(
          `  last lines of ${result.failed.name}'s log:\n${result.failed.logTail.replace(/^/gm, "        | ")}`,
        );
    }
    const failed = readiness.filter((r) => !r.ok);
    const stopped = rollouts.filter((r) => !r.ok);
    const half = stopped.map(
      (r) =>
        `; rollout of ${r.service} stopped at ${r.failed?.name} (${r.failed?.restored ? "back on its previous configuration" : "not ready on its previous configuration either"})` +
        (r.replaced.length ? `, new configuration on ${r.replaced.join(" ")}` : "") +
        (r.notReplaced.length ? `, not replaced: ${r.notReplaced.join(" ")}` : ""),
    );
    if (failed.length)
      s5.fail(
        `${failed.length} of ${readiness.length} not ready: ${failed.map((r) => r.name).join(", ")}${half.join("")}`,
      );
    else s5.ok(`${readiness.length} ready`);

    // the proxy: after the services are ready, only ready instances in the upstreams (src/fleet/proxy.ts)
    let proxyRefused: string | undefined;
    if (model.proxy) {
      const sp = report.begin("bring up the proxy (nginx)");
      try {
        const up = await bringUpProxy(model, readiness);
        sp.ok(
          `${up.action}${up.pid ? ` (pid ${up.pid})` : ""}, listening on ${model.proxy.listen.address ?? "*"}:${model.proxy.listen.port}`,
        );
      } catch (e) {
        if (!(e instanceof NginxRefusedError)) throw e;
        proxyRefused = e.message;
        sp.fail(e.message);
      }
    } else if (nginxPid(model) !== undefined) {
      // the manifest no longer has a proxy: its nginx would keep serving the old routes
      const sp = report.begin('stop the proxy (no "proxy" in the manifest)');
      await stopProxy(model);
      sp.ok("nginx stopped");
    }

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
    const proxy = model.proxy ? await verifyProxy(model) : undefined;
    s6.checks([...checks, ...(proxy?.checks ?? [])]);
    const bad = [...checks, ...(proxy?.checks ?? [])].filter((c) => !c.ok);
    const proxyText = proxy ? `, the proxy and ${proxy.routes.length} routes through it` : "";
    if (bad.length)
      s6.fail(
        `${bad.length} of ${checks.length + (proxy?.checks.length ?? 0)} failed: ${bad.map((c) => c.name).join(", ")}`,
      );
    else s6.ok(`${checks.length}/${checks.length} verified${proxyText}`);
    const changes = [
      ...plan.changes.map((c) => `${c.path} ${c.kind}`),
      ...applied.added.map((n) => `${n} added to ${backend.kind}`),
      ...applied.changed.map((n) => `${n} reloaded`),
      ...applied.removed.map((n) => `${n} removed from ${backend.kind}`),
    ];
    const label = `restart${options.names ? ` ${options.names.join(" ")}` : ""}`;
    const ok = !failed.length && !bad.length && !proxyRefused;
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
          ...(proxyRefused ? [proxyRefused] : []),
        ].join(" · "),
      });
    } else {
      if (changes.length) recordChange(model.paths, { command: label, changes, outcome: "applied" });
      saveLastGood(model.paths, project.source.text, plan.rendered);
    }
    return { ok, steps: report.records, readiness, checks, rollouts, ...(proxy ? { proxy } : {}) };
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
