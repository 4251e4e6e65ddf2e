/**
 * restart — what MASTER_RESTART.sh did, without kill -9 and fixed sleeps: validate → generate → ensure
 * the manager → apply (only changed programs restart) → stop, then start level by level in dependency
 * order, waiting for each level's readiness → verify. A failing service is named with its state and
 * the tail of its logs; services that depend on it are not started.
 */
import type { Context } from "../cli/context";
import { loadProject } from "../manifest";
import { createBackend } from "../backend";
import type { Backend } from "../backend/types";
import { UsageError } from "../errors";
import { selectServices } from "../model/lookup";
import type { Model, Service } from "../model/types";
import { verifyServices } from "../verify/verify";
import { generateUnits, summarizePlan } from "./generate";
import { waitReady, waitStarted, type Readiness } from "./readiness";
import { StepReporter } from "./report";
import { printChecks } from "./verify-table";
import { duration } from "../cli/format";
import { saveLastGood } from "../history/last-good";
import { recordChange } from "../history/journal";
import { reapTestStart } from "./test-start-record";
import { withManifestLock } from "../write/lock";
import { manifestPath } from "../manifest/load";

/** Options of {@link restartProcedure}. */
export interface RestartOptions {
  /** services to restart (default: all); an unknown name throws UnknownServiceError, a disabled one UsageError */
  names?: string[];
  /** Restart programs that are already running (default true). false: only start what is not running. */
  restartRunning?: boolean;
}

/** Runs the whole restart procedure and prints its steps. Exit code: 0 all verified, 1 any failure. */
export async function restartProcedure(ctx: Context, options: RestartOptions = {}): Promise<number> {
  // under the manifest lock: a restart between an add-service's manifest write and its test-start would
  // apply a program that the add-service may still roll back
  return withManifestLock(manifestPath(ctx.manifest), () => restartLocked(ctx, options));
}

async function restartLocked(ctx: Context, options: RestartOptions): Promise<number> {
  const report = new StepReporter(ctx, 6);
  const s1 = report.begin("validate manifest");
  const project = loadProject(ctx.manifest);
  const { model } = project;
  const selected = selectServices(model, options.names);
  const disabled = selected.filter((s) => !s.enabled && options.names?.includes(s.name));
  if (disabled.length)
    throw new UsageError(
      `${disabled.map((s) => s.name).join(", ")} ${disabled.length === 1 ? "is" : "are"} disabled (enabled: false)`,
      "set enabled: true in the manifest to run it",
    );
  for (const note of await reapTestStart(model.paths)) s1.detail(note);
  s1.ok(
    `${model.services.length} services, ${project.warnings.length} warning${project.warnings.length === 1 ? "" : "s"}`,
  );

  const s2 = report.begin("generate units/");
  const plan = generateUnits(model, { write: true });
  s2.ok(summarizePlan(plan));

  const backend = createBackend(model, { kind: ctx.backend, ...ctx.systemd });
  const s3 = report.begin(`ensure ${backend.kind === "supervisor" ? "supervisord" : "systemd"} is running`);
  const { started } = await backend.ensureRunning();
  s3.ok(
    started ? `started (${backend.kind === "supervisor" ? "run/supervisord.sock" : "systemd"})` : "already running",
  );

  const s4 = report.begin("apply configuration");
  const applied = await backend.apply();
  const fresh = new Set([...applied.added, ...applied.changed]);
  s4.ok(
    fresh.size || applied.removed.length
      ? `added ${list(applied.added)}, changed ${list(applied.changed)}, removed ${list(applied.removed)}`
      : "no program changed",
  );

  const services = selected.filter((s) => s.enabled);
  const s5 = report.begin(`start ${services.length} service${services.length === 1 ? "" : "s"} in dependency order`);
  const restartRunning = options.restartRunning !== false && !started;
  const readiness = await startInOrder(model, backend, services, {
    restart: restartRunning,
    fresh,
    onLine: (l) => s5.detail(l),
  });
  const failed = readiness.filter((r) => !r.ok);
  if (failed.length)
    s5.fail(`${failed.length} of ${services.length} not ready: ${failed.map((r) => r.name).join(", ")}`);
  else s5.ok(`${services.length} ready`);

  // verify wants RUNNING (after startsecs); a service can be ready (port, health) before that
  await waitStarted(
    backend,
    services.filter((s) => readiness.some((r) => r.name === s.name && r.ok)),
  );
  const s6 = report.begin("verify");
  // CPU and memory right after a start say nothing and cost two getconf spawns: "orchestrate verify" shows them
  const checks = await verifyServices(model, backend, options.names ? services : model.services, { usage: false });
  printChecks(ctx, checks, (line) => s6.detail(line));
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
  if (failed.length || bad.length) {
    recordChange(model.paths, {
      command: label,
      changes,
      outcome: "failed",
      reason: [
        ...failed.map((r) => `${r.name}: ${r.reason}`),
        ...bad.map((c) => `${c.name}: ${c.problems.join("; ")}`),
      ].join(" · "),
    });
    return 1;
  }
  if (changes.length) recordChange(model.paths, { command: label, changes, outcome: "applied" });
  saveLastGood(model.paths, project.source.text, plan.rendered);
  return 0;
}

