/**
 * check-ports, the pure part: from the model and what was read live (listeners, the processes around
 * them, the manager's program status) → for every managed port (services, externals, reserved) who
 * holds it and whether that is a conflict; then the free ports of each group. No I/O here apart from
 * reading /proc/PID/environ on demand through ./ours.ts; ./live-facts.ts gathers the inputs.
 *
 * Owners: "service" — inside that service's program (supervisord: the main PID's tree or process group;
 * systemd: the unit's cgroup); "external" — any holder of a declared external's port is taken to be it;
 * "stale" — a leftover of this project's supervisord (./ours.ts) on a service port; "foreign" — anything
 * else on a service or reserved port. A conflict is a foreign or stale holder on an ENABLED service's
 * port: the service cannot bind while it is there.
 */
import type { ProgramStatus } from "../backend/types";
import type { Listener } from "../inspect/listeners";
import { availablePorts } from "../model/budget";
import type { Model, Service } from "../model/types";
import { leftoverEvidence, type OursFacts } from "./ours";

/** Why a port is managed. */
export type PortKind = "service" | "external" | "reserved";
/** Who holds a port; "none" when nothing listens. */
export type Owner = "service" | "external" | "stale" | "foreign" | "none";

/** One managed port as the manifest declares it. */
export interface ManagedPort {
  port: number;
  kind: PortKind;
  /** service or external name; for a reserved port its reason */
  name: string;
  group?: string;
  /** false only for a disabled service */
  enabled: boolean;
}

/** One listening socket on a managed port and the verdict on its holder. */
export interface Holder {
  /** "0.0.0.0", "::", "127.0.0.1", "::1", … */
  address: string;
  family: 4 | 6;
  /** main holding PID; undefined when not visible (another user's process, not root) */
  pid?: number;
  pids: number[];
  command?: string;
  user?: string;
  /** start stamp of `pid` (guards a later signal against PID reuse; see src/inspect/processes.ts) */
  startTime?: number;
  owner: Exclude<Owner, "none">;
  /** why that owner, e.g. "in program trade_executor (main PID 4242)" */
  reason: string;
}

/** The verdict on one managed port. `problem`/`fix` are set for conflicts and warnings. */
export interface PortCheck extends ManagedPort {
  state: "listening" | "free";
  /** the worst holder's owner (foreign > stale > service/external) */
  owner: Owner;
  holders: Holder[];
  /** a foreign or stale holder on an enabled service's port */
  conflict: boolean;
  problem?: string;
  fix?: string;
}

/** Free ports of one group: every budget rule (src/model/budget.ts) minus ports something listens on now. */
export interface GroupFree {
  group: string;
  free: number;
  /** the lowest free ports, at most 5 */
  next: number[];
  /** ports of the group's ranges that are otherwise available but held by an unmanaged process */
  heldByOthers: number[];
}

/** What `orchestrate check-ports --json` prints. `ok` is false when `conflicts > 0` or the manager is not answering. */
export interface CheckPortsReport {
  ok: boolean;
  conflicts: number;
  /** `answering: false`: the manager is there but does not answer (stopped or hung): `ok` is false */
  manager: { kind: "supervisor" | "systemd"; label: string; running: boolean; answering?: false };
  /** where listeners were read: ss, /proc or lsof */
  source: string;
  notes: string[];
  /** conflicts first, then warnings, then by port */
  ports: PortCheck[];
  groups: GroupFree[];
}

/** The live facts {@link checkPorts} judges. */
export interface LiveFacts extends OursFacts {
  /** managed and group-range ports → their listeners (an empty list = free) */
  listeners: Map<number, Listener[]>;
  /** `kind` for --json; `label` ("supervisord", "systemd") for messages */
  /** `answering: false`: the manager is there but does not answer (stopped or hung): `ok` is false */
  manager: { kind: "supervisor" | "systemd"; label: string; running: boolean; answering?: false };
  /** status by service name while the manager runs */
  programs: Map<string, ProgramStatus>;
  /** whether `pid` is a process of `program` (an instance's NAME or NAME@I, main PID `mainPid`): the backend decides */
  owns: (service: string, mainPid: number | undefined, pid: number) => boolean;
  source: string;
  notes: string[];
  /** services whose running program listens on other ports and not on its own: service → those ports */
  elsewhere?: Map<string, number[]>;
}

/** Every managed port: services (with a port, manifest order), externals, reserved ports. */
export function managedPorts(model: Model): ManagedPort[] {
  const ports: ManagedPort[] = [];
  for (const s of model.services)
    for (const i of s.instances)
      if (i.port !== undefined)
        ports.push({ port: i.port, kind: "service", name: s.name, group: s.group, enabled: s.enabled });
  for (const e of model.external) ports.push({ port: e.port, kind: "external", name: e.name, enabled: true });
  for (const [port, reason] of model.ports.reserved)
    ports.push({ port, kind: "reserved", name: reason, enabled: true });
  return ports;
}

/** The service whose program holds `pid` while the manager runs, if any. */
function programOf(model: Model, facts: LiveFacts, pid: number): { service: Service; main?: number } | undefined {
  if (!facts.manager.running) return undefined;
  for (const service of model.services)
    for (const { program } of service.instances) {
      const status = facts.programs.get(program);
      if (facts.owns(program, status?.pid, pid)) return { service, main: status?.pid };
    }
  return undefined;
}

