/**
 * verify: for every instance of every enabled service, the manager's state (RUNNING for longer than
 * startsecs), its own port listening, the listener inside that instance's own processes (a foreign
 * listener is a failure, named), health 2xx when set, and CPU/memory. A oneshot passes when its last run
 * exited with a code in exitCodes (no port, no health); a service with `autostart: false` that is not
 * running passes as stopped by design ("manual"). One listener scan and one process table for the fleet.
 */
import { ourServerUrl, supervisorMark } from "../live-ports/ours";
import type { Backend, LastExit, ProgramStatus } from "../backend/types";
import type { Listener } from "../inspect/listeners";
import { listenersOf } from "../inspect/listeners-of";
import { listProcesses } from "../inspect/processes";
import type { Model, Service } from "../model/types";
import { checkHealth, type HealthResult } from "./health";
import { describeHolder, portOwner, programPids, type PortOwner } from "./ownership";
import { processUsage, type Usage } from "./usage";
import { logTail as failureTail } from "./failure-tail";

/** The outcome of verifying one instance of a service. `problems` is empty exactly when `ok`. */
export interface ServiceCheck {
  /** how commands name the instance: NAME, or NAME:I with `instances` */
  name: string;
  /** the service (manifest name) */
  service: string;
  /** the instance index (0 for a service without `instances`) */
  instance: number;
  /** the instance's program as the backend takes it: NAME or NAME@I */
  program: string;
  /** "oneshot": checked on its last run's exit code */
  type: Service["type"];
  /** `autostart: false` and not running: stopped by design, not a failure */
  manual?: boolean;
  port?: number;
  state: ProgramStatus["state"];
  pid?: number;
  uptimeSeconds?: number;
  /** exit code of the last run (a oneshot's result), when the manager reports one */
  exitStatus?: number;
  /** automatic restarts since the fleet was started (supervisord: its log; systemd: NRestarts) */
  restarts?: number;
  /** the last exit of its process: code or signal, when, how long it had run */
  lastExit?: LastExit;
  owner?: PortOwner;
  health?: HealthResult;
  usage?: Usage;
  /** a failed oneshot's last log lines; a FATAL, BACKOFF or EXITED program's last lines of stdout and stderr in time order */
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
  /** only these programs (NAME or NAME@I); default every instance */
  programs?: Set<string>;
}

/** States after which the program's own output says why: its failure tail is attached. */
const CRASHED = new Set(["FATAL", "BACKOFF", "EXITED"]);

/**
 * Verifies every instance of `services` (enabled ones; disabled are skipped) against the backend, or only
 * the instances whose program is in `options.programs`. Never throws for a failed check.
 */
export async function verifyServices(
  model: Model,
  backend: Backend,
  services: Service[],
  options: VerifyOptions = {},
): Promise<ServiceCheck[]> {
  const enabled = services
    .filter((s) => s.enabled)
    .flatMap((service) =>
      service.instances
        .filter((i) => !options.programs || options.programs.has(i.program))
        .map((instance) => ({ service, instance })),
    );
  const programs = enabled.map((t) => t.instance.program);
  const [statuses, table, history] = await Promise.all([
    backend.status(programs),
    listProcesses(),
    backend.crashHistory(programs),
  ]);
  const byName = new Map(statuses.map((s) => [s.name, s]));
  // only the managed ports' holders are resolved: first among the programs' own processes (no ss spawn)
  const candidates = new Set<number>();
  const pidsOf = new Map<string, Set<number>>();
  for (const { instance } of enabled) {
    const pids = programPids(backend, instance.program, byName.get(instance.program)?.pid, table);
    pidsOf.set(instance.program, pids);
    for (const p of pids) candidates.add(p);
  }
  const listeners = await listenersOf(
    enabled.flatMap(({ instance }) => (instance.port === undefined ? [] : [instance.port])),
    candidates,
  );
  const byPort = new Map<number, Listener[]>();
  for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
  return Promise.all(
    enabled.map(async ({ service, instance }): Promise<ServiceCheck> => {
      const program = instance.program;
      const port = instance.port;
      const status = byName.get(program) ?? { name: program, state: "ABSENT" as const };
      const base = {
        name: instance.label,
        service: service.name,
        instance: instance.index,
        program,
        type: service.type,
        port,
        state: status.state,
        pid: status.pid,
        uptimeSeconds: status.uptimeSeconds,
        exitStatus: status.exitStatus,
        restarts: history.get(program)?.restarts ?? status.restarts ?? 0,
        lastExit: history.get(program)?.lastExit,
      };
      const problems: string[] = [];
      const running = status.state === "RUNNING";
      // started only by "orchestrate start": not running is its normal state (a oneshot that ran is checked below)
      if (!service.autostart && status.state === "STOPPED") return { ...base, manual: true, ok: true, problems };
      if (service.type === "oneshot") return verifyOneshot(backend, service, status, base);
      if (!running) problems.push(describeStopped(service, instance.label, status));
      else if (status.uptimeSeconds !== undefined && status.uptimeSeconds < service.startSecs)
        problems.push(`RUNNING for only ${status.uptimeSeconds} s, less than startsecs ${service.startSecs}`);
      // STARTING and STOPPING programs have a pid too: their own listener is not "foreign"
      const pids = pidsOf.get(program)!;
      let owner: PortOwner | undefined;
      if (port !== undefined) {
        owner = portOwner(byPort.get(port) ?? [], pids);
        if (owner.kind === "none") {
          const elsewhere = [...new Set(listeners.filter((l) => l.pids.some((p) => pids.has(p))).map((l) => l.port))];
          problems.push(
            elsewhere.length
              ? `nothing listens on port ${port}; ${instance.label} listens on ${elsewhere.join(", ")} instead: hardcoded port? (read PORT from the environment)`
              : `nothing listens on port ${port}`,
          );
        }
        // one wording with check-ports: a leftover of this project's supervisord is "stale" (src/live-ports/ours.ts rule 1)
        if (owner.kind === "foreign" && owner.pid && supervisorMark(owner.pid)?.serverUrl === ourServerUrl(model))
          owner = { ...owner, stale: true };
        if (owner.kind === "foreign")
          problems.push(
            owner.stale
              ? `port ${port} is held by a stale leftover of this project's supervisord, ${describeHolder(owner)}, not by ${instance.label}${running ? ` (pid ${status.pid})` : ""}: "orchestrate recover" stops it`
              : `port ${port} is held by ${describeHolder(owner)}, not by ${instance.label}${running ? ` (pid ${status.pid})` : ""}`,
          );
      }
      let health: HealthResult | undefined;
      if (service.health && port !== undefined && owner?.kind === "service") {
        health = await checkHealth({ host: "127.0.0.1", port, path: service.health }, options.healthTimeoutMs ?? 2000);
        if (!health.ok)
          problems.push(
            health.status !== undefined
              ? `health ${service.health} answered ${health.status}, expected 2xx`
              : `health ${service.health} failed: ${health.error}`,
          );
      }
      const usage = options.usage === false || pids.size === 0 ? undefined : await processUsage(pids);
      const logTail = CRASHED.has(status.state) ? (await failureTail(backend, instance)) || undefined : undefined;
      return { ...base, owner, health, usage, logTail, ok: problems.length === 0, problems };
    }),
  );
}

