/**
 * Life cycle of the private supervisord: start it clean when it is not running (handling a stale socket
 * and pidfile), and shut it down — politely over XML-RPC, then TERM, then KILL for a hung one.
 * Behaviour relied on (docs/facts.md "supervisord: a program that binds a port"): `supervisord -c`
 * returns 0 once daemonized and 2 on a config error or a busy socket; `shutdown` answers at once and
 * the process exits ~3 s later; after `kill -9` its programs keep running.
 */
import { ensureDir, removeFile } from "../../write/atomic";
import { relative } from "node:path";
import { OperationError } from "../../errors";
import { run } from "../../exec/run";
import { baseEnvironment } from "../../model/environment";
import type { ProjectPaths } from "../../model/types";
import { SupervisorConnectionError, SupervisorFault, type SupervisorRpc } from "./client";
import { childrenOf, isAlive, isSupervisord, readPidfile, stopOrphans } from "./pids";
import { processInfo } from "../../inspect/processes";
import { pollUntil } from "../../signal/poll";
import { signalProcess } from "../../signal/send";
import { SupervisorStates } from "./states";
import { tailBytes } from "../../inspect/log-tail";

/** Timeouts (ms) and the executable used by {@link startDaemon} and {@link shutdownDaemon}. */
export interface DaemonOptions {
  /** supervisord executable, looked up on the clean PATH; default `supervisord`. */
  supervisordPath?: string;
  /**
   * Time supervisord may go without progress (no answer to `getState`, no new child) while it starts,
   * before it counts as failed; default 10000 (the whole wait is at most 20 times this).
   */
  startTimeoutMs?: number;
  /** Time one probe or `shutdown` call may take before supervisord counts as hung; default 2000. */
  probeTimeoutMs?: number;
  /** Time for supervisord to exit after `shutdown` (it stops every program first); default 30000. */
  exitTimeoutMs?: number;
  /** Time to wait after SIGTERM before SIGKILL (for supervisord and for programs it left); default 3000. */
  termTimeoutMs?: number;
}

/** What {@link shutdownDaemon} did. */
export interface ShutdownReport {
  /** Whether a supervisord was found (answering, or alive by its pidfile). */
  wasRunning: boolean;
  pid?: number;
  /** The strongest means used: `rpc` (it shut down when asked), `TERM` or `KILL`. */
  escalation: "none" | "rpc" | "TERM" | "KILL";
  /** PIDs of programs left behind by a killed supervisord that were then stopped (TERM, then KILL). */
  orphansStopped: number[];
}

const defaults = { startTimeoutMs: 10_000, probeTimeoutMs: 2000, exitTimeoutMs: 30_000, termTimeoutMs: 3000 };

/** Project-relative form of a path for messages, e.g. `run/supervisord.sock`. */
function shown(paths: ProjectPaths, path: string): string {
  return relative(paths.root, path) || path;
}

/** The last `lines` lines (from the last 8 KiB) of logs/supervisord.log, or a note that it is missing. */
export function supervisordLogTail(paths: ProjectPaths, lines = 10): string {
  try {
    const text = tailBytes(paths.supervisordLog, 8192).trimEnd();
    return text ? text.split("\n").slice(-lines).join("\n") : "(empty)";
  } catch {
    return `(no ${shown(paths, paths.supervisordLog)})`;
  }
}

/**
 * The pid in run/supervisord.pid when it is a live supervisord started with units/supervisord.conf
 * (as {@link startDaemon} starts it); undefined for a missing or stale pidfile.
 */
export function livePid(paths: ProjectPaths): number | undefined {
  const pid = readPidfile(paths.pidfile);
  return pid !== undefined && isAlive(pid) && isSupervisord(pid, paths.supervisordConf) ? pid : undefined;
}

/** getState with a short timeout: the statecode, or the connection error that prevented an answer. */
async function probe(rpc: SupervisorRpc, timeoutMs: number): Promise<number | SupervisorConnectionError> {
  try {
    const state = await rpc.request<{ statecode: number }>("supervisor.getState", [], { timeoutMs });
    return state.statecode;
  } catch (err) {
    if (err instanceof SupervisorConnectionError) return err;
    throw err;
  }
}

