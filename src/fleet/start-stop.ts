/**
 * `orchestrate start` and `stop` with dependencies, the way systemd treats Wants=/After=
 * (systemd.unit(5)): starting a service first starts its stopped dependencies, in order, waiting for each
 * to be ready; stopping a service that running services depend on refuses (before stopping anything)
 * unless their stop is asked for too, then stops them first.
 */
import type { Backend, ProgramState } from "../backend/types";
import type { Model, Service } from "../model/types";
import { startInOrder, stopInOrder } from "./start-order";
import type { Readiness } from "./readiness";

/** States in which a program counts as running (or about to) for start and stop: it holds or will hold its port. */
const UP: ReadonlySet<ProgramState> = new Set(["RUNNING", "STARTING", "BACKOFF"]);

/** Every enabled service `services` depend on, transitively, without `services` themselves. */
export function dependenciesOf(model: Model, services: Service[]): Service[] {
  return closure(model, services, (s) => s.dependsOn);
}

/** Every enabled service that depends on one of `services`, transitively, without `services` themselves. */
export function dependentsOf(model: Model, services: Service[]): Service[] {
  const of = new Map<string, string[]>();
  for (const s of model.services) for (const d of s.dependsOn) of.set(d, [...(of.get(d) ?? []), s.name]);
  return closure(model, services, (s) => of.get(s.name) ?? []);
}

function closure(model: Model, services: Service[], next: (s: Service) => string[]): Service[] {
  const byName = new Map(model.services.map((s) => [s.name, s]));
  const seen = new Set(services.map((s) => s.name));
  const out: Service[] = [];
  const queue = [...services];
  while (queue.length) {
    for (const n of next(queue.shift()!)) {
      const s = byName.get(n);
      if (!s || !s.enabled || seen.has(n)) continue;
      seen.add(n);
      out.push(s);
      queue.push(s);
    }
  }
  return out;
}

/** What {@link startWithDependencies} did. */
export interface StartResult {
  ok: boolean;
  /** dependencies that were not running and were started first */
  startedDependencies: string[];
  readiness: Readiness[];
}

/**
 * Starts `services` after their dependencies that are not running (each in dependency order, waiting for
 * its readiness, saying so through `onLine`). Running dependencies are left alone. Never throws for a
 * program that fails: it is a Readiness with ok false, and what depends on it is not started.
 */
export async function startWithDependencies(
  model: Model,
  backend: Backend,
  services: Service[],
  onLine: (line: string) => void = () => {},
): Promise<StartResult> {
  const deps = dependenciesOf(model, services);
  const states = new Map((await backend.status(deps.map((s) => s.name))).map((s) => [s.name, s.state]));
  const stopped = deps.filter((d) => !UP.has(states.get(d.name) ?? "ABSENT"));
  for (const d of stopped) {
    const why = services.filter((s) => dependenciesOf(model, [s]).some((x) => x.name === d.name)).map((s) => s.name);
    onLine(`${d.name} is ${states.get(d.name) ?? "not known"}: starting it first (${why.join(", ")} depends on it)`);
  }
  const readiness = await startInOrder(model, backend, [...stopped, ...services], { restart: false });
  return { ok: readiness.every((r) => r.ok), startedDependencies: stopped.map((s) => s.name), readiness };
}

/** What {@link stopWithDependents} did or refused. */
export interface StopResult {
  ok: boolean;
  /** the running dependents, when the stop was refused because of them (nothing was stopped) */
  refused?: { name: string; dependsOn: string[] }[];
  /** every service stopped, dependents first */
  stopped: string[];
}

/**
 * Stops `services`. When running services depend on them: without `withDependents` nothing is stopped and
 * the result names them; with it they are stopped first (in reverse dependency order, independent ones in
 * parallel).
 */
export async function stopWithDependents(
  model: Model,
  backend: Backend,
  services: Service[],
  options: { withDependents: boolean },
): Promise<StopResult> {
  const dependents = dependentsOf(model, services);
  const states = new Map((await backend.status(dependents.map((s) => s.name))).map((s) => [s.name, s.state]));
  const running = dependents.filter((d) => UP.has(states.get(d.name) ?? "ABSENT"));
  if (running.length && !options.withDependents) {
    const named = new Set(services.map((s) => s.name));
    const refused = running.map((d) => ({
      name: d.name,
      dependsOn: [...dependenciesOf(model, [d])].map((x) => x.name).filter((n) => named.has(n)),
    }));
    return { ok: false, refused, stopped: [] };
  }
  const all = [...running, ...services];
  await stopInOrder(backend, all);
  const order = model.levels.flat().reverse();
  return { ok: true, stopped: all.map((s) => s.name).sort((a, b) => order.indexOf(a) - order.indexOf(b)) };
}
