/**
 * Starting services in dependency order: dependents are stopped first (when restarting), then each
 * dependency level is started in parallel — every instance of every service of the level together — and
 * must be ready before the next level starts. A service is ready when all its instances are (a oneshot:
 * when its run exited with an expected code). A service whose dependency did not become ready is not
 * started, and is stopped when the manager had started it on its own.
 */
import type { Backend, ProgramStatus } from "../backend/types";
import type { Instance, Model, Service } from "../model/types";
import { duration } from "../progress/text";
import { waitReady, type Readiness } from "./readiness";

/** Options of {@link startInOrder}. */
export interface StartOrderOptions {
  /** stop the services first (dependents first), then start them; a oneshot runs again */
  restart: boolean;
  /** programs just added or changed by apply: not stopped again; waited for when the backend started them itself */
  fresh?: Set<string>;
  /** only these programs (NAME or NAME@I: `NAME:I` on the command line); default every instance */
  programs?: Set<string>;
  /** one line per instance as it becomes ready or fails */
  onLine?: (line: string) => void;
}

/**
 * Stops `services` (dependents first) when `restart`, then starts them level by level, each level in
 * parallel, waiting for its readiness before the next. Returns one {@link Readiness} per instance.
 */
export async function startInOrder(
  model: Model,
  backend: Backend,
  services: Service[],
  options: StartOrderOptions,
): Promise<Readiness[]> {
  const fresh = options.fresh ?? new Set<string>();
  // supervisord spawns added/changed programs itself on apply (autostart): they are only waited for. systemd's
  // apply starts nothing, so there they are started here like every other program — else a changed unit
  // stays stopped and `restart` fails with "STOPPED (inactive/dead)".
  const autostarted = backend.applyStartsPrograms ? fresh : new Set<string>();
  const chosen = new Set(services.map((s) => s.name));
  const levels = model.levels.map((level) => level.filter((n) => chosen.has(n))).filter((l) => l.length);
  const byName = new Map(model.services.map((s) => [s.name, s]));
  const instancesOf = (n: string): Instance[] =>
    byName.get(n)!.instances.filter((i) => !options.programs || options.programs.has(i.program));
  const programsOf = (names: string[]) => names.flatMap((n) => instancesOf(n).map((i) => i.program));
  if (options.restart) {
    for (const level of [...levels].reverse())
      await Promise.all(
        programsOf(level)
          .filter((p) => !fresh.has(p))
          .map((p) => backend.stop(p)),
      );
  }
  const results: Readiness[] = [];
  const failed = new Set<string>();
  for (const [i, level] of levels.entries()) {
    const runnable = level.filter((n) => !byName.get(n)!.dependsOn.some((d) => failed.has(d)));
    for (const n of level.filter((n) => !runnable.includes(n))) {
      failed.add(n);
      const missing = byName.get(n)!.dependsOn.filter((d) => failed.has(d));
      // a manager that started every program itself (supervisord at its own start) may have started it
      const stopped = options.restart ? [] : await stopRunning(backend, programsOf([n]));
      const reason = `not started: depends on ${missing.join(", ")}, which did not become ready${stopped.length ? " (stopped again)" : ""}`;
      for (const inst of instancesOf(n))
        results.push({
          name: inst.label,
          service: n,
          program: inst.program,
          port: inst.port,
          ok: false,
          ms: 0,
          reason,
        });
      options.onLine?.(`✗ ${n}: ${reason}`);
    }
    const starts: Promise<void>[] = [];
    for (const n of runnable) {
      const s = byName.get(n)!;
      for (const inst of instancesOf(n)) {
        if (autostarted.has(inst.program)) continue;
        starts.push(
          s.type === "oneshot" ? runOneshot(backend, inst.program, options.restart) : backend.start(inst.program),
        );
      }
    }
    await Promise.all(starts);
    const ready = await Promise.all(
      runnable.flatMap((n) => instancesOf(n).map((inst) => waitReady(backend, byName.get(n)!, { instance: inst }))),
    );
    for (const r of ready) {
      results.push(r);
      const s = byName.get(r.service)!;
      if (r.ok)
        options.onLine?.(
          s.type === "oneshot"
            ? `✓ level ${i}: ${r.name} ran in ${duration(r.ms)} (exit ${r.status?.exitStatus ?? 0})`
            : `✓ level ${i}: ${r.name} ready in ${duration(r.ms)}${r.port ? ` (port ${r.port}${s.health ? `, ${s.health} 2xx` : ""})` : " (RUNNING)"}`,
        );
      else {
        failed.add(r.service);
        options.onLine?.(`✗ level ${i}: ${r.name}: ${r.reason}`);
        if (r.logTail) options.onLine?.(`  last lines of its log:\n${r.logTail.replace(/^/gm, "        | ")}`);
      }
    }
  }
  return results;
}

/**
 * Runs a oneshot: stopped first when restarting (systemd keeps a succeeded oneshot "active (exited)" with
 * RemainAfterExit=yes, where `start` is a no-op), then started. Without `restart` (the manager has just
 * started every program itself) a oneshot that already ran or runs is only waited for, not run twice.
 */
async function runOneshot(backend: Backend, program: string, restart: boolean): Promise<void> {
  if (restart) {
    await backend.stop(program);
    return backend.start(program);
  }
  const [status] = await backend.status([program]);
  if (!status || status.state === "STOPPED" || status.state === "ABSENT") await backend.start(program);
}

const ACTIVE = new Set<ProgramStatus["state"]>(["STARTING", "RUNNING", "BACKOFF"]);

/** Stops the programs of `programs` that run; returns those it stopped. */
async function stopRunning(backend: Backend, programs: string[]): Promise<string[]> {
  if (!programs.length) return [];
  const running = (await backend.status(programs)).filter((s) => ACTIVE.has(s.state)).map((s) => s.name);
  await Promise.all(running.map((p) => backend.stop(p)));
  return running;
}
