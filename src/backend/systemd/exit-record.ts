/**
 * The exits a unit recorded itself (src/render/systemd/units.ts exitRecordLines): run/exits/PROGRAM.log, one
 * line per exit of the main process — `AT_MS SERVICE_RESULT EXIT_CODE EXIT_STATUS STARTED_MS` — from
 * ExecStopPost='s environment (systemd.exec(5), "Environment Variables in Spawned Processes": $SERVICE_RESULT
 * is "success", "exit-code", "signal", "core-dump", "timeout", …; $EXIT_CODE "exited", "killed" or "dumped";
 * $EXIT_STATUS the exit status, or the signal's name without "SIG"). It survives an automatic restart, which
 * `systemctl show` does not: ExecMain* describe only the current process.
 */
import { tailBytes } from "../../inspect/log-tail";
import type { LastExit } from "../types";

/** How much of the end of the record is read: the last line is all that is needed (bytes). */
const TAIL_BYTES = 4096;

/**
 * Parses one record line.
 * @returns the exit, or undefined for a line that is not a record (empty, cut, from another version)
 */
export function parseExitLine(line: string): LastExit | undefined {
  const [at, result, exitCode, exitStatus, started] = line.trim().split(/\s+/);
  const when = Number(at);
  if (!Number.isFinite(when) || when <= 0 || !result || !exitCode || exitStatus === undefined) return undefined;
  const byItself = exitCode === "exited";
  const code = byItself ? Number(exitStatus) : undefined;
  if (byItself && !Number.isInteger(code)) return undefined;
  const since = Number(started);
  return {
    at: when,
    ...(byItself ? { code } : { signal: /^\d+$/.test(exitStatus) ? `signal ${exitStatus}` : `SIG${exitStatus}` }),
    ...(Number.isFinite(since) && since > 0 && since <= when ? { ranSeconds: (when - since) / 1000 } : {}),
    expected: result === "success",
  };
}

/** The last exit recorded in `file`, or undefined when there is none (no file yet, nothing parseable). */
export function lastRecordedExit(file: string): LastExit | undefined {
  let tail: string;
  try {
    tail = tailBytes(file, TAIL_BYTES);
  } catch {
    return undefined;
  }
  const lines = tail.split("\n").filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const exit = parseExitLine(lines[i]);
    if (exit) return exit;
  }
  return undefined;
}
