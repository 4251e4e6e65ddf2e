/**
 * Who a program's processes are, and whether the listener on its port is one of them. Which processes
 * belong to a program is the backend's to say ({@link Backend.ownsProcess}).
 */
import type { Backend } from "../backend/types";
import type { ProcessTable } from "../inspect/processes";
import type { Listener } from "../inspect/listeners";

/** The PIDs of `table` that belong to the running program of `service` (main PID `mainPid`). */
export function programPids(
  backend: Pick<Backend, "ownsProcess">,
  service: string,
  mainPid: number | undefined,
  table: ProcessTable,
): Set<number> {
  const pids = new Set<number>();
  for (const pid of table.keys()) if (backend.ownsProcess(service, mainPid, pid, table)) pids.add(pid);
  return pids;
}

/** The verdict on one port: held by the program, by someone else, or by nobody. */
export type PortOwner =
  | { kind: "service"; pid: number }
  | {
      kind: "foreign";
      pid?: number;
      command?: string;
      user?: string;
      address: string;
      /** a leftover of this project's supervisord (its SUPERVISOR_SERVER_URL): "stale", as check-ports says */
      stale?: true;
    }
  | { kind: "none" };

/** Decides who holds `listeners` (all on one port) relative to the program's PIDs. */
export function portOwner(listeners: Listener[], programPids: Set<number>): PortOwner {
  for (const l of listeners) {
    const ours = l.pids.find((p) => programPids.has(p));
    if (ours !== undefined) return { kind: "service", pid: ours };
  }
  const other = listeners[0];
  if (!other) return { kind: "none" };
  return { kind: "foreign", pid: other.pid, command: other.command, user: other.user, address: other.address };
}

/** "PID 4242 (python3 other.py, user bob)" or "an invisible process" when the PID cannot be read. */
export function describeHolder(owner: { pid?: number; command?: string; user?: string }): string {
  if (!owner.pid) return "a process this user cannot see (run as root to name it)";
  return `PID ${owner.pid} (${owner.command ?? "?"}${owner.user ? `, user ${owner.user}` : ""})`;
}
