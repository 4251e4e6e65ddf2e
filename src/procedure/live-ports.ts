/**
 * Live port facts for check-ports, `validate --live` and recover: one listener scan (ss, /proc or lsof;
 * only the managed ports and the groups' ranges get their processes resolved), the processes above each
 * holder (parents, session leaders: what ./ours.ts needs), and the manager's program status. Then
 * ./check-ports.ts judges. Never starts or signals anything.
 */
import { existsSync } from "node:fs";
import { isAlive, readPidfile } from "../backend/supervisord/pids";
import { SupervisordBackend } from "../backend/supervisord/backend";
import { createBackend } from "../backend";
import type { Backend, ProgramStatus } from "../backend/types";
import type { Problem } from "../errors";
import { projectFromSource } from "../manifest";
import type { ManifestSource } from "../manifest/load";
import { inspectListeners, type ListenerOptions } from "../inspect/listeners";
import { cgroupOf, processInfos, systemdUnitOf, type ProcessInfo } from "../inspect/processes";
import { mergeRanges } from "../model/port-ranges";
import type { Model } from "../model/types";
import { unitName } from "../render/systemd";
import { checkPorts, managedPorts, type CheckPortsReport, type LiveFacts } from "./check-ports";
import { commandIndex, ourServerUrl } from "./ours";

/** Options of {@link livePortFacts}. */
export interface LivePortsOptions {
  /** process manager of the project (the CLI's --backend); default supervisor */
  backendKind?: "supervisor" | "systemd";
  /** listener source; default auto (Linux ss → /proc, macOS lsof) */
  method?: ListenerOptions["method"];
  /** further models whose generated commands count as ours (recover passes the last good manifest's) */
  alsoModels?: Model[];
  /** ms to wait for supervisord's answer before counting it as not running; default 2000 */
  probeTimeoutMs?: number;
}

/** Managed ports plus every port of every group's ranges (to find ports held by unmanaged processes). */
function portsToRead(model: Model): Set<number> {
  const ports = new Set(managedPorts(model).map((m) => m.port));
  for (const range of mergeRanges(model.groups.flatMap((g) => g.ranges)))
    for (let p = range.low; p <= range.high; p++) ports.add(p);
  return ports;
}

/** The manager's status of every program, or running false when it does not answer. */
async function managerStatus(
  model: Model,
  kind: "supervisor" | "systemd",
  probeTimeoutMs: number,
  notes: string[],
): Promise<{ running: boolean; programs: Map<string, ProgramStatus> }> {
  const programs = new Map<string, ProgramStatus>();
  let backend: Backend | undefined;
  try {
    if (kind === "supervisor") {
      if (!existsSync(model.paths.socket)) return { running: false, programs };
      backend = new SupervisordBackend(model.paths, { rpcTimeoutMs: probeTimeoutMs, probeTimeoutMs });
    } else backend = createBackend(model, { kind });
    for (const status of await backend.status(model.services.map((s) => s.name))) programs.set(status.name, status);
    return { running: true, programs };
  } catch (err) {
    if (kind === "systemd" || existsSync(model.paths.socket)) notes.push((err as Error).message.split("\n")[0]);
    return { running: false, programs };
  } finally {
    if (backend instanceof SupervisordBackend) backend.rpc.close();
  }
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

/** Reads everything {@link checkPorts} needs for `model`; see {@link LiveFacts}. */
export async function livePortFacts(model: Model, options: LivePortsOptions = {}): Promise<LiveFacts> {
  const kind = options.backendKind ?? "supervisor";
  const notes: string[] = [];
  const ports = portsToRead(model);
  const [report, manager] = await Promise.all([
    inspectListeners({ method: options.method, ports }),
    managerStatus(model, kind, options.probeTimeoutMs ?? 2000, notes),
  ]);
  notes.unshift(...report.notes);
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
  const pidfilePid = readPidfile(model.paths.pidfile);
  const facts: LiveFacts = {
    listeners,
    manager: { kind, running: manager.running },
    programs: manager.programs,
    source: report.source,
    notes,
    serverUrl: ourServerUrl(model),
    commands: commandIndex([model, ...(options.alsoModels ?? [])]),
    processes,
    marks: new Map(),
    formerSupervisord: pidfilePid !== undefined && !isAlive(pidfilePid) ? pidfilePid : undefined,
  };
  if (kind === "systemd") {
    facts.unitOf = (s) => unitName(model, s);
    facts.units = new Map();
    for (const pid of holders.flatMap((l) => l.pids)) {
      const unit = systemdUnitOf(cgroupOf(pid));
      if (unit) facts.units.set(pid, unit);
    }
  }
  return facts;
}

/** check-ports end to end: read the live facts, judge every managed port. */
export async function inspectManagedPorts(model: Model, options: LivePortsOptions = {}): Promise<CheckPortsReport> {
  return checkPorts(model, await livePortFacts(model, options));
}

/**
 * The live problems `validate --live` adds, as manifest-style {@link Problem}s: an error for each
 * conflict (a foreign or stale holder of an enabled service's port), a warning for a foreign holder of
 * a reserved port or of a disabled service's port.
 */
export function liveProblems(report: CheckPortsReport): Problem[] {
  return report.ports
    .filter((p) => p.problem)
    .map(
      (p): Problem => ({
        severity: p.conflict ? "error" : "warning",
        path:
          p.kind === "service"
            ? `services.${p.name}.port`
            : p.kind === "reserved"
              ? `ports.reserved.${p.port}`
              : `external.${p.name}.port`,
        service: p.kind === "service" ? p.name : undefined,
        field: "port",
        value: p.port,
        message: `live: ${p.problem}`,
        fix: p.fix,
      }),
    );
}

/**
 * `validate --live`: the live port problems of an already-validated manifest source (see
 * {@link liveProblems}). Errors here mean "the manifest is valid, but the host disagrees": the validate
 * command exits 1 for them, not 2.
 * @throws ManifestError when `source` is not valid (call it only after validation passed).
 */
export async function liveProblemsFor(
  source: ManifestSource,
  backendKind: "supervisor" | "systemd" = "supervisor",
): Promise<Problem[]> {
  const { model } = projectFromSource(source);
  return liveProblems(await inspectManagedPorts(model, { backendKind }));
}
