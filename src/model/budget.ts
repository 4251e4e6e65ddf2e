/**
 * Port budget of a group: how many ports its ranges hold, which are taken and why, and which are free to
 * allocate. One rule decides "available" everywhere (PORTS.md, check-ports, add-service): a port of the
 * group's ranges that lies inside `ports.allowed` (when set) and is not avoided, not reserved, not an
 * external's port and not any service's port (any group, enabled or not).
 *
 * Taken ports (avoid, reserved, externals, services) are indexed once per call, sorted with per-reason
 * prefix counts; a group then costs a few binary searches per range. Ranges are never expanded into
 * arrays, so a 1-65535 group costs the same as a 10-port one.
 */
import { UsageError } from "../errors";
import { intersectRanges, mergeRanges, rangeSize } from "./port-ranges";
import { closestNames } from "./suggest";
import type { Group, Model, PortRange } from "./types";

/** Why a port of a group's ranges is not available; each port is counted under the first reason that applies. */
export type BlockReason = "avoided" | "reserved" | "external" | "service";

/** Budget of one group. Invariant: `total = free + notAllowed + avoided + reserved + external + services`. */
export interface GroupBudget {
  group: string;
  /** The group's ranges, sorted and merged. */
  ranges: PortRange[];
  /** Distinct ports in the group's ranges. */
  total: number;
  /** Ports of every instance of the services of this group (enabled or not, in range or not), ascending; workers have none. */
  used: number[];
  /** Ports available for allocation. */
  free: number;
  /** Lowest available port; undefined when the group is full. */
  nextFree?: number;
  /** Ports of the ranges that are not available, by reason (each port once, in this order of precedence). */
  blocked: { notAllowed: number; avoided: number; reserved: number; external: number; services: number };
}

/** Options of {@link availablePorts}. */
export interface AvailableOptions {
  /** Skip ports this predicate says are held by a live process (add-service passes a listener probe). */
  isHeld?: (port: number) => boolean;
  /** Stop after this many ports (default: no limit). */
  limit?: number;
}

/** The group named `name`; throws UsageError listing the known groups when there is none. */
function findGroup(model: Model, name: string): Group {
  const group = model.groups.find((g) => g.name === name);
  if (group) return group;
  const known = model.groups.map((g) => g.name);
  const close = closestNames(name, known);
  throw new UsageError(
    `unknown group "${name}"` +
      (close.length
        ? `; did you mean ${close.map((c) => `"${c}"`).join(" or ")}?`
        : ": expected one of the manifest's groups"),
    known.length ? `known groups: ${known.join(", ")}` : 'the manifest has no groups: add one under "groups"',
  );
}

/** The group's ranges within `ports.allowed`, sorted and disjoint. */
function effectiveRanges(model: Model, group: Group): PortRange[] {
  const merged = mergeRanges(group.ranges);
  return model.ports.allowed ? intersectRanges(merged, model.ports.allowed) : merged;
}

const REASONS: readonly BlockReason[] = ["avoided", "reserved", "external", "service"];

/**
 * Every taken port of the model, sorted and unique, with its first reason, and per-reason prefix counts so
 * that counting the taken ports of any interval costs two binary searches.
 */
interface TakenIndex {
  ports: Int32Array;
  /** prefix[k][i]: ports[0..i) taken for REASONS[k]. */
  prefix: Int32Array[];
}

function takenIndex(model: Model): TakenIndex {
  const reasonOf = new Map<number, number>();
  const mark = (port: number | undefined, k: number) => {
    if (port !== undefined && !reasonOf.has(port)) reasonOf.set(port, k);
  };
  for (const p of model.ports.avoid) mark(p, 0);
  for (const p of model.ports.reserved.keys()) mark(p, 1);
  for (const e of model.external) mark(e.port, 2);
  for (const s of model.services) for (const i of s.instances) mark(i.port, 3);
  const ports = Int32Array.from(reasonOf.keys()).sort();
  const prefix = REASONS.map(() => new Int32Array(ports.length + 1));
  for (let i = 0; i < ports.length; i++) {
    const k = reasonOf.get(ports[i])!;
    for (let r = 0; r < REASONS.length; r++) prefix[r][i + 1] = prefix[r][i] + (r === k ? 1 : 0);
  }
  return { ports, prefix };
}

