/**
 * Port policy: one owner per port (services, externals, reserved ports), nothing in ports.avoid,
 * everything inside ports.allowed and inside its group's range, known groups, and a warning for
 * privileged ports (< 1024) unless ports.allowPrivileged.
 */
import type { Problem } from "../../errors";
import { formatRanges, inRanges, portsIn } from "../../model/port-ranges";
import type { PortRange } from "../../model/types";
import { closestNames } from "../../model/suggest";
import type { ManifestView } from "../view";

/** Lowest port in `ranges` that no rule forbids and nobody owns; undefined when there is none. */
export function nextFreePort(view: ManifestView, ranges: PortRange[]): number | undefined {
  const taken = new Set<number>([
    ...view.services.flatMap((s) => s.instancePorts.map((i) => i.port)),
    ...view.external.map((e) => e.port),
    ...view.reserved.keys(),
    ...view.avoid,
    ...view.proxyPorts,
  ]);
  for (const port of portsIn(ranges)) {
    if (!taken.has(port) && (!view.allowed || inRanges(port, view.allowed))) return port;
  }
  return undefined;
}

function freeHint(view: ManifestView, group: string | undefined): string {
  const ranges = group ? view.groups.get(group) : undefined;
  const candidate = nextFreePort(view, ranges ?? view.allowed ?? [{ low: 1024, high: 65535 }]);
  if (candidate === undefined)
    return ranges ? `group ${group} has no free port left: widen its range` : "choose another port";
  return `use ${candidate}${ranges ? `, the next free port of group ${group}` : ", the next free port"} (or run "orchestrate add-service" to allocate one)`;
}

/** The port policy above as Problems (errors; privileged ports and reserved-and-avoided ports are warnings), each with a free-port fix. */
export function portRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  const owners = new Map<number, string>();
  for (const e of view.external) {
    const other = owners.get(e.port);
    if (other)
      problems.push({
        severity: "error",
        path: `external.${e.name}.port`,
        field: "port",
        value: e.port,
        message: `port ${e.port} of external ${e.name} is also declared by ${other}`,
        fix: "an external port has one owner: remove one of the two",
      });
    else owners.set(e.port, `external ${e.name}`);
  }
  for (const s of view.services) {
    const path = `services.${s.name}`;
    const err = (field: string, value: unknown, message: string, fix: string) =>
      problems.push({ severity: "error", path: `${path}.${field}`, service: s.name, field, value, message, fix });
    if (s.group !== undefined && !view.groups.has(s.group)) {
      const near = closestNames(s.group, view.groups.keys());
      err(
        "group",
        s.group,
        `group "${s.group}" is not defined in "groups"`,
        near.length
          ? `did you mean ${near.map((n) => `"${n}"`).join(" or ")}? or add "${s.group}" to groups`
          : `add "${s.group}" to groups with its port range`,
      );
    }
    for (const instance of s.instancePorts) checkPort(view, s.name, s.group, instance, owners, problems);
  }
  for (const [port, reason] of view.reserved) {
    if (view.avoid.has(port))
      problems.push({
        severity: "warning",
        path: `ports.reserved.${port}`,
        field: "reserved",
        value: port,
        message: `reserved port ${port} (${reason}) is also in ports.avoid, so it can never be used`,
        fix: "remove it from one of the two lists",
      });
  }
  return problems;
}

/**
 * The port policy for one instance port: one owner, not reserved, not avoided, inside ports.allowed and the
 * group's range, at most 65535, a warning below 1024. A port of instance i > 0 is named as such.
 */
function checkPort(
  view: ManifestView,
  name: string,
  group: string | undefined,
  instance: { index: number; port: number; field: string },
  owners: Map<number, string>,
  problems: Problem[],
): void {
  const { port, field } = instance;
  const path = `services.${name}.${field}`;
  const err = (message: string, fix: string) =>
    problems.push({ severity: "error", path, service: name, field, value: port, message, fix });
  const what = field === "port" && instance.index === 0 ? `port ${port}` : `port ${port} of instance ${instance.index}`;
  const owner = instance.index === 0 ? `service ${name}` : `instance ${instance.index} of service ${name}`;
  if (port > 65535) {
    err(
      `${what} is above 65535 (port ${port - instance.index} + instance ${instance.index})`,
      `lower "port", or write the ports out with "ports"`,
    );
    return;
  }
  const other = owners.get(port);
  if (other) err(`${what} is already taken by ${other}`, freeHint(view, group));
  else owners.set(port, owner);
  if (view.reserved.has(port))
    err(
      `${what} is reserved: ${view.reserved.get(port)}`,
      `choose another port, or remove ${port} from ports.reserved if this service is what it was kept for; ${freeHint(view, group)}`,
    );
  if (view.avoid.has(port)) err(`${what} is in ports.avoid`, freeHint(view, group));
  if (view.allowed && !inRanges(port, view.allowed))
    err(`${what} is outside ports.allowed (${formatRanges(view.allowed)})`, freeHint(view, group));
  const ranges = group ? view.groups.get(group) : undefined;
  if (ranges && !inRanges(port, ranges))
    err(
      `${what} is outside the range of group ${group} (${formatRanges(ranges)})`,
      `${freeHint(view, group)}, or widen the group's range`,
    );
  if (port < 1024 && !view.allowPrivileged) {
    problems.push({
      severity: "warning",
      path,
      service: name,
      field,
      value: port,
      message: `${what} is privileged (< 1024): the program needs root or CAP_NET_BIND_SERVICE`,
      fix: 'use a port >= 1024, or set "ports.allowPrivileged": true',
    });
  }
}
