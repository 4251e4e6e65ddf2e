/**
 * Starting services in dependency order as a graph, not in levels: each service starts the moment its own
 * dependencies are ready (systemd's After= ordering: a unit waits only for the units it is ordered after;
 * systemd.unit(5), "After="), every instance of the service together, and a service whose dependency did
 * not become ready is not started (and is stopped when the manager had started it on its own). A service is
 * ready when all its instances are (a oneshot: when its run exited with an expected code). Stopping runs the
 * same graph in reverse: a service stops once every service that depends on it has stopped, and independent
 * services stop in parallel (systemd stops units in the reverse of their start order).
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
 * Stops `services` (dependents first) when `restart`, then starts each one — all its instances together —
 * as soon as its dependencies among `services` are ready, waiting for its readiness. Dependencies outside
 * `services` are not waited for. Services free to start at the same moment are asked in `programPriority`
 * order (lower first). Returns one {@link Readiness} per instance, in the order they finished.
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
  // here — else a changed one stays stopped, and a fresh supervisord would start dependents of a service
  // that fails.
  const autostarted = backend.applyStartsPrograms ? fresh : new Set<string>();
  const chosen = orderByLevel(model, services);
  const instancesOf = (s: Service): Instance[] =>
    s.instances.filter((i) => !options.programs || options.programs.has(i.program));
  if (options.restart)
    await stopInOrder(backend, chosen, (s) =>
      instancesOf(s)
        .map((i) => i.program)
        .filter((p) => !fresh.has(p)),
    );
  const results: Readiness[] = [];
  const done = new Map<string, Promise<boolean>>();
  const inSet = new Set(chosen.map((s) => s.name));
  const starter = new PriorityStarter();
  for (const s of chosen) {
    const depNames = s.dependsOn.filter((d) => inSet.has(d));
    const deps = depNames.map((d) => done.get(d)!);
    done.set(
      s.name,
      Promise.all(deps).then(async (depsReady) => {
        const missing = depNames.filter((_, i) => !depsReady[i]);
        const instances = instancesOf(s);
        if (missing.length) {
          // a manager that started every program itself (supervisord at its own start) may have started it
          const stopped = options.restart
            ? []
            : await stopRunning(
                backend,
                instances.map((i) => i.program),
              );
          const reason = `not started: depends on ${missing.join(", ")}, which did not become ready${stopped.length ? " (stopped again)" : ""}`;
          for (const inst of instances)
            results.push({
              name: inst.label,
              service: s.name,
              program: inst.program,
              port: inst.port,
              ok: false,
              ms: 0,
              reason,
            });
          options.onLine?.(
            `✗ ${s.name}: not started, depends on ${missing.join(", ")}${stopped.length ? ` (stopped again: ${stopped.join(" ")})` : ""}`,
          );
          return false;
        }
        await Promise.all(
          instances
            .filter((inst) => !autostarted.has(inst.program))
            .map((inst) =>
              starter.start(s.programPriority, () =>
                s.type === "oneshot" ? runOneshot(backend, inst.program, options.restart) : backend.start(inst.program),
              ),
            ),
        );
        const ready = await Promise.all(instances.map((inst) => waitReady(backend, s, { instance: inst })));
        for (const r of ready) {
          results.push(r);
          if (r.ok)
            options.onLine?.(
              s.type === "oneshot"
                ? `✓ level ${s.level}: ${r.name} ran in ${duration(r.ms)} (exit ${r.status?.exitStatus ?? 0})`
                : `✓ level ${s.level}: ${r.name} ready in ${duration(r.ms)}${r.port ? ` (port ${r.port}${s.health ? `, ${s.health} 2xx` : ""})` : " (RUNNING)"}`,
            );
          else {
            options.onLine?.(`✗ level ${s.level}: ${r.name}: ${r.reason}`);
            if (r.logTail) options.onLine?.(`  last lines of its log:\n${r.logTail.replace(/^/gm, "        | ")}`);
          }
        }
        return ready.every((r) => r.ok);
      }),
    );
  }
  await Promise.all(done.values());
  return results;
}

/**
 * Stops `services` in reverse dependency order: each one once every service of `services` that depends on
 * it is stopped; independent ones in parallel, every instance of a service together. `programsOf` chooses
 * the programs stopped per service (default all its instances). Waits until all are stopped.
 */
export async function stopInOrder(
  backend: Backend,
  services: Service[],
  programsOf: (s: Service) => string[] = (s) => s.instances.map((i) => i.program),
): Promise<void> {
  const byName = new Map(services.map((s) => [s.name, s]));
  const dependents = new Map<string, string[]>(services.map((s) => [s.name, []]));
  for (const s of services) for (const d of s.dependsOn) if (byName.has(d)) dependents.get(d)!.push(s.name);
  const stopped = new Map<string, Promise<void>>();
  const stop = (name: string): Promise<void> => {
    let p = stopped.get(name);
    if (!p) {
      p = Promise.all(dependents.get(name)!.map(stop)).then(async () => {
        await Promise.all(programsOf(byName.get(name)!).map((prog) => backend.stop(prog)));
      });
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
 * Settings"). The requests themselves are quick (a oneshot's run is awaited); readiness is waited for in
 * parallel.
 */
class PriorityStarter {
  private queue: { priority: number; run: () => Promise<void>; resolve: () => void; reject: (e: unknown) => void }[] =
    [];
  private scheduled = false;

  start(priority: number, run: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ priority, run, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.sort((a, b) => a.priority - b.priority);
    this.queue = [];
    this.scheduled = false;
    for (const item of batch) {
      try {
        await item.run();
        item.resolve();
      } catch (e) {
        item.reject(e);
      }
    }
  }
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
