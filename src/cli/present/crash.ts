/** Crash history cells of the status and verify tables: restarts and the last exit. */
import type { LastExit } from "../../backend/types";

/** "3 s", "4 min", "2 h", "5 d": a coarse duration for table cells. */
export function ago(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** "exit 1, 12 s ago after 0 s" / "SIGKILL, 3 min ago after 2 h" / "-" when it never exited. */
export function lastExitCell(exit: LastExit | undefined, nowMs = Date.now()): string {
  if (!exit) return "-";
  const how = exit.signal ?? (exit.code !== undefined ? `exit ${exit.code}` : "exited");
  const ran = exit.ranSeconds !== undefined ? ` after ${ago(exit.ranSeconds)}` : "";
  return `${how}${exit.requested ? " (stop)" : ""}, ${ago((nowMs - exit.at) / 1000)} ago${ran}`;
}
