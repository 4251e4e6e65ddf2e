/**
 * Live port facts for check-ports, `validate --live` and recover: one listener scan (ss, /proc or lsof;
 * only the managed ports and the groups' ranges get their processes resolved), the processes above each
 * holder (parents, session leaders: what ./ours.ts needs), and the manager's program status. Then
 * ./check-ports.ts judges. Never starts or signals anything.
 */
import { createBackend, type BackendChoice } from "../backend";
import { notAnsweringMessage, type Backend, type ProgramStatus } from "../backend/types";
import { inspectListeners, type ListenerOptions, type ListenerReport, type RawSocket } from "../inspect/listeners";
import { listenersOf } from "../inspect/listeners-of";
import { listProcesses } from "../inspect/processes";
import { processInfos, type ProcessInfo } from "../inspect/processes";
import { ephemeralExposed, ephemeralRange, type EphemeralRange } from "../inspect/ephemeral";
import { formatRanges, mergeRanges } from "../model/port-ranges";
import type { Model } from "../model/types";
import { checkPorts, managedPorts, type CheckPortsReport, type LiveFacts } from "./check-ports";
import { commandIndex, ourServerUrl, type CommandOwner } from "./ours";

/** Options of {@link livePortFacts}. */
export interface LivePortsOptions {
  /** listener source; default auto (Linux ss → /proc, macOS lsof) */
  method?: ListenerOptions["method"];
  /** further models whose generated commands count as ours (recover passes the last good manifest's) */
  alsoModels?: Model[];
  /** PID of this project's manager that is gone (its former children keep it as session id) */
  formerManagerPid?: number;
}

/** Managed ports plus every port of every group's ranges (to find ports held by unmanaged processes). */
function portsToRead(model: Model): Set<number> {
  const ports = new Set(managedPorts(model).map((m) => m.port));
  for (const range of mergeRanges(model.groups.flatMap((g) => g.ranges)))
    for (let p = range.low; p <= range.high; p++) ports.add(p);
  return ports;
}

/**
 * The enabled services' ports (each instance's, in port order) that lie in the ephemeral `range` and are not
 * reserved from it (src/inspect/ephemeral.ts): an outgoing connection can take one just as its service binds.
 */
export function ephemeralServicePorts(model: Model, range: EphemeralRange): { port: number; service: string }[] {
  const ports = managedPorts(model).filter((m) => m.kind === "service" && m.enabled);
  const exposed = new Set(
    ephemeralExposed(
      ports.map((m) => m.port),
      range,
    ),
  );
  return ports
    .filter((m) => exposed.has(m.port))
    .map((m) => ({ port: m.port, service: m.name }))
    .sort((a, b) => a.port - b.port);
}

/**
 * A note when enabled services' ports lie in this host's ephemeral port range and are not reserved from it
 * (src/inspect/ephemeral.ts; `range` undefined: the host does not say): an outgoing connection can take such a
 * port just before its service binds.
 */
export function ephemeralNote(model: Model, range: EphemeralRange | undefined): string | undefined {
  if (!range) return undefined;
  const exposed = [...new Set(ephemeralServicePorts(model, range).map((p) => p.port))];
  if (!exposed.length) return undefined;
  const ranges = formatRanges(mergeRanges(exposed.map((p) => ({ low: p, high: p }))));
  return (
    `port${exposed.length === 1 ? "" : "s"} ${ranges} lie${exposed.length === 1 ? "s" : ""} in this host's ephemeral port range ${range.low}-${range.high} ` +
    `(net.ipv4.ip_local_port_range): an outgoing connection (a health check, a client) can hold one just as its service binds, which then fails with EADDRINUSE; ` +
    `reserve ${exposed.length === 1 ? "it" : "them"} (sysctl -w net.ipv4.ip_local_reserved_ports=${ranges.replace(/, /g, ",")}, kept in /etc/sysctl.d/) or move the services below ${range.low}`
  );
}

/** The manager's status of every program, or running false when it does not answer. */
async function managerStatus(
  model: Model,
  backend: Backend,
  notes: string[],
): Promise<{ running: boolean; answering: boolean; programs: Map<string, ProgramStatus> }> {
  const programs = new Map<string, ProgramStatus>();
  try {
    const reach = await backend.reachability();
    if (reach === "not answering") {
      notes.push(notAnsweringMessage(backend.label));
      return { running: false, answering: false, programs };
    }
    if (reach !== "running") return { running: false, answering: true, programs };
    for (const status of await backend.status(model.services.flatMap((s) => s.instances.map((i) => i.program))))
      programs.set(status.name, status);
    return { running: true, answering: true, programs };
  } catch (err) {
    notes.push((err as Error).message.split("\n")[0]);
    return { running: false, answering: true, programs };
  }
}

/**
 * The listeners on `ports`. Linux, method auto: /proc/net/tcp{,6} with holders resolved only for the
 * managed ports — first among the programs' own processes, then newest processes first (./listeners-of.ts)
 * — so no `ss` is spawned; the ports of the groups' ranges only need to be known as held. Otherwise (a forced
 * method, another OS) {@link inspectListeners}.
 */