/**
 * Polls getState with backoff until supervisord reports RUNNING. The limit is on the time WITHOUT progress,
 * not a fixed total: while supervisord answers (any state) or its set of children changes (it is still
 * spawning programs — a first start of hundreds of programs keeps its loop busy for longer than one probe),
 * the wait goes on; it ends after `timeoutMs` with neither, or after 20 × `timeoutMs` in all.
 * @throws OperationError with the log tail.
 */
async function waitReady(paths: ProjectPaths, rpc: SupervisorRpc, timeoutMs: number, probeMs: number): Promise<void> {
  let last = "no answer yet";
  const started = performance.now();
  let progressAt = started;
  let children = "";
  let stalled = false;
  const ready = await pollUntil(
    async () => {
      const state = await probe(rpc, probeMs);
      if (state === SupervisorStates.RUNNING) return true;
      const now = performance.now();
      if (typeof state === "number") {
        last = `state code ${state}`;
        progressAt = now;
      } else last = state.detail;
      const pid = livePid(paths);
      if (pid !== undefined) {
        const seen = (await childrenOf(pid)).map((c) => c.pid).join(",");
        if (seen !== children) {
          children = seen;
          progressAt = now;
        }
      }
      stalled = now - progressAt > timeoutMs;
      return stalled;
    },
    timeoutMs * 20,
    { maxDelayMs: 250 },
  );
  if (!ready || stalled) {
    throw new OperationError(
      `supervisord did not answer on ${shown(paths, paths.socket)} and made no progress (no answer, no program started) for ${timeoutMs / 1000} s (last: ${last}); ` +
        `last lines of ${shown(paths, paths.supervisordLog)}:\n${supervisordLogTail(paths)}`,
      `check ${shown(paths, paths.supervisordConf)} with \`supervisord -n -c ${paths.supervisordConf}\``,
    );
  }
}

/**
 * Starts the private supervisord unless it already answers: `supervisord -c units/supervisord.conf` with
 * exactly {@link baseEnvironment} (its programs inherit it) in the project root, then waits until
 * `getState` says RUNNING. Removes a stale pidfile (pid dead or not supervisord) and a stale socket first.
 * @returns `started: false` when it was already running.
 * @throws OperationError when supervisord exits non-zero, does not become ready within `startTimeoutMs`
 *   (message includes the tail of logs/supervisord.log), or is alive but not answering (hung: recover).
 */
export async function startDaemon(
  paths: ProjectPaths,
  rpc: SupervisorRpc,
  options: DaemonOptions = {},
): Promise<{ started: boolean }> {
  const o = { ...defaults, ...options };
  let state = await probe(rpc, o.probeTimeoutMs);
  if (state === SupervisorStates.SHUTDOWN) {
    // A shutdown is under way: let that process finish before starting a new one.
    const pid = livePid(paths);
    if (pid !== undefined) await pollUntil(() => !isAlive(pid), o.exitTimeoutMs);
    state = await probe(rpc, o.probeTimeoutMs);
  }
  if (typeof state === "number") {
    if (state !== SupervisorStates.RUNNING) await waitReady(paths, rpc, o.startTimeoutMs, o.probeTimeoutMs);
    return { started: false };
  }
  const pid = livePid(paths);
  if (state.reason === "timeout" || state.reason === "other" || pid !== undefined) {
    // Alive with no socket yet: perhaps launched a moment ago by another orchestrate, so wait for it.
    const launching = state.reason !== "timeout" && pid !== undefined;
    if (
      launching &&
      (await pollUntil(async () => (await probe(rpc, o.probeTimeoutMs)) === SupervisorStates.RUNNING, o.startTimeoutMs))
    ) {
      return { started: false };
    }
    throw new OperationError(
      `supervisord${pid ? ` (pid ${pid})` : ""} does not answer on ${shown(paths, paths.socket)}: ${state.detail}`,
      "it may be hung or stopped; `orchestrate recover` shuts it down (TERM, then KILL) and stops what it left running",
    );
  }
  removeFile(paths.pidfile);
  removeFile(paths.socket);
  ensureDir(paths.run, 0o700);
  ensureDir(paths.logs);
  const result = await run(o.supervisordPath ?? "supervisord", ["-c", paths.supervisordConf], {
    env: baseEnvironment(),
    cwd: paths.root,
    timeoutMs: o.startTimeoutMs,
  });
  if (result.exitCode !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim();
    throw new OperationError(
      `\`${result.command}\` ${result.failedToStart ? "could not be started" : `exited with ${result.exitCode ?? result.signal}`}` +
        `${output ? `: ${output}` : ""}; last lines of ${shown(paths, paths.supervisordLog)}:\n${supervisordLogTail(paths)}`,
      result.failedToStart
        ? "install supervisor (`apt-get install supervisor` or `pip install supervisor`)"
        : `exit 2 means a config error or a busy socket: check ${shown(paths, paths.supervisordConf)}`,
    );
  }
  await waitReady(paths, rpc, o.startTimeoutMs, o.probeTimeoutMs);
  return { started: true };
}

