/**
 * Readiness of one started program, polled without fixed sleeps: the manager's state must not be a
 * failure (FATAL, BACKOFF, EXITED, STOPPED), the port must accept connections, and the health path must
 * answer 2xx when set; a worker without a port is ready once RUNNING (after startsecs). Each instance of a
 * service is waited for on its own port; a oneshot is "ready" when its run exited with an expected code.
 *
 * It fails fast: it stops waiting the moment the outcome is known — the program exited, went BACKOFF
 * (supervisord: it exited before startsecs, "[program:x] Section Settings", startsecs) or FATAL, or its
 * process tree listens on another port than its own (a hardcoded port: it will never bind the right one).
 */
import type { Backend, ProgramStatus } from "../backend/types";
import { acceptsConnections } from "../inspect/port-probe";
import type { Instance, Service } from "../model/types";
import { checkHealth } from "../verify/health";
import { describeState } from "../verify/verify";
import { listListeners, type Listener } from "../inspect/listeners";
import { listProcesses, type ProcessTable } from "../inspect/processes";
import { describeHolder, portOwner, programPids } from "../verify/ownership";
import { logTail } from "../verify/failure-tail";

export { logTail };

/** Outcome of {@link waitReady} for one instance of a service. */
export interface Readiness {
  /** how commands name the instance: NAME, or NAME:I with `instances` */
  name: string;
  /** the service it is an instance of */
  service: string;
  /** the instance's program (NAME or NAME@I), as backends take it */
  program: string;
  /** the instance's port, when it has one */
  port?: number;
  ok: boolean;
  /** ms from the call to ready (or to giving up) */
  ms: number;
  /** the manager's last status of it */
  status?: ProgramStatus;
  /** why it is not ready: the state, "port 8001 not accepting connections after 15 s", an unhealthy answer */
  reason?: string;
  /** the last lines of the program's logs when it failed */
  logTail?: string;
}

const FAILED = new Set(["FATAL", "BACKOFF", "EXITED", "STOPPED", "ABSENT"]);
/** How long the program's tree must listen elsewhere (and not on its port) before readiness gives up, ms:
 *  a program may open an admin port a moment before its own. */
const ELSEWHERE_GRACE_MS = 1000;
/** How often the process tree's listeners are looked at while the port does not answer, ms. */
const ELSEWHERE_EVERY_MS = 250;

/**
 * Polls until `instance` of `service` (default instance 0) is ready or `service.readyTimeout` (s) passes.
 * A oneshot is ready once its run EXITED with a code in `exitCodes` (supervisord `exitcodes`; systemd
 * `SuccessExitStatus=`), and failed when it exited with another code. Never throws.
 */
export async function waitReady(
  backend: Backend,
  service: Service,
  options: { timeoutMs?: number; instance?: Instance } = {},
): Promise<Readiness> {
  const instance = options.instance ?? service.instances[0];
  const program = instance.program;
  const port = instance.port;
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? service.readyTimeout * 1000;
  const elapsed = () => performance.now() - started;
  const base = { name: instance.label, service: service.name, program, port };
  let pause = 10;
  let status: ProgramStatus | undefined;
  let reason = "";
  let foreign: string | undefined;
  let lastForeign: string | undefined;
  let elsewhere: number[] = [];
  let elsewhereSince: number | undefined;
  let elsewhereAt = 0;
  for (;;) {
    foreign = undefined;
    [status] = await backend.status([program]);
    if (service.type === "oneshot" && status?.state === "EXITED") {
      if (service.exitCodes.includes(status.exitStatus ?? 0)) return { ...base, ok: true, ms: elapsed(), status };
      return {
        ...base,
        ok: false,
        ms: elapsed(),
        status,
        reason: `oneshot exited with code ${status.exitStatus ?? "?"}, expected ${service.exitCodes.join(" or ")} (exitCodes)`,
        logTail: await logTail(backend, instance),
      };
    }
    // a program just asked to start may still show STOPPED (supervisord's next tick, a queued systemd job)
    if (
      status &&
      FAILED.has(status.state) &&
      elapsed() > (status.state === "STOPPED" || status.state === "ABSENT" ? 1000 : 50)
    ) {
      const holder = lastForeign ? `; port ${port} is held by ${lastForeign}` : "";
      return {
        ...base,
        ok: false,
        ms: elapsed(),
        status,
        reason: (service.type === "oneshot" ? "oneshot failed: " : "") + describeState(status) + holder,
        logTail: await logTail(backend, instance),
      };
    }
    if (service.type === "oneshot") {
      reason = `${status?.state ?? "unknown"}: the oneshot has not exited yet`;
    } else if (port === undefined) {
      if (status?.state === "RUNNING") return { ...base, ok: true, ms: elapsed(), status };
      reason = `${status?.state ?? "unknown"}: not RUNNING yet (startsecs ${service.startSecs})`;
    } else if (
      ((await acceptsConnections(port, "127.0.0.1", 500)) || (await acceptsConnections(port, "::1", 500))) &&
      !(foreign = await foreignHolder(backend, program, port, status))
    ) {
      if (!service.health) return { ...base, ok: true, ms: elapsed(), status };
      const health = await checkHealth({ host: "127.0.0.1", port, path: service.health }, 2000);
      if (health.ok) return { ...base, ok: true, ms: elapsed(), status };
      reason =
        health.status !== undefined
          ? `health ${service.health} answered ${health.status}, expected 2xx`
          : `health ${service.health}: ${health.error}`;
    } else if (foreign) {
      lastForeign = foreign;
      // the port answers, but not from this program (it cannot bind: BACKOFF, then FATAL)
      reason = `port ${port} answers, but from ${foreign}, not ${instance.label} (${status?.state ?? "unknown"}): another process holds the port ("orchestrate check-ports" names it)`;
    } else {
      reason = `port ${port} not accepting connections (state ${status?.state ?? "unknown"}${status?.spawnError ? `: ${status.spawnError}` : ""})`;
      if (status?.pid && elapsed() - elsewhereAt >= ELSEWHERE_EVERY_MS) {
        elsewhereAt = elapsed();
        elsewhere = await listensElsewhere(backend, program, port, status);
        if (!elsewhere.length) elsewhereSince = undefined;
        else elsewhereSince ??= elapsed();
      }
      if (elsewhereSince !== undefined && elapsed() - elsewhereSince >= ELSEWHERE_GRACE_MS)
        return {
          ...base,
          ok: false,
          ms: elapsed(),
          status,
          reason: `listens on ${elsewhere.join(", ")}, expected ${port}: hardcoded port? (read PORT from the environment)`,
          logTail: await logTail(backend, instance),
        };
    }
    if (elapsed() >= timeoutMs) {
      return {
        ...base,
        ok: false,
        ms: elapsed(),
        status,
        reason: `${reason} after ${Math.round(timeoutMs / 1000)} s (readyTimeout)`,
        logTail: await logTail(backend, instance),
      };
    }
    await new Promise((r) => setTimeout(r, Math.min(pause, timeoutMs - elapsed())));
    pause = Math.min(pause * 1.5, 200);
  }
}

