/**
 * kill(2), the only call of `process.kill` that sends a signal (src/inspect/processes.ts probes with
 * signal 0). A negative PID reaches a whole process group. Imports nothing, so the spawning module can use it.
 */

/** How sending went: sent; gone (no such process); not permitted (another user's process). */
export type SignalOutcome = "sent" | "gone" | "not permitted";

/** `kill(pid, signal)`; never throws. Prefer src/signal/send.ts signalProcess, which guards against PID reuse. */
export function kill(pid: number, signal: NodeJS.Signals): SignalOutcome {
  try {
    process.kill(pid, signal);
    return "sent";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "not permitted" : "gone";
  }
}

/**
 * Sends `signal` to the process group `pgid` (kill(-pgid)): for a group whose leader this process spawned
 * itself and has not reaped (its PID cannot have been reused), or whose leader is gone while members are left.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): SignalOutcome {
  return kill(-pgid, signal);
}
