/**
 * Who listens where: every listening TCP socket (IPv4 and IPv6, wildcard and loopback) with the
 * processes holding it. Linux: `ss -ltnpHe` first, /proc/net/tcp{,6} + /proc/PID/fd when ss is missing,
 * fails or names no process at all; macOS: lsof. Each holder is resolved to command line and user.
 */
import { readLsof } from "./lsof";
import { readProcListeners, attachHolders } from "./proc-net";
import { processInfos, userName, type ProcessInfo } from "./processes";
import { readSs } from "./ss";

/** One listening socket as a source reported it, before processes are resolved (shared by the parsers). */
export interface RawSocket {
  /** "0.0.0.0", "::", "127.0.0.1", "::1", …: no brackets, no scope */
  address: string;
  port: number;
  family: 4 | 6;
  /** a `::` socket that also accepts IPv4 (IPV6_V6ONLY off); undefined when the source cannot tell (/proc) */
  dualStack?: boolean;
  /** device the socket is bound to (`127.0.0.53%lo` → "lo") */
  interface?: string;
  /** socket inode (ss -e, /proc); lsof gives none */
  inode?: number;
  /** uid owning the socket: known even when its process is not visible */
  uid?: number;
  /** user name when the source gives one (lsof `L`) */
  user?: string;
  /** processes holding the socket open; several for forked workers; empty when not visible */
  holders: { pid: number; name?: string; fd?: number }[];
}

/** Where a listener was read from. */
export type ListenerSource = "ss" | "proc" | "lsof";

/** A listening socket and who holds it. */
export interface Listener extends Omit<RawSocket, "holders"> {
  /** the main holder: the one whose parent is not itself a holder (the master of forked workers), else the lowest PID */
  pid?: number;
  /** every PID holding the socket, ascending; empty when not visible (another user's process and we are not root) */
  pids: number[];
  /** full command line of `pid` (argv joined with spaces); the short process name when it could not be read */
  command?: string;
  /** user of `pid`, else the owner of the socket */
  user?: string;
  /** the holders as read from /proc or ps at inspection time (startTime guards later signals against PID reuse) */
  processes: ProcessInfo[];
  source: ListenerSource;
}

/** Options of the listener readers: which source, which ports. */
export interface ListenerOptions {
  /** "auto" (default): Linux ss → /proc fallback, macOS lsof. The others force one source (tests, diagnosis). */
  method?: "auto" | ListenerSource;
  /** only these ports (cheaper: processes are resolved only for them) */
  ports?: Iterable<number>;
}

/** The listeners plus where they came from and anything the caller should tell the user. */
export interface ListenerReport {
  listeners: Listener[];
  source: ListenerSource;
  /** e.g. why ss was not used, or that some holders are invisible without root */
  notes: string[];
  /** with `ports`: the sockets on every other port, holders not resolved (who listens elsewhere) */
  others?: RawSocket[];
}

async function readRaw(
  method: ListenerOptions["method"],
  notes: string[],
): Promise<{ sockets: RawSocket[]; source: ListenerSource }> {
  const platform = process.platform;
  const chosen = method ?? "auto";
  if (chosen === "lsof" || (chosen === "auto" && platform !== "linux"))
    return { sockets: await readLsof(), source: "lsof" };
  if (platform !== "linux")
    throw new Error(
      `listeners: method "${chosen}" needs Linux (/proc, iproute2), found ${platform}; use method "lsof" or "auto"`,
    );
  if (chosen === "proc") return { sockets: readProcListeners().sockets, source: "proc" };
  const ss = await readSs();
  if (!ss.ok) {
    if (chosen === "ss") throw new Error(`listeners: ${ss.reason}; install iproute2 or use method "proc"`);
    notes.push(`${ss.reason}; read /proc/net/tcp{,6} instead`);
    return { sockets: readProcListeners().sockets, source: "proc" };
  }
  const withInode = ss.sockets.filter((s) => s.inode !== undefined);
  if (chosen === "auto" && withInode.length > 0 && ss.sockets.every((s) => s.holders.length === 0)) {
    // ss named no process at all (restricted ss, no sock_diag process info): map inodes ourselves
    attachHolders(withInode);
    notes.push("ss named no process; holders were read from /proc/PID/fd");
  }
  return { sockets: ss.sockets, source: "ss" };
}

function mainHolder(pids: number[], infos: Map<number, ProcessInfo>): number | undefined {
  const set = new Set(pids);
  const top = pids.filter((pid) => {
    const info = infos.get(pid);
    return !info || !set.has(info.ppid);
  });
  return (top.length > 0 ? top : pids)[0];
}

/** Reads the listening sockets and resolves their holders; see {@link ListenerReport}. Throws only for a forced method that cannot work. */
export async function inspectListeners(options: ListenerOptions = {}): Promise<ListenerReport> {
  const notes: string[] = [];
  const { sockets: all, source } = await readRaw(options.method, notes);
  const wanted = options.ports ? new Set(options.ports) : undefined;
  const sockets = wanted ? all.filter((s) => wanted.has(s.port)) : all;
  const infos = await processInfos(sockets.flatMap((s) => s.holders.map((h) => h.pid)));
  const listeners = sockets.map((raw): Listener => {
    const { holders, ...socket } = raw;
    const pids = [...new Set(holders.map((h) => h.pid))].sort((a, b) => a - b);
    const pid = mainHolder(pids, infos);
    const info = pid === undefined ? undefined : infos.get(pid);
    const name = holders.find((h) => h.pid === pid)?.name;
    return {
      ...socket,
      pid,
      pids,
      command: info?.command ?? name,
      user: info?.user ?? socket.user ?? (socket.uid === undefined ? undefined : userName(socket.uid)),
      processes: pids.map((p) => infos.get(p)).filter((p): p is ProcessInfo => p !== undefined),
      source,
    };
  });
  listeners.sort((a, b) => a.port - b.port || a.family - b.family || a.address.localeCompare(b.address));
  const hidden = listeners.filter((l) => l.pids.length === 0);
  if (hidden.length > 0) {
    const ports = hidden.map((l) => l.port).join(", ");
    const why =
      process.getuid?.() === 0
        ? "held by a process outside this PID namespace (another container or sandbox); inspect from the host"
        : "held by another user's process; run as root (sudo) to see which";
    notes.push(`no process visible for port${hidden.length === 1 ? "" : "s"} ${ports}: ${why}`);
  }
  return { listeners, source, notes, others: wanted ? all.filter((s) => !wanted.has(s.port)) : undefined };
}

/** Every listening TCP socket (or those on `options.ports`), sorted by port, family, address. */
export async function listListeners(options: ListenerOptions = {}): Promise<Listener[]> {
  return (await inspectListeners(options)).listeners;
}

/**
 * Listeners grouped by port. With `ports`, every requested port is a key (an empty list = free);
 * without, only ports something listens on.
 */
export async function listenersByPort(
  ports?: number[],
  options: Omit<ListenerOptions, "ports"> = {},
): Promise<Map<number, Listener[]>> {
  const byPort = new Map<number, Listener[]>();
  for (const port of ports ?? []) byPort.set(port, []);
  for (const listener of await listListeners({ ...options, ports })) {
    const list = byPort.get(listener.port);
    if (list) list.push(listener);
    else byPort.set(listener.port, [listener]);
  }
  return byPort;
}