/**
 * A oneshot passes when its last run EXITED with a code in exitCodes (supervisord EXITED; systemd
 * "active (exited)", Result success); otherwise the problem names the state, the exit code and the log tail.
 */
async function verifyOneshot(
  backend: Backend,
  service: Service,
  status: ProgramStatus,
  base: Omit<ServiceCheck, "ok" | "problems">,
): Promise<ServiceCheck> {
  if (status.state === "EXITED" && service.exitCodes.includes(status.exitStatus ?? 0))
    return { ...base, ok: true, problems: [] };
  const problem =
    status.state === "EXITED" || (status.state === "FATAL" && status.exitStatus !== undefined)
      ? `oneshot's last run exited with code ${status.exitStatus ?? "?"}, expected ${service.exitCodes.join(" or ")} (exitCodes)`
      : status.state === "RUNNING" || status.state === "STARTING"
        ? "oneshot is still running: its run has not finished"
        : status.state === "STOPPED"
          ? 'oneshot has not run (STOPPED): "orchestrate restart" or "orchestrate start" runs it'
          : `oneshot failed: ${describeState(status)}`;
  const logTail = await lastLines(backend, base.program);
  return {
    ...base,
    logTail,
    ok: false,
    problems: [logTail ? `${problem}; last lines of its log:\n${logTail.replace(/^/gm, "    | ")}` : problem],
  };
}

/** The last lines of a program's stderr, else stdout log (empty when neither can be read). */
async function lastLines(backend: Backend, program: string, lines = 8): Promise<string> {
  for (const stream of ["stderr", "stdout"] as const) {
    try {
      const text = (await backend.tailLog(program, stream, 2000)).trimEnd();
      if (text) return text.split("\n").slice(-lines).join("\n");
    } catch {
      /* the other stream */
    }
  }
  return "";
}

/**
 * What a service (not a oneshot) that is not running is, and for one that EXITED on its own whether its
 * restart policy starts it again: `restart: "never"` never does, `"on-failure"` not after an exit code in
 * `exitCodes` (supervisord docs, [program:x] `autorestart` unexpected and `exitcodes`; systemd.service(5),
 * `Restart=on-failure`, `SuccessExitStatus=`). `label` is how the user names it (NAME or NAME:I).
 * Otherwise (restart "always", an unexpected code: the manager is starting it again) {@link describeState}.
 */
export function describeStopped(service: Service, label: string, status: ProgramStatus): string {
  if (status.state !== "EXITED" || service.restart === "always") return describeState(status);
  const code = status.exitStatus ?? 0;
  const expected = service.exitCodes.includes(code);
  if (service.restart === "on-failure" && !expected) return describeState(status);
  const codes = `exitCodes ${service.exitCodes.join(", ")}`;
  return (
    `${status.state}${status.detail ? ` (${status.detail})` : ""}: exited on its own with code ${code}, ` +
    `${expected ? "an expected" : "not an expected"} exit code (${codes}): restart "${service.restart}" ` +
    `does not start it again ("orchestrate start ${label}" runs it again)`
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
