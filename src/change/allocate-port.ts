/**
 * add-service step 1: the lowest free port of a group — not avoided, not reserved, not external, not
 * another service's, inside ports.allowed, and not held by any process on this host right now.
 * A full range is an error that prints the group's budget; never a random port.
 */
import { listenersByPort } from "../inspect/listeners";
import { isPortFree } from "../inspect/port-probe";
import { availablePorts, formatBudget, groupBudget } from "../model/budget";
import type { Model } from "../model/types";
import { UsageError } from "../errors";

/** The port chosen by {@link allocatePort}. */
export interface Allocation {
  port: number;
  /** ports skipped because a live process holds them, with the holder */
  skipped: Array<{ port: number; holder: string }>;
}

/**
 * Finds the port, skipping the ports in `exclude` (ports already chosen for other instances of the same change).
 * @throws UsageError (exit 2) when the group has no free port, with its budget.
 */
export async function allocatePort(
  model: Model,
  group: string,
  exclude: ReadonlySet<number> = new Set(),
): Promise<Allocation> {
  const budget = groupBudget(model, group);
  const skipped: Allocation["skipped"] = [];
  const all = availablePorts(model, group);
  for (;;) {
    // 256 candidates per listener scan: a whole group is never read into memory at once
    const candidates: number[] = [];
    while (candidates.length < 256) {
      const next = all.next();
      if (next.done) break;
      if (!exclude.has(next.value)) candidates.push(next.value);
    }
    if (!candidates.length) break;
    const found = await firstFree(candidates, skipped);
    if (found !== undefined) return { port: found, skipped };
  }
  throw new UsageError(
    `group ${group} has no free port: ${formatBudget(budget)}${skipped.length ? `; ${skipped.length} more held by running processes` : ""}`,
    `widen the range of group ${group} in the manifest, free a port, or pass --port N`,
  );
}

async function firstFree(candidates: number[], skipped: Allocation["skipped"]): Promise<number | undefined> {
  const held = await listenersByPort(candidates);
  for (const port of candidates) {
    const holders = held.get(port) ?? [];
    if (holders.length) {
      skipped.push({
        port,
        holder: holders[0].command ? `pid ${holders[0].pid} (${holders[0].command})` : "another process",
      });
      continue;
    }
    if (!(await isPortFree(port))) {
      skipped.push({ port, holder: "another process" });
      continue;
    }
    return port;
  }
  return undefined;
}

/**
 * `count` ports for new instances: the lowest free ones of the group by the rule of {@link allocatePort},
 * each distinct. @throws UsageError like {@link allocatePort} when the group runs out.
 */
export async function allocatePorts(model: Model, group: string, count: number): Promise<Allocation[]> {
  const chosen = new Set<number>();
  const out: Allocation[] = [];
  for (let i = 0; i < count; i++) {
    const a = await allocatePort(model, group, chosen);
    chosen.add(a.port);
    out.push(a);
  }
  return out;
}