async function readListeners(
  model: Model,
  backend: Backend,
  ports: Set<number>,
  programs: Map<string, ProgramStatus>,
  method: ListenerOptions["method"],
): Promise<ListenerReport> {
  if (process.platform !== "linux" || (method !== undefined && method !== "auto"))
    return inspectListeners({ method, ports });
  const managed = managedPorts(model).map((m) => m.port);
  const candidates: number[] = [];
  if (programs.size) {
    const table = await listProcesses();
    for (const { program } of model.services.flatMap((s) => s.instances)) {
      const main = programs.get(program)?.pid;
      if (main)
        for (const pid of table.keys()) if (backend.ownsProcess(program, main, pid, table)) candidates.push(pid);
    }
  }
  const all = await listenersOf(ports, candidates, { resolve: new Set(managed) });
  const listeners = all.filter((l) => ports.has(l.port));
  const others: RawSocket[] = all
    .filter((l) => !ports.has(l.port))
    .map((l) => ({ ...l, holders: l.pids.map((pid) => ({ pid })) }));
  const notes: string[] = [];
  const hidden = listeners.filter((l) => l.pids.length === 0 && managed.includes(l.port));
  if (hidden.length)
    notes.push(
      `no process visible for port${hidden.length === 1 ? "" : "s"} ${hidden.map((l) => l.port).join(", ")}: held by another user's process or another PID namespace; run as root to see which`,
    );
  return { listeners, source: "proc", notes, others };
}

/** Adds `pids`, their ancestors and their session leaders to `known` (batches of /proc reads, ≤ 64 levels). */
async function withAncestors(known: Map<number, ProcessInfo>, pids: number[]): Promise<void> {
  let frontier = pids.filter((p) => !known.has(p));
  for (let level = 0; frontier.length > 0 && level < 64; level++) {
    const found = await processInfos(frontier);
    const next = new Set<number>();
    for (const info of found.values()) {
      known.set(info.pid, info);
      for (const up of [info.ppid, info.sid]) if (up > 0 && !known.has(up) && !found.has(up)) next.add(up);
    }
    frontier = [...next].filter((p) => !frontier.includes(p));
  }
}

/**
 * Services whose running program does not hold its own port but listens on other ports (a hardcoded
 * port): service → those ports. Only such programs' processes are resolved, so a healthy fleet costs nothing.
 */
async function listeningElsewhere(
  model: Model,
  backend: Backend,
  programs: Map<string, ProgramStatus>,
  listeners: Map<number, { pids: number[] }[]>,
  others: RawSocket[],
  processes: Map<number, ProcessInfo>,
): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  // per instance: its program runs but nothing holds its own port
  const suspects = model.services.flatMap((s) =>
    s.instances
      .filter((i) => {
        const status = programs.get(i.program);
        if (!s.enabled || i.port === undefined || !status?.pid) return false;
        return !(listeners.get(i.port) ?? []).some((l) => l.pids.length > 0);
      })
      .map((i) => ({ service: s, instance: i })),
  );
  if (!suspects.length || !others.length) return found;
  await withAncestors(
    processes,
    others.flatMap((o) => o.holders.map((h) => h.pid)),
  );
  for (const { service, instance } of suspects) {
    const main = programs.get(instance.program)!.pid;
    const ports = others
      .filter((o) => o.holders.some((h) => backend.ownsProcess(instance.program, main, h.pid, processes)))
      .map((o) => o.port);
    // keyed by service (./check-ports.ts looks it up by the managed port's service name)
    if (ports.length)
      found.set(
        service.name,
        [...new Set([...(found.get(service.name) ?? []), ...ports])].sort((a, b) => a - b),
      );
  }
  return found;
}

/** Reads everything {@link checkPorts} needs for `model` under `backend`; see {@link LiveFacts}. */
export async function livePortFacts(
  model: Model,
  backend: Backend,
  options: LivePortsOptions = {},
): Promise<LiveFacts> {
  const notes: string[] = [];
  const ports = portsToRead(model);
  const manager = await managerStatus(model, backend, notes);
  const report = await readListeners(model, backend, ports, manager.programs, options.method);
  notes.unshift(...report.notes);
  const ephemeral = ephemeralNote(model, ephemeralRange());
  if (ephemeral) notes.push(ephemeral);
  const listeners = new Map<number, (typeof report.listeners)[number][]>();
  for (const port of ports) listeners.set(port, []);
  for (const l of report.listeners) listeners.get(l.port)?.push(l);
  const processes = new Map<number, ProcessInfo>();
  const managedSet = new Set(managedPorts(model).map((m) => m.port));
  const holders = report.listeners.filter((l) => managedSet.has(l.port));
  for (const l of holders) for (const p of l.processes) processes.set(p.pid, p);
  await withAncestors(
    processes,
    holders.flatMap((l) => [...l.pids, ...l.processes.flatMap((p) => [p.ppid, p.sid])]),
  );
  const elsewhere = await listeningElsewhere(
    model,
    backend,
    manager.programs,
    listeners,
    report.others ?? [],
    processes,
  );
  const former = options.formerManagerPid ?? backend.formerManagerPid();
  let commands: Map<string, CommandOwner[]> | undefined;
  return {
    listeners,
    manager: {
      kind: backend.kind,
      label: backend.label,
      running: manager.running,
      ...(manager.answering ? {} : { answering: false }),
    },
    programs: manager.programs,
    owns: (service, mainPid, pid) => backend.ownsProcess(service, mainPid, pid, processes),
    source: report.source,
    notes,
    elsewhere,
    serverUrl: ourServerUrl(model),
    // built on first use: only a process that may be a leftover of ours is judged by its command line
    get commands() {
      return (commands ??= commandIndex([model, ...(options.alsoModels ?? [])]));
    },
    processes,
    marks: new Map(),
    formerSupervisord: former,
  };
}

/**
 * check-ports end to end: read the live facts, judge every managed port. A private supervisord that does
 * not answer within 2 s counts as not running (a read must not hang on a stopped one).
 */
export async function inspectManagedPorts(
  model: Model,
  choice: BackendChoice,
  options: LivePortsOptions = {},
): Promise<CheckPortsReport> {
  const backend = createBackend(model, choice, { probeTimeoutMs: 2000 });
  try {
    return checkPorts(model, await livePortFacts(model, backend, options));
  } finally {
    backend.close();
  }
}