/**
 * One listener + process snapshot shared by every service checking at the same moment (one scan for 30). On
 * Linux it is read from /proc (src/inspect/proc-net.ts: the listening hash only, then the fd links), not by
 * spawning ss: readiness polls this while the fleet starts, and a spawn costs more than the read.
 */
let snapshot: Promise<{ listeners: Listener[]; table: ProcessTable }> | undefined;

function sharedSnapshot(): Promise<{ listeners: Listener[]; table: ProcessTable }> {
  snapshot ??= Promise.all([listListeners({ method: process.platform === "linux" ? "proc" : "auto" }), listProcesses()])
    .then(([listeners, table]) => ({ listeners, table }))
    .finally(() => (snapshot = undefined));
  return snapshot;
}

/** Ports the program's processes listen on other than its own (empty when none, or when it holds its own). */
async function listensElsewhere(
  backend: Backend,
  program: string,
  port: number,
  status: ProgramStatus,
): Promise<number[]> {
  const { listeners, table } = await sharedSnapshot();
  const ours = programPids(backend, program, status.pid, table);
  const ports = listeners.filter((l) => l.pids.some((p) => ours.has(p))).map((l) => l.port);
  return ports.includes(port) ? [] : [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * Who answers on the instance's port when it is not the program itself: "PID 4242 (cmd, user …)", or
 * undefined when the listener is inside the program's processes (or cannot be seen at all).
 */
async function foreignHolder(
  backend: Backend,
  program: string,
  port: number,
  status: ProgramStatus | undefined,
): Promise<string | undefined> {
  const { listeners, table } = await sharedSnapshot();
  const onPort = listeners.filter((l) => l.port === port);
  if (!onPort.length || onPort.every((l) => l.pids.length === 0)) return undefined; // not visible: do not guess
  const ours = programPids(backend, program, status?.pid, table);
  const owner = portOwner(onPort, ours);
  return owner.kind === "foreign" ? describeHolder(owner) : undefined;
}

/**
 * Waits until none of `services` is still starting: supervisord says RUNNING only once startsecs have
 * passed, and verify requires RUNNING for at least startSecs, so a service that is ready (port, health)
 * sooner would fail the verify that follows restart. Bounded by the longest startSecs + 2 s; never throws
 * (a program that fails meanwhile is named by verify).
 */
export async function waitStarted(backend: Backend, services: Service[]): Promise<void> {
  // a oneshot is never RUNNING for long; an instance's program is what the manager reports
  const bySeconds = new Map(
    services.filter((s) => s.type !== "oneshot").flatMap((s) => s.instances.map((i) => [i.program, s.startSecs])),
  );
  if (!bySeconds.size) return;
  const deadline = performance.now() + Math.max(...bySeconds.values()) * 1000 + 2000;
  const starting = (s: ProgramStatus) =>
    s.state === "STARTING" ||
    (s.state === "RUNNING" && s.uptimeSeconds !== undefined && s.uptimeSeconds < (bySeconds.get(s.name) ?? 0));
  let pause = 50;
  while (performance.now() < deadline) {
    if (!(await backend.status([...bySeconds.keys()])).some(starting)) return;
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(pause, deadline - performance.now()))));
    pause = Math.min(pause * 1.5, 50); // supervisord flips to RUNNING on its own ~1 s tick: poll often
  }
}
