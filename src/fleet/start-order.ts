/**
 * Starting services in dependency order: dependents are stopped first (when restarting), then each
 * dependency level is started in parallel and must be ready before the next level starts. A service
 * whose dependency did not become ready is not started.
 */
import type { Backend } from "../backend/types";
import type { Model, Service } from "../model/types";
import { duration } from "../progress/text";
import { waitReady, type Readiness } from "./readiness";

/** Options of {@link startInOrder}. */
export interface StartOrderOptions {
  /** stop the services first (dependents first), then start them */
  restart: boolean;
  /** programs just added or changed by apply: not stopped again; waited for when the backend started them itself */
  fresh?: Set<string>;
  /** one line per service as it becomes ready or fails */
  onLine?: (line: string) => void;
}

/**
 * Stops `services` (dependents first) when `restart`, then starts them level by level, each level in
 * parallel, waiting for its readiness before the next. Returns one {@link Readiness} per service.
 */
export async function startInOrder(
  model: Model,
  backend: Backend,
  services: Service[],
  options: StartOrderOptions,
): Promise<Readiness[]> {
  const fresh = options.fresh ?? new Set<string>();
  // a backend whose apply spawns added/changed programs itself: those are only waited for. Neither does now
  // (supervisord programs have autostart=false, systemd's apply starts nothing), so every program is started
  // here, level by level — else a changed one stays stopped, and a fresh supervisord would start dependents
  // of a service that fails.
  const autostarted = backend.applyStartsPrograms ? fresh : new Set<string>();
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
