/**
 * Listeners for verify, status and readiness without spawning `ss`: the managed ports' sockets from
 * /proc/net/tcp{,6}, their holders looked up first among the processes that should hold them (the
 * programs' own processes, a few fds each), and only for a socket none of them holds, among every process
 * (/proc/PID/fd of all). A healthy fleet thus costs two small file reads and the programs' fd folders;
 * the full scan is paid only when a port is held by someone else. Also returns every listening socket the
 * candidates hold on other ports (a program listening on another port than its own). Linux only: elsewhere
 * it is {@link listListeners}.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { listListeners, type Listener, type RawSocket } from "./listeners";
import { parseProcNetTcp, readListeningSection } from "./proc-net";
import { processInfos, userName, type ProcessInfo } from "./processes";

/** Socket inodes held by each of `pids` (its /proc/PID/fd links); unreadable or vanished PIDs are skipped. */
function socketsOf(pids: Iterable<number>): Map<number, { pid: number; fd: number }[]> {
  const byInode = new Map<number, { pid: number; fd: number }[]>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith("socket:[")) continue;
      const inode = Number(target.slice(8, -1));
      byInode.set(inode, [...(byInode.get(inode) ?? []), { pid, fd: Number(fd) }]);
    }
  }
  return byInode;
}

/** The parent PID of `pid` from /proc/PID/stat; undefined when gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Holders of `inodes` from /proc/PID/fd, newest processes (highest PIDs) first, stopping once every inode
 * has a holder: port holders are usually recent, system daemons old. A holder's parents that hold the same
 * socket (the master of forked workers) are added by walking up from it, so the main holder is still found.
 */
function scanNewestFirst(inodes: Set<number>): Map<number, { pid: number; fd: number }[]> {
  const found = new Map<number, { pid: number; fd: number }[]>();
  // each process's fd links and parent are read once, however many of its sockets are looked up
  const fdsOf = new Map<number, Map<number, { pid: number; fd: number }[]>>();
  const socketsOfOne = (pid: number) => {
    let sockets = fdsOf.get(pid);
    if (!sockets) fdsOf.set(pid, (sockets = socketsOf([pid])));
    return sockets;
  };
  const parents = new Map<number, number | undefined>();
  const parentOfOne = (pid: number) => {
    if (!parents.has(pid)) parents.set(pid, parentOf(pid));
    return parents.get(pid);
  };
  const pids = readdirSync("/proc")
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 0)
    .sort((a, b) => b - a);
  for (const pid of pids) {
    if (found.size === inodes.size) break;
    for (const [inode, list] of socketsOfOne(pid))
      if (inodes.has(inode)) found.set(inode, [...(found.get(inode) ?? []), ...list]);
  }
  for (const [inode, list] of found) {
    const seen = new Set(list.map((h) => h.pid));
    for (const h of [...list]) {
      for (let up = parentOfOne(h.pid); up && up > 1 && !seen.has(up); up = parentOfOne(up)) {
        const held = socketsOfOne(up).get(inode);
        if (!held) break;
        seen.add(up);
        list.push(...held);
      }
    }
  }
  return found;
}

/**
 * The listeners on `ports` (holders resolved; with `options.resolve`, only on those ports) plus every
 * listener held by one of `candidates`.
 * Same shape as {@link listListeners}; source "proc".
 */
export async function listenersOf(
  ports: Iterable<number>,
  candidates: Iterable<number>,
  options: { resolve?: Set<number> } = {},
): Promise<Listener[]> {
  if (process.platform !== "linux") return listListeners();
  let sockets: RawSocket[];
  try {
    sockets = parseProcNetTcp(readListeningSection("/proc/net/tcp"), 4);
    try {
      sockets.push(...parseProcNetTcp(readListeningSection("/proc/net/tcp6"), 6));
    } catch {
      /* IPv6 disabled */
    }
  } catch {
    return listListeners();
  }
  const wanted = new Set(ports);
  const held = socketsOf(candidates);
  const chosen = sockets.filter((s) => wanted.has(s.port) || (s.inode !== undefined && held.has(s.inode)));
  for (const s of chosen) s.holders = (s.inode !== undefined && held.get(s.inode)) || [];
  // without `resolve`, every socket on `ports`; with it, only those (the others are only known as held)
  const unresolved = chosen.filter(
    (s) => s.holders.length === 0 && s.inode && (!options.resolve || options.resolve.has(s.port)),
  );
  if (unresolved.length) {
    const holders = scanNewestFirst(new Set(unresolved.map((s) => s.inode!)));
    for (const s of unresolved) s.holders = holders.get(s.inode!) ?? [];
  }
  const infos = await processInfos(chosen.flatMap((s) => s.holders.map((h) => h.pid)));
  return chosen
    .map((raw): Listener => {
      const { holders, ...socket } = raw;
      const pids = [...new Set(holders.map((h) => h.pid))].sort((a, b) => a - b);
      const set = new Set(pids);
      const top = pids.filter((p) => !set.has(infos.get(p)?.ppid ?? -1));
      const pid = (top.length ? top : pids)[0];
      const info = pid === undefined ? undefined : infos.get(pid);
      return {
        ...socket,
        pid,
        pids,
        command: info?.command,
        user: info?.user ?? (socket.uid === undefined ? undefined : userName(socket.uid)),
        processes: pids.map((p) => infos.get(p)).filter((p): p is ProcessInfo => p !== undefined),
        source: "proc",
      };
    })
    .sort((a, b) => a.port - b.port || a.family - b.family || a.address.localeCompare(b.address));
}
