/**
 * The emergency stop of this project's supervisord (recover step 1): stop this project's supervisord whatever state it is in, and say what was found and
 * done. Asked first (RPC `supervisor.shutdown`: it stops its programs with their stop signals and
 * stopwaitsecs); when it does not answer or exit in time, the PID from run/supervisord.pid — only when
 * that PID still runs supervisord with units/supervisord.conf — gets TERM (plus CONT when it is stopped,
 * e.g. by SIGSTOP, so it can act on the TERM), then KILL. A stale socket and pidfile are removed.
 *
 * Unlike shutdownDaemon (src/backend/supervisord/daemon.ts) this does not stop the programs a killed
 * supervisord leaves behind with one flat timeout: it records them (PID + start time) and leaves them to
 * step 2, which gives each its own stopSignal and stopTimeout and reports each PID. It also plans
 * without acting (--dry-run).
 */
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { SupervisorConnectionError, SupervisorFault, SupervisorRpc } from "./client";
import { livePid } from "./daemon";
import { isAlive, readPidfile } from "./pids";
import { pollUntil } from "../../signal/poll";
import { signalProcess } from "../../signal/send";
import { listProcesses, type ProcessInfo } from "../../inspect/processes";
import type { ProjectPaths } from "../../model/types";
import { removeFile } from "../../write/atomic";
/** Where the stop reports what it finds: a step of the procedure that called it (src/progress/steps.ts). */
export interface StopReport {
  detail(line: string): void;
}

/** Timeouts of step 1, in ms. */
export interface DaemonStopTimeouts {
  /** one getState / shutdown call; no answer within it = hung (default 2000) */
  probeMs?: number;
  /** supervisord's own shutdown (it stops every program, one priority group after another; default 60000) */
  exitMs?: number;
  /** after TERM before KILL (default 5000) */
  termMs?: number;
}

/** What step 1 found and did. */
export interface DaemonStopResult {
  /** PID of the live supervisord, if there was one */
  pid?: number;
  answered: boolean;
  escalation: "none" | "rpc" | "TERM" | "KILL";
  /** its children seen alive before it was stopped: PID → startTime (the "observed" rule of src/live-ports/ours.ts) */
  children: Map<number, number>;
  /** descendants still under it (dry run: supervisord's own shutdown would stop these) */
  programs: ProcessInfo[];
}

async function answers(rpc: SupervisorRpc, timeoutMs: number): Promise<boolean> {
  try {
    await rpc.request("supervisor.getState", [], { timeoutMs });
    return true;
  } catch (err) {
    if (err instanceof SupervisorConnectionError) return false;
    return err instanceof SupervisorFault; // a fault is an answer (e.g. SHUTDOWN_STATE)
  }
}

