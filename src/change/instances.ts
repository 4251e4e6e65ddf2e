/**
 * `--instances N` of add-service and modify-service: the manifest edit of a service's instance count and
 * ports. Scaling up keeps every existing instance's port and gives each new instance the lowest free port
 * of the group (not held by a live process), written into the manifest (`port` + `instances` while the
 * ports stay consecutive, else an explicit `ports` list); scaling down drops the highest instances.
 */
import { UsageError } from "../errors";
import type { Model, Service } from "../model/types";
import { availablePorts } from "../model/budget";
import { allocatePorts } from "./allocate-port";
import { portHolder } from "./port-checks";

/** What {@link scaleEntry} did to the entry. */
export interface Scaling {
  /** one line per change, for the journal and the report step */
  changes: string[];
  /** ports of the new instances (scale up) */
  added: number[];
  /** ports of the removed instances (scale down): each must be released afterwards */
  removed: number[];
}

/** The highest instance count accepted on the command line (the schema's own bound applies too). */
const MAX_INSTANCES = 64;

/** Parses `--instances N`. @throws UsageError for anything but a whole number 1-64. */
export function parseInstances(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_INSTANCES)
    throw new UsageError(
      `--instances expects a whole number from 1 to ${MAX_INSTANCES}, found "${text}"`,
      "e.g. --instances 2 (one process per instance, each on its own port)",
    );
  return n;
}

/**
 * Edits `entry` (the service's manifest object, in place) to `count` instances. `old` is the service as
 * resolved now (undefined for a new service: its `port`/`group` in `entry` are the base).
 * @throws UsageError when new ports are needed and there is no group to take them from, or the group is full.
 */
export async function scaleEntry(
  model: Model,
  name: string,
  entry: Record<string, unknown>,
  old: Service | undefined,
  count: number,
): Promise<Scaling> {
  const current = old?.instances.map((i) => i.port) ?? [entry.port as number | undefined];
  const have = old?.instances.length ?? 1;
  const changes: string[] = [];
  const result: Scaling = { changes, added: [], removed: [] };
  const wasMulti = old ? old.multi : false;
  entry.instances = count;
  if (count === have) {
    if (!wasMulti && old) changes.push(`instances → ${count} (program ${name} becomes ${name}@0)`);
    return result;
  }
  changes.push(`instances ${have} → ${count}${!wasMulti && old ? ` (program ${name} becomes ${name}@0)` : ""}`);
  const worker = current[0] === undefined;
  if (count < have) {
    result.removed = worker ? [] : (current.slice(count) as number[]);
    if (Array.isArray(entry.ports)) entry.ports = (entry.ports as number[]).slice(0, count);
    if (result.removed.length) changes.push(`ports ${result.removed.join(", ")} released`);
    return result;
  }
  if (worker) return result;
  const ports = current as number[];
  const needed = count - have;
  const group = entry.group as string | undefined;
  // consecutive ports after the base keep the manifest as `port` + `instances` when all are free
  if (typeof entry.port === "number" && !Array.isArray(entry.ports)) {
    const next = Array.from({ length: needed }, (_, i) => (entry.port as number) + have + i);
    if (await allFree(model, group, next)) {
      result.added = next;
      changes.push(`new instance ports ${next.join(", ")} (port + index)`);
      return result;
    }
  }
  if (!group)
    throw new UsageError(
      `services.${name}: ${needed} more port(s) needed for --instances ${count}, and it has no "group" to choose them from`,
      `set "group" on ${name}, or write "ports": [${[...ports, "…"].join(", ")}] with ${count} ports in the manifest`,
    );
  const chosen = await allocatePorts(model, group, needed);
  result.added = chosen.map((a) => a.port);
  delete entry.port;
  entry.ports = [...ports, ...result.added];
  changes.push(`new instance ports ${result.added.join(", ")} (lowest free of group ${group}), written as "ports"`);
  return result;
}

/** Whether every port is free for a new instance: allowed by the group's policy and held by no live process. */
async function allFree(model: Model, group: string | undefined, ports: number[]): Promise<boolean> {
  if (group) {
    const wanted = new Set(ports);
    const max = Math.max(...ports);
    for (const p of availablePorts(model, group)) {
      wanted.delete(p);
      if (!wanted.size || p >= max) break;
    }
    if (wanted.size) return false;
  }
  for (const p of ports) if (await portHolder(p)) return false;
  return true;
}