function list(names: string[]): string {
  return names.length ? names.join(" ") : "none";
}

/**
 * Stops the services (dependents first) when `restart`, then starts them level by level, each level
 * in parallel, waiting for its readiness before the next. Programs in `fresh` were just added or changed
 * by apply: not stopped again; with supervisord (which spawns them itself) only waited for, with systemd
 * started. A service whose dependency failed is not started.
 */
export async function startInOrder(
  model: Model,
  backend: Backend,
  services: Service[],
  options: { restart: boolean; fresh?: Set<string>; onLine?: (line: string) => void },
): Promise<Readiness[]> {
  const fresh = options.fresh ?? new Set<string>();
  // supervisord spawns added/changed programs itself on update (autostart): they are only waited for. systemd's
  // apply starts nothing (Backend.apply), so there they are started here like every other program — else a
  // changed unit stays stopped and `restart` fails with "STOPPED (inactive/dead)".
  const autostarted = backend.kind === "supervisor" ? fresh : new Set<string>();
  const chosen = new Set(services.map((s) => s.name));
  const levels = model.levels.map((level) => level.filter((n) => chosen.has(n))).filter((l) => l.length);
  const byName = new Map(model.services.map((s) => [s.name, s]));
  if (options.restart) {
    for (const level of [...levels].reverse())
      await Promise.all(level.filter((n) => !fresh.has(n)).map((n) => backend.stop(n)));
  }
  const results: Readiness[] = [];
  const failed = new Set<string>();
  for (const [i, level] of levels.entries()) {
    const runnable = level.filter((n) => !byName.get(n)!.dependsOn.some((d) => failed.has(d)));
    for (const n of level.filter((n) => !runnable.includes(n))) {
      failed.add(n);
      const missing = byName.get(n)!.dependsOn.filter((d) => failed.has(d));
      results.push({
        name: n,
        ok: false,
        ms: 0,
        reason: `not started: depends on ${missing.join(", ")}, which did not become ready`,
      });
      options.onLine?.(`✗ ${n}: not started, depends on ${missing.join(", ")}`);
    }
    await Promise.all(runnable.filter((n) => !autostarted.has(n)).map((n) => backend.start(n)));
    const ready = await Promise.all(runnable.map((n) => waitReady(backend, byName.get(n)!)));
    for (const r of ready) {
      results.push(r);
      const s = byName.get(r.name)!;
      if (r.ok)
        options.onLine?.(
          `✓ level ${i}: ${r.name} ready in ${duration(r.ms)}${s.port ? ` (port ${s.port}${s.health ? `, ${s.health} 2xx` : ""})` : " (RUNNING)"}`,
        );
      else {
        failed.add(r.name);
        options.onLine?.(`✗ level ${i}: ${r.name}: ${r.reason}`);
        if (r.logTail) options.onLine?.(`  last lines of its log:\n${r.logTail.replace(/^/gm, "        | ")}`);
      }
    }
  }
  return results;
}
