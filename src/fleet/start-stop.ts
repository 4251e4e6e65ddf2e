/**
 * `orchestrate start` and `stop` with dependencies, the way systemd treats Wants=/After=
 * (systemd.unit(5)): starting a service first starts its stopped dependencies, in order, waiting for each
 * to be ready; stopping a service that running services depend on refuses (before stopping anything)
 * unless their stop is asked for too, then stops them first. Named instances (`NAME:I`) are started or
 * stopped alone; a dependency runs when every instance of it does. A named oneshot is run again (stopped
 * first: systemd keeps a succeeded oneshot "active (exited)", where a plain start does nothing); a service
 * with `autostart: false` starts like any other here — this is how it is meant to be started.
 */
import type { Backend, ProgramState } from "../backend/types";
import type { Model, Service } from "../model/types";
import { startInOrder, stopInOrder } from "./start-order";
import { waitStarted, type Readiness } from "./readiness";

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
  options: { programs?: Set<string> } = {},
): Promise<StartResult> {
  const deps = dependenciesOf(model, services);
  const depPrograms = deps.flatMap((s) => s.instances.map((i) => i.program));
  const states = new Map((await backend.status(depPrograms)).map((s) => [s.name, s.state]));
  const down = (s: Service) => s.instances.filter((i) => !UP.has(states.get(i.program) ?? "ABSENT"));
  const stopped = deps.filter((d) => down(d).length > 0);
  for (const d of stopped) {
    const why = services.filter((s) => dependenciesOf(model, [s]).some((x) => x.name === d.name)).map((s) => s.name);
    const state = states.get(down(d)[0].program) ?? "not known";
    onLine(`${d.name} is ${state}: starting it first (${why.join(", ")} depends on it)`);
  }
  const named = services.flatMap((s) =>
    s.instances.filter((i) => !options.programs || options.programs.has(i.program)).map((i) => ({ s, i })),
  );
  // a named oneshot runs again
  await Promise.all(named.filter(({ s }) => s.type === "oneshot").map(({ i }) => backend.stop(i.program)));
  const programs = new Set([
    ...stopped.flatMap((d) => down(d).map((i) => i.program)),
    ...named.map(({ i }) => i.program),
  ]);
  const readiness = await startInOrder(model, backend, [...stopped, ...services], { restart: false, programs });
  // ready (port, health) comes before RUNNING past startsecs, which verify wants: wait for that too, as restart does
  const up = new Set(readiness.filter((r) => r.ok).map((r) => r.service));
  await waitStarted(
    backend,
    [...stopped, ...services].filter((s) => up.has(s.name)),
  );
  return { ok: readiness.every((r) => r.ok), startedDependencies: stopped.map((s) => s.name), readiness };
}

/** What {@link stopWithDependents} did or refused. */
export interface StopResult {
  ok: boolean;
  /** the running dependents, when the stop was refused because of them (nothing was stopped) */
  refused?: { name: string; dependsOn: string[] }[];
  /** every instance stopped (NAME, or NAME:I with `instances`), dependents first */
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
  options: { withDependents: boolean; programs?: Set<string> },
): Promise<StopResult> {
  const chosen = (s: Service) => s.instances.filter((i) => !options.programs || options.programs.has(i.program));
  // a service keeps serving its dependents while one of its instances is left running
  const whole = services.filter((s) => chosen(s).length === s.instances.length);
  const dependents = dependentsOf(model, whole).filter((d) => !services.includes(d));
  const states = new Map(
    (await backend.status(dependents.flatMap((s) => s.instances.map((i) => i.program)))).map((s) => [s.name, s.state]),
  );
  const running = dependents.filter((d) => d.instances.some((i) => UP.has(states.get(i.program) ?? "ABSENT")));
  if (running.length && !options.withDependents) {
    const named = new Set(whole.map((s) => s.name));
    const refused = running.map((d) => ({
      name: d.name,
      dependsOn: [...dependenciesOf(model, [d])].map((x) => x.name).filter((n) => named.has(n)),
    }));
    return { ok: false, refused, stopped: [] };
  }
  const all = [...running, ...services];
  const targeted = new Set(services.map((s) => s.name));
  const programsOf = (s: Service) => (targeted.has(s.name) ? chosen(s) : s.instances).map((i) => i.program);
  await stopInOrder(backend, all, programsOf);
  const order = model.levels.flat().reverse();
  return {
    ok: true,
    stopped: all
      .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
      .flatMap((s) => (targeted.has(s.name) ? chosen(s) : s.instances).map((i) => i.label)),
  };
}
