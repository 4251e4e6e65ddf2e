/**
 * Starting services in dependency order as a graph, not in levels: each service starts the moment its own
 * dependencies are ready (systemd's After= ordering: a unit waits only for the units it is ordered after;
 * systemd.unit(5), "After="), and a service whose dependency did not become ready is not started. Stopping
 * runs the same graph in reverse: a service stops once every service that depends on it has stopped, and
 * independent services stop in parallel (systemd stops units in the reverse of their start order).
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
 * Stops `services` (dependents first) when `restart`, then starts each one as soon as its dependencies among
 * `services` are ready, waiting for its readiness. Dependencies outside `services` are not waited for.
 * Services free to start at the same moment are asked in `programPriority` order (lower first).
 * Returns one {@link Readiness} per service, in the order they finished.
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
  const chosen = orderByLevel(model, services);
  if (options.restart)
    await stopInOrder(
      backend,
      chosen.filter((s) => !fresh.has(s.name)),
    );
  const results: Readiness[] = [];
  const done = new Map<string, Promise<Readiness>>();
  const inSet = new Set(chosen.map((s) => s.name));
  const starter = new PriorityStarter(backend);
  for (const s of chosen) {
    const deps = s.dependsOn.filter((d) => inSet.has(d)).map((d) => done.get(d)!);
    done.set(
      s.name,
      Promise.all(deps).then(async (ready) => {
        const missing = ready.filter((r) => !r.ok).map((r) => r.name);
        let r: Readiness;
        if (missing.length) {
          r = {
            name: s.name,
            ok: false,
            ms: 0,
            reason: `not started: depends on ${missing.join(", ")}, which did not become ready`,
          };
          options.onLine?.(`✗ ${s.name}: not started, depends on ${missing.join(", ")}`);
        } else {
          if (!autostarted.has(s.name)) await starter.start(s);
          r = await waitReady(backend, s);
          if (r.ok)
            options.onLine?.(
              `✓ level ${s.level}: ${r.name} ready in ${duration(r.ms)}${s.port ? ` (port ${s.port}${s.health ? `, ${s.health} 2xx` : ""})` : " (RUNNING)"}`,
            );
          else {
            options.onLine?.(`✗ level ${s.level}: ${r.name}: ${r.reason}`);
            if (r.logTail) options.onLine?.(`  last lines of its log:\n${r.logTail.replace(/^/gm, "        | ")}`);
          }
        }
        results.push(r);
        return r;
      }),
    );
  }
  await Promise.all(done.values());
  return results;
}

/**
 * Stops `services` in reverse dependency order: each one once every service of `services` that depends on
 * it is stopped; independent ones in parallel. Waits until all are stopped.
 */
export async function stopInOrder(backend: Backend, services: Service[]): Promise<void> {
  const names = new Set(services.map((s) => s.name));
  const dependents = new Map<string, string[]>(services.map((s) => [s.name, []]));
  for (const s of services) for (const d of s.dependsOn) if (names.has(d)) dependents.get(d)!.push(s.name);
  const stopped = new Map<string, Promise<void>>();
  const stop = (name: string): Promise<void> => {
    let p = stopped.get(name);
    if (!p) {
      p = Promise.all(dependents.get(name)!.map(stop)).then(() => backend.stop(name));
      stopped.set(name, p);
    }
    return p;
  };
  await Promise.all(services.map((s) => stop(s.name)));
}

/** `services` with dependencies before dependents (by the model's level), stable otherwise. */
function orderByLevel(model: Model, services: Service[]): Service[] {
  const chosen = new Set(services.map((s) => s.name));
  return model.levels.flat().flatMap((n) => (chosen.has(n) ? services.filter((s) => s.name === n) : []));
}

/**
 * Sends start requests so that services that become free in the same tick are asked in priority order
 * (manifest `priority`, supervisord's `priority`: lower first; supervisord docs, "[program:x] Section
 * Settings"). The requests themselves are quick; readiness is waited for in parallel.
 */
class PriorityStarter {
  private queue: { service: Service; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  constructor(private readonly backend: Backend) {}

  start(service: Service): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ service, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.sort((a, b) => a.service.programPriority - b.service.programPriority);
    this.queue = [];
    this.scheduled = false;
    for (const item of batch) {
      try {
        await this.backend.start(item.service.name);
        item.resolve();
      } catch (e) {
        item.reject(e);
      }
    }
  }
}