function judge(model: Model, facts: LiveFacts, managed: ManagedPort, listener: Listener): Holder {
  const info = listener.processes.find((p) => p.pid === listener.pid);
  const base = {
    address: listener.address,
    family: listener.family,
    pid: listener.pid,
    pids: listener.pids,
    command: listener.command,
    user: listener.user,
    startTime: info?.startTime,
  };
  if (managed.kind === "external")
    return {
      ...base,
      owner: "external",
      reason: `declared external ${managed.name}: whatever listens here is taken to be it`,
    };
  if (listener.pid === undefined)
    return { ...base, owner: "foreign", reason: "a process this user cannot see (run as root to name it)" };
  const program = listener.pids.map((p) => programOf(model, facts, p)).find((p) => p !== undefined);
  if (program && managed.kind === "service" && program.service.name === managed.name) {
    return {
      ...base,
      owner: "service",
      reason: `in program ${program.service.name}${program.main ? ` (main PID ${program.main})` : ""}`,
    };
  }
  if (program)
    return {
      ...base,
      owner: "foreign",
      reason: `program ${program.service.name} of this project listens here: its port is ${program.service.port ?? "none"} (hardcoded port?)`,
    };
  if (managed.kind === "service" && info) {
    const evidence = leftoverEvidence(info, facts);
    if (evidence)
      return { ...base, owner: "stale", reason: `a leftover of this project's supervisord: ${evidence.reason}` };
  }
  return {
    ...base,
    owner: "foreign",
    reason: `not started by this project's ${facts.manager.label}`,
  };
}

const RANK: Record<Owner, number> = { foreign: 3, stale: 2, service: 1, external: 1, none: 0 };

/** A command line for one line of text: whitespace runs (newlines of `node -e` code) become one space, cut at 120 characters. */
export function oneLine(command: string, width = 120): string {
  const flat = command.replace(/\s+/g, " ").trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** "PID 4242 (python3 other.py, user bob) on 0.0.0.0" */
export function holderText(h: Pick<Holder, "pid" | "command" | "user" | "address">): string {
  if (h.pid === undefined) return `a process this user cannot see on ${h.address} (run as root to name it)`;
  return `PID ${h.pid} (${oneLine(h.command ?? "?")}${h.user ? `, user ${h.user}` : ""}) on ${h.address}`;
}

function verdict(model: Model, check: PortCheck, groups: Map<string, number | undefined>): void {
  const worst = check.holders.find((h) => h.owner === check.owner)!;
  const where =
    check.kind === "service" ? `port ${check.port} of ${check.name}` : `reserved port ${check.port} ("${check.name}")`;
  if (check.owner === "foreign") {
    const next = check.group ? groups.get(check.group) : undefined;
    check.problem = `${where} is held by ${holderText(worst)}, ${worst.reason}`;
    check.fix =
      `stop that process yourself, or deliberately: orchestrate recover --kill-foreign ${check.port}` +
      (check.kind === "service"
        ? `; or move ${check.name} to another port${next ? ` (next free in group ${check.group}: ${next})` : ""}`
        : "");
    check.conflict = check.kind === "service" && check.enabled;
  } else if (check.owner === "stale") {
    const service = model.services.find((s) => s.name === check.name);
    check.problem = `${where} is held by ${holderText(worst)}, ${worst.reason}`;
    check.fix = `orchestrate recover stops it (${service?.stopSignal ?? "TERM"}, then KILL after stopTimeout ${service?.stopTimeout ?? 10} s) and starts the fleet again`;
    check.conflict = check.enabled;
  }
}

/** Free ports per group: availablePorts minus every port something listens on. */
function freeByGroup(model: Model, held: Set<number>): GroupFree[] {
  return model.groups.map((g) => {
    const result: GroupFree = { group: g.name, free: 0, next: [], heldByOthers: [] };
    for (const port of availablePorts(model, g.name)) {
      if (held.has(port)) result.heldByOthers.push(port);
      else if (result.free++ < 5) result.next.push(port);
    }
    return result;
  });
}

/** Judges every managed port; see {@link CheckPortsReport}. */
export function checkPorts(model: Model, facts: LiveFacts): CheckPortsReport {
  const held = new Set([...facts.listeners].filter(([, ls]) => ls.length > 0).map(([p]) => p));
  const groups = freeByGroup(model, held);
  const nextFree = new Map(groups.map((g) => [g.group, g.next[0]]));
  const ports = managedPorts(model).map((managed): PortCheck => {
    const holders = (facts.listeners.get(managed.port) ?? []).map((l) => judge(model, facts, managed, l));
    const owner = holders.reduce<Owner>((worst, h) => (RANK[h.owner] > RANK[worst] ? h.owner : worst), "none");
    const check: PortCheck = {
      ...managed,
      state: holders.length ? "listening" : "free",
      owner,
      holders,
      conflict: false,
    };
    verdict(model, check, nextFree);
    const elsewhere = managed.kind === "service" ? facts.elsewhere?.get(managed.name) : undefined;
    if (elsewhere && !check.problem && check.owner === "none") {
      check.problem = `port ${managed.port} of ${managed.name} is free: ${managed.name} listens on ${elsewhere.join(", ")} instead, expected ${managed.port}: hardcoded port?`;
      check.fix = `make ${managed.name} read PORT from its environment (or pass {port} in its command), then "orchestrate restart ${managed.name}"; "orchestrate lint" finds the number in its code`;
      check.conflict = managed.enabled;
    }
    return check;
  });
  const rank = (c: PortCheck) => (c.conflict ? 0 : c.problem ? 1 : 2);
  ports.sort((a, b) => rank(a) - rank(b) || a.port - b.port);
  const conflicts = ports.filter((p) => p.conflict).length;
  return {
    ok: conflicts === 0 && facts.manager.answering !== false,
    conflicts,
    manager: facts.manager,
    source: facts.source,
    notes: facts.notes,
    ports,
    groups,
  };
}