/** Stops (or, with `dryRun`, plans to stop) the private supervisord; writes one detail line per finding and action. */
export async function stopSupervisord(
  paths: ProjectPaths,
  step: StopReport,
  options: { dryRun: boolean; timeouts?: DaemonStopTimeouts },
): Promise<DaemonStopResult> {
  const t = { probeMs: 2000, exitMs: 60_000, termMs: 5000, ...options.timeouts };
  const show = (p: string) => relative(paths.root, p);
  const rpc = new SupervisorRpc({ socketPath: paths.socket, timeoutMs: t.probeMs });
  const result: DaemonStopResult = { answered: false, escalation: "none", children: new Map(), programs: [] };
  try {
    const pidfilePid = readPidfile(paths.pidfile);
    const pid = livePid(paths);
    result.pid = pid;
    result.answered = existsSync(paths.socket) && (await answers(rpc, t.probeMs));
    const table = await listProcesses();
    const state = pid === undefined ? undefined : table.get(pid)?.state;
    if (pid !== undefined) {
      for (const p of table.values()) if (p.ppid === pid) result.children.set(p.pid, p.startTime);
      result.programs = [...table.values()].filter((p) => p.ppid === pid);
      step.detail(
        `found supervisord PID ${pid} (${show(paths.pidfile)}), ${result.answered ? `answering on ${show(paths.socket)}` : `NOT answering on ${show(paths.socket)} within ${t.probeMs} ms${state === "T" ? " — it is stopped (state T, e.g. SIGSTOP)" : ""}`}; ${result.programs.length} program process${result.programs.length === 1 ? "" : "es"}: ${result.programs.map((p) => p.pid).join(", ") || "none"}`,
      );
    } else if (result.answered) {
      step.detail(
        `a supervisord answers on ${show(paths.socket)} but ${show(paths.pidfile)} names no live supervisord of units/supervisord.conf`,
      );
    } else {
      step.detail(
        `no supervisord running for this project${pidfilePid !== undefined ? ` (${show(paths.pidfile)} names PID ${pidfilePid}, which is ${isAlive(pidfilePid) ? "another program" : "gone"})` : ""}`,
      );
    }

    if (options.dryRun) {
      if (result.answered)
        step.detail(
          `would ask it to shut down (RPC supervisor.shutdown: it stops its programs), then TERM/KILL if it has not exited within ${t.exitMs / 1000} s`,
        );
      else if (pid !== undefined)
        step.detail(
          `would send TERM${state === "T" ? " and CONT" : ""} to PID ${pid}, then KILL after ${t.termMs / 1000} s; its programs are left to step 2`,
        );
      if (pidfilePid !== undefined && pid === undefined) step.detail(`would remove the stale ${show(paths.pidfile)}`);
      if (existsSync(paths.socket) && !result.answered) step.detail(`would remove the stale ${show(paths.socket)}`);
      return result;
    }

    if (result.answered) {
      try {
        await rpc.request("supervisor.shutdown", [], { timeoutMs: t.probeMs });
        result.escalation = "rpc";
        step.detail("asked it to shut down (RPC supervisor.shutdown)");
      } catch (err) {
        step.detail(`RPC shutdown failed: ${(err as Error).message}`);
      }
      const exited =
        pid === undefined
          ? await pollUntil(async () => !(await answers(rpc, t.probeMs)), t.exitMs)
          : await pollUntil(() => !isAlive(pid), t.exitMs);
      if (exited) step.detail("it stopped its programs and exited");
      else step.detail(`it did not exit within ${t.exitMs / 1000} s`);
    }
    const daemon = pid === undefined ? undefined : { pid, startTime: table.get(pid)?.startTime };
    if (daemon !== undefined && pid !== undefined && isAlive(pid)) {
      await signalProcess(daemon, "SIGTERM");
      if (state === "T") await signalProcess(daemon, "SIGCONT");
      result.escalation = "TERM";
      step.detail(`sent TERM${state === "T" ? " + CONT" : ""} to PID ${pid}`);
      if (!(await pollUntil(() => !isAlive(pid), t.termMs))) {
        await signalProcess(daemon, "SIGKILL");
        result.escalation = "KILL";
        const gone = await pollUntil(() => !isAlive(pid), t.termMs);
        step.detail(
          gone
            ? `it ignored TERM for ${t.termMs / 1000} s: killed with KILL`
            : `PID ${pid} is still alive after KILL (check \`ps -o pid,stat,cmd -p ${pid}\`)`,
        );
        if (!gone) throw new Error(`supervisord PID ${pid} survived SIGKILL`);
      } else step.detail(`PID ${pid} exited after TERM`);
    }
    rpc.close();
    if (existsSync(paths.pidfile) && livePid(paths) === undefined) {
      removeFile(paths.pidfile);
      step.detail(`removed the stale ${show(paths.pidfile)}`);
    }
    if (existsSync(paths.socket) && !(await answers(rpc, t.probeMs))) {
      removeFile(paths.socket);
      step.detail(`removed the stale ${show(paths.socket)}`);
    }
    return result;
  } finally {
    rpc.close();
  }
}