/** First index i with ports[i] >= port. */
function lowerBound(ports: Int32Array, port: number): number {
  let lo = 0;
  let hi = ports.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ports[mid] < port) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Available ports of sorted disjoint `ranges`, ascending; skips runs of taken ports without scanning the rest. */
function* walk(ranges: readonly PortRange[], taken: Int32Array): Generator<number, void, undefined> {
  for (const r of ranges) {
    let i = lowerBound(taken, r.low);
    for (let p = r.low; p <= r.high; p++) {
      if (i < taken.length && taken[i] === p) {
        i++;
        continue;
      }
      yield p;
    }
  }
}

/** Group name → ports of its services' instances (workers have none), in one pass over the services. */
function usedPorts(model: Model): Map<string, number[]> {
  const used = new Map<string, number[]>();
  for (const s of model.services) {
    if (s.group === undefined) continue;
    for (const { port } of s.instances) {
      if (port === undefined) continue;
      const list = used.get(s.group);
      if (list) list.push(port);
      else used.set(s.group, [port]);
    }
  }
  return used;
}

function budgetOf(model: Model, group: Group, index: TakenIndex, used: number[]): GroupBudget {
  const ranges = mergeRanges(group.ranges);
  const effective = effectiveRanges(model, group);
  const byReason = [0, 0, 0, 0];
  for (const r of effective) {
    const i = lowerBound(index.ports, r.low);
    const j = lowerBound(index.ports, r.high + 1);
    for (let k = 0; k < REASONS.length; k++) byReason[k] += index.prefix[k][j] - index.prefix[k][i];
  }
  const takenInside = byReason.reduce((a, b) => a + b, 0);
  const free = rangeSize(effective) - takenInside;
  return {
    group: group.name,
    ranges,
    total: rangeSize(ranges),
    used: used.sort((a, b) => a - b),
    free,
    nextFree: free > 0 ? (walk(effective, index.ports).next().value ?? undefined) : undefined,
    blocked: {
      notAllowed: rangeSize(ranges) - rangeSize(effective),
      avoided: byReason[0],
      reserved: byReason[1],
      external: byReason[2],
      services: byReason[3],
    },
  };
}

/**
 * Budget of group `groupName`: total, used, free, next free port and why the rest is blocked.
 * Throws UsageError when the model has no such group. For every group at once use {@link groupBudgets}.
 */
export function groupBudget(model: Model, groupName: string): GroupBudget {
  const group = findGroup(model, groupName);
  return budgetOf(model, group, takenIndex(model), usedPorts(model).get(group.name) ?? []);
}

/** Budgets of every group, in manifest order; the taken ports are indexed once for all of them. */
export function groupBudgets(model: Model): GroupBudget[] {
  const index = takenIndex(model);
  const used = usedPorts(model);
  return model.groups.map((g) => budgetOf(model, g, index, used.get(g.name) ?? []));
}

/**
 * Ports of group `groupName` that may be allocated now, lowest first, lazily: every rule of
 * {@link groupBudget} plus `isHeld` (a live process holds it). Throws UsageError for an unknown group.
 */
export function* availablePorts(
  model: Model,
  groupName: string,
  options: AvailableOptions = {},
): Generator<number, void, undefined> {
  const effective = effectiveRanges(model, findGroup(model, groupName));
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return;
  let n = 0;
  for (const port of walk(effective, takenIndex(model).ports)) {
    if (options.isHeld?.(port)) continue;
    yield port;
    if (++n >= limit) return;
  }
}

/** One line for people: `used 7 / free 93 / total 101 — next free 8012` (or `— full`). */
export function formatBudget(budget: GroupBudget): string {
  const next = budget.nextFree === undefined ? "full" : `next free ${budget.nextFree}`;
  return `used ${budget.used.length} / free ${budget.free} / total ${budget.total} — ${next}`;
}