/**
 * Shuts the private supervisord down and waits until its process is gone: `supervisor.shutdown` over
 * RPC (it stops every program, then exits), then SIGTERM, then SIGKILL when it does not answer within
 * `probeTimeoutMs` or exit within `exitTimeoutMs` — the way out of a hung (e.g. SIGSTOPped) supervisord.
 * After a KILL, the programs it leaves running are stopped by process group. A stale socket and pidfile
 * are removed. Never throws for "not running".
 * @throws OperationError when supervisord does not answer and no pidfile says which process it is, or
 *   when even SIGKILL does not end it.
 */
export async function shutdownDaemon(
  paths: ProjectPaths,
  rpc: SupervisorRpc,
  options: DaemonOptions = {},
): Promise<ShutdownReport> {
  const o = { ...defaults, ...options };
  const pid = livePid(paths);
  let answered = false;
  let failure: SupervisorConnectionError | undefined;
  try {
    await rpc.request("supervisor.shutdown", [], { timeoutMs: o.probeTimeoutMs });
    answered = true;
  } catch (err) {
    if (err instanceof SupervisorFault)
      answered = true; // SHUTDOWN_STATE: a shutdown is already under way
    else if (err instanceof SupervisorConnectionError) failure = err;
    else throw err;
  }
  if (!answered && pid === undefined && failure?.reason === "timeout") {
    throw new OperationError(
      `supervisord does not answer on ${shown(paths, paths.socket)} (${failure.detail}) and ${shown(paths, paths.pidfile)} ` +
        "names no live supervisord: cannot tell which process to stop",
      `find the process with \`ss -xlp | grep ${paths.socket}\` and stop it`,
    );
  }
  const report: ShutdownReport = {
    wasRunning: answered || pid !== undefined,
    pid,
    escalation: answered ? "rpc" : "none",
    orphansStopped: [],
  };
  if (pid === undefined) {
    // No pidfile to watch: wait until the socket stops answering.
    if (answered)
      await pollUntil(async () => typeof (await probe(rpc, o.probeTimeoutMs)) !== "number", o.exitTimeoutMs);
  } else if (!answered || !(await pollUntil(() => !isAlive(pid), o.exitTimeoutMs))) {
    const children = await childrenOf(pid);
    const daemon = { pid, startTime: (await processInfo(pid))?.startTime };
    await signalProcess(daemon, "SIGTERM");
    report.escalation = "TERM";
    if (!(await pollUntil(() => !isAlive(pid), o.termTimeoutMs))) {
      await signalProcess(daemon, "SIGKILL");
      report.escalation = "KILL";
      if (!(await pollUntil(() => !isAlive(pid), o.termTimeoutMs))) {
        throw new OperationError(
          `supervisord (pid ${pid}) is still alive after SIGKILL`,
          "check `ps -o pid,stat,cmd -p " + pid + "`",
        );
      }
      report.orphansStopped = await stopOrphans(
        children.filter((c) => isAlive(c.pid)),
        o.termTimeoutMs,
      );
    }
  }
  rpc.close();
  if (livePid(paths) === undefined) removeFile(paths.pidfile);
  if (typeof (await probe(rpc, o.probeTimeoutMs)) !== "number") removeFile(paths.socket);
  return report;
}
