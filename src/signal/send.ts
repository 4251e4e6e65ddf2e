/**
 * The one module that signals processes. A PID read earlier may name another process by now (PIDs are
 * reused), so every signal names its target as PID + start time (src/inspect/processes.ts `startTime`) and
 * is sent only while that PID still has that start time. kill(2): a negative PID reaches a process group.
 */
import { isAlive, processInfo } from "../inspect/processes";
import { kill, type SignalOutcome } from "./kill";

export { signalGroup, type SignalOutcome } from "./kill";

/** A process to signal: its PID and, when known, the start time it had when it was chosen. */
export interface SignalTarget {
  pid: number;
  /** /proc start time seen when chosen; undefined only for a child this process spawned and has not reaped */
  startTime?: number;
}

/**
 * Sends `signal` to `target`, or with `group` to the process group it leads (a member of another group gets
 * the signal alone) — only while the PID still has the start time recorded in `target`. Never throws.
 */
export async function signalProcess(
  target: SignalTarget,
  signal: NodeJS.Signals,
  options: { group?: boolean } = {},
): Promise<SignalOutcome> {
  if (!isAlive(target.pid, target.startTime)) return "gone";
  let pid = target.pid;
  if (options.group) {
    const info = await processInfo(target.pid);
    if (info?.pgid === target.pid) pid = -target.pid;
  }
  return kill(pid, signal);
}
