/**
 * verify: for every enabled service, the manager's state (RUNNING for longer than startsecs), its port
 * listening, the listener inside the program's own processes (a foreign listener is a failure, named),
 * health 2xx when set, and CPU/memory. One listener scan and one process table for the whole fleet.
 */
import type { Backend, LastExit, ProgramStatus } from "../backend/types";
import type { Listener } from "../inspect/listeners";
import { listenersOf } from "../inspect/listeners-of";
import { listProcesses } from "../inspect/processes";
import type { Model, Service } from "../model/types";
import { checkHealth, type HealthResult } from "./health";
import { describeHolder, portOwner, programPids, type PortOwner } from "./ownership";
import { processUsage, type Usage } from "./usage";
import { logTail as failureTail } from "./failure-tail";

/** The outcome of verifying one service. `problems` is empty exactly when `ok`. */
export interface ServiceCheck {
  name: string;
  port?: number;
  state: ProgramStatus["state"];
  pid?: number;
  uptimeSeconds?: number;
  /** automatic restarts since the fleet was started (supervisord: its log; systemd: NRestarts) */
  restarts?: number;
  /** the last exit of its process: code or signal, when, how long it had run */
  lastExit?: LastExit;
  owner?: PortOwner;
  health?: HealthResult;
  usage?: Usage;
  /** when it is FATAL, BACKOFF or EXITED: the last lines of its stdout and stderr in time order */
  logTail?: string;
  ok: boolean;
  problems: string[];
}

/** Options of {@link verifyServices}. */
export interface VerifyOptions {
  /** also measure CPU and memory (default true) */
  usage?: boolean;
  /** health request timeout in ms (default 2000) */
  healthTimeoutMs?: number;
}

/** States after which the program's own output says why: its failure tail is attached. */
const CRASHED = new Set(["FATAL", "BACKOFF", "EXITED"]);

/** Verifies `services` (enabled ones; disabled are skipped) against the backend. Never throws for a failed check. */
export async function verifyServices(
  model: Model,
  backend: Backend,
  services: Service[],
  options: VerifyOptions = {},
): Promise<ServiceCheck[]> {
  const enabled = services.filter((s) => s.enabled);
  const [statuses, table, history] = await Promise.all([
    backend.status(enabled.map((s) => s.name)),
    listProcesses(),
    backend.crashHistory(enabled.map((s) => s.name)),
  ]);
  const byName = new Map(statuses.map((s) => [s.name, s]));
  // only the managed ports' holders are resolved: first among the programs' own processes (no ss spawn)
  const candidates = new Set<number>();
  const pidsOf = new Map<string, Set<number>>();
  for (const service of enabled) {
    const pids = programPids(backend, service.name, byName.get(service.name)?.pid, table);
    pidsOf.set(service.name, pids);
    for (const p of pids) candidates.add(p);
  }
  const listeners = await listenersOf(
    enabled.flatMap((s) => (s.port === undefined ? [] : [s.port])),
    candidates,
  );
  const byPort = new Map<number, Listener[]>();
  for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  return Promise.all(
    enabled.map(async (service): Promise<ServiceCheck> => {
      const status = byName.get(service.name) ?? { name: service.name, state: "ABSENT" as const };
      const problems: string[] = [];
      const running = status.state === "RUNNING";
      if (!running) problems.push(describeState(status));
      else if (status.uptimeSeconds !== undefined && status.uptimeSeconds < service.startSecs)
        problems.push(`RUNNING for only ${status.uptimeSeconds} s, less than startsecs ${service.startSecs}`);
      // STARTING and STOPPING programs have a pid too: their own listener is not "foreign"
      const pids = pidsOf.get(service.name)!;
      let owner: PortOwner | undefined;
      if (service.port !== undefined) {
        owner = portOwner(byPort.get(service.port) ?? [], pids);
        if (owner.kind === "none") {
          const elsewhere = [...new Set(listeners.filter((l) => l.pids.some((p) => pids.has(p))).map((l) => l.port))];
          problems.push(
            elsewhere.length
              ? `nothing listens on port ${service.port}; ${service.name} listens on ${elsewhere.join(", ")} instead: hardcoded port? (read PORT from the environment)`
              : `nothing listens on port ${service.port}`,
          );
        }
        if (owner.kind === "foreign")
          problems.push(
            `port ${service.port} is held by ${describeHolder(owner)}, not by ${service.name}${running ? ` (pid ${status.pid})` : ""}`,
          );
      }
      let health: HealthResult | undefined;
      if (service.health && service.port !== undefined && owner?.kind === "service") {
        health = await checkHealth(
          { host: "127.0.0.1", port: service.port, path: service.health },
          options.healthTimeoutMs ?? 2000,
        );
        if (!health.ok)
          problems.push(
            health.status !== undefined
              ? `health ${service.health} answered ${health.status}, expected 2xx`
              : `health ${service.health} failed: ${health.error}`,
          );
      }
      const usage = options.usage === false || pids.size === 0 ? undefined : await processUsage(pids);
      const logTail = CRASHED.has(status.state) ? (await failureTail(backend, service)) || undefined : undefined;
      return {
        name: service.name,
        port: service.port,
        state: status.state,
        pid: status.pid,
        uptimeSeconds: status.uptimeSeconds,
        restarts: history.get(service.name)?.restarts ?? status.restarts ?? 0,
        lastExit: history.get(service.name)?.lastExit,
        owner,
        health,
        usage,
        logTail,
        ok: problems.length === 0,
        problems,
      };
    }),
  );
}

/** "FATAL (spawn error: …; exit status 1)" for a program that is not running. */
export function describeState(status: ProgramStatus): string {
  if (status.state === "ABSENT")
    return 'not known to the process manager (run "orchestrate restart" to apply the configuration)';
  const parts = [
    status.spawnError !== status.detail ? status.spawnError : undefined,
    status.exitStatus !== undefined && status.exitStatus !== 0 ? `exit status ${status.exitStatus}` : undefined,
  ].filter(Boolean);
  return `${status.state}${status.detail ? ` (${status.detail})` : ""}${parts.length ? `: ${parts.join("; ")}` : ""}`;
}
