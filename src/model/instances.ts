/**
 * Ports of a service's instances (manifest v1.1 `instances`): instance i listens on `port + i`, or on
 * `ports[i]`; with `instances` and neither key, on the lowest free ports of its group, chosen by the rule
 * add-service uses (src/model/budget.ts, without the live listener check): inside the group's ranges and
 * `ports.allowed`, not avoided, not reserved, not an external's, not any other instance's port. Services
 * are served in manifest order, so the choice is deterministic for one manifest text.
 */
import { intersectRanges, mergeRanges, portsIn } from "./port-ranges";
import type { PortRange } from "./types";

/** What {@link instancePorts} reads of one service as written. */
export interface InstancePortsInput {
  port?: number;
  ports?: number[];
  instances: number;
}

/**
 * The written ports of a service's instances: `ports`, else `port, port + 1, …`, else undefined (workers,
 * and services whose ports are chosen from their group). A port above 65535 is returned as is (validation
 * reports it).
 */
export function instancePorts(s: InstancePortsInput): number[] | undefined {
  if (s.ports) return s.ports;
  if (s.port === undefined) return undefined;
  return Array.from({ length: s.instances }, (_, i) => s.port! + i);
}

/** The policy the chosen ports obey. */
export interface FreePortPolicy {
  /** `ports.allowed`; undefined: every port. */
  allowed?: readonly PortRange[];
  /** Ports nobody may be given: avoided, reserved, externals', every written or already chosen instance port. */
  taken: Set<number>;
}

/**
 * The `count` lowest ports of `ranges` the policy leaves free, ascending; fewer when the ranges run out.
 * Adds each chosen port to `policy.taken`, so successive calls never choose one port twice.
 */
export function chooseFreePorts(ranges: readonly PortRange[], policy: FreePortPolicy, count: number): number[] {
  const effective = policy.allowed ? intersectRanges(mergeRanges(ranges), policy.allowed) : mergeRanges(ranges);
  const chosen: number[] = [];
  if (count <= 0) return chosen;
  for (const port of portsIn(effective)) {
    if (policy.taken.has(port)) continue;
    chosen.push(port);
    policy.taken.add(port);
    if (chosen.length >= count) break;
  }
  return chosen;
}
