/**
 * Daemons a test-start caused. A program that daemonizes (fork, setsid(2), fork again, the parents exit —
 * the classic recipe of W. R. Stevens, "Advanced Programming in the UNIX Environment" §13.3) leaves its
 * process tree: the grandchild is re-parented to init or a subreaper and leads a session of its own, so
 * neither the child's process group nor its descendants reach it. supervisord needs programs in the
 * foreground ("Subprocess … must not daemonize", supervisord docs, "Nondaemonizing of Subprocesses") and so
 * does systemd's Type=exec (systemd.service(5)).
 *
 * Such a process is provably the test-start's own (src/live-ports/ours.ts, rule 1 in spirit): it started
 * at or after the test-start's child, it runs as the user the child ran as, and its environment has the
 * SERVICE_NAME and PORT test-start gave the child — and no SUPERVISOR_SERVER_URL (no supervisord started
 * it). A copy of the same program started earlier by hand fails "started at or after" and is never touched.
 */
import { listProcesses, type ProcessInfo } from "../inspect/processes";
import { supervisorMark } from "../live-ports/ours";
import { sleep, waitForExit } from "../signal/poll";
import { signalProcess } from "../signal/send";

/** Who test-start started: the child's start time and the SERVICE_NAME/PORT/uid it gave the child. */
export interface LaunchIdentity {
  /** /proc start time (clock ticks) of the test-start child */
  startTime: number;
  /** PID of the child itself (never counted as a daemon) */
  pid: number;
  serviceName: string;
  /** PORT as given, or undefined for a worker */
  port?: number;
  /** uid the child runs as */
  uid: number;
}

/** Processes that are daemons of `launch`, from one scan of the process table (zombies excluded). */
export async function findDaemons(launch: LaunchIdentity): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const info of (await listProcesses()).values()) {
    if (info.pid === launch.pid || info.startTime < launch.startTime || info.uid !== launch.uid) continue;
    if (info.state === "Z") continue;
    const mark = supervisorMark(info.pid);
    if (!mark || mark.serverUrl !== undefined || mark.serviceName !== launch.serviceName) continue;
    if (mark.port !== (launch.port === undefined ? undefined : String(launch.port))) continue;
    found.push(info);
  }
  return found;
}

/**
 * Stops every daemon of `launch` (SIGTERM, then SIGKILL after `stopTimeoutMs`, each guarded by PID and
 * start time) until two scans 100 ms apart find none (an intermediate child may fork once more while
 * being stopped). Returns the daemons it stopped, in the order found; [] when the program stayed in the
 * foreground. Never throws.
 */
export async function stopDaemons(launch: LaunchIdentity, stopTimeoutMs: number): Promise<ProcessInfo[]> {
  const stopped = new Map<number, ProcessInfo>();
  let quiet = 0;
  for (let round = 0; round < 50 && quiet < 2; round++) {
    const daemons = (await findDaemons(launch)).filter(
      (d) => !stopped.has(d.pid) || stopped.get(d.pid)!.startTime !== d.startTime,
    );
    if (!daemons.length) {
      quiet++;
      await sleep(100);
      continue;
    }
    quiet = 0;
    for (const d of daemons) {
      stopped.set(d.pid, d);
      await signalProcess(d, "SIGTERM");
    }
    for (const d of daemons) {
      if (!(await waitForExit(d.pid, stopTimeoutMs, d.startTime))) await signalProcess(d, "SIGKILL");
    }
    for (const d of daemons) await waitForExit(d.pid, 2000, d.startTime);
  }
  return [...stopped.values()];
}
