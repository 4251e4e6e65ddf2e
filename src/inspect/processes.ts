/**
 * Live process table: who a PID is, its parent, group, session, user and command line, and which process
 * tree it belongs to. Linux reads /proc (no process is spawned); macOS asks `ps` once per call.
 *
 * PID reuse: a PID read now may name a different process a moment later. Every {@link ProcessInfo} carries
 * `startTime`; callers that act on a PID later (signal it, report it as "ours") should pass the startTime
 * they saw to {@link isAlive} (and src/signal/), which then treat a different start time as "gone".
 * The tree walks ({@link descendants}, {@link inProgramTree}) ignore a parent link when the "child" started
 * before its "parent" — that parent PID was reused and is not the real parent.
 */
import { readFileSync, readdirSync } from "node:fs";
import { run } from "../exec/run";

/** One process as seen at one moment. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** process group id (`kill(-pgid)` reaches every member) */
  pgid: number;
  /** session id; 0 where the platform does not say (macOS) */
  sid: number;
  /** effective uid */
  uid: number;
  /** user name of `uid` (from /etc/passwd on Linux, `ps` on macOS); the uid as text when unknown */
  user: string;
  /** full command line, argv joined with single spaces; `[comm]` for kernel threads and zombies */
  command: string;
  /** one-letter state from /proc/PID/stat (R, S, D, Z, T, …); undefined on macOS */
  state?: string;
  /**
   * Opaque start stamp: the same PID with the same startTime is the same process. Linux: clock ticks
   * since boot (/proc/PID/stat field 22, usually 100 per second); macOS: seconds since the epoch.
   */
  startTime: number;
}

/** A snapshot of every process, by PID. Take one and pass it to the tree functions to avoid rescans. */
export type ProcessTable = Map<number, ProcessInfo>;

const isLinux = process.platform === "linux";

let passwd: Map<number, string> | undefined;

/** User name of `uid` from /etc/passwd (read once, cached); the uid as text when not listed (NSS/LDAP users). */
export function userName(uid: number): string {
  if (!passwd) {
    passwd = new Map();
    for (const line of (readText("/etc/passwd") ?? "").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== undefined && !passwd.has(Number(id))) passwd.set(Number(id), name);
    }
  }
  return passwd.get(uid) ?? String(uid);
}

/**
 * uid, gid and home folder of a user name from /etc/passwd; undefined when not listed there (an NSS/LDAP
 * user: then `id` would be needed, which this does not spawn).
 */
export function userIds(name: string): { uid: number; gid: number; home: string } | undefined {
  for (const line of (readText("/etc/passwd") ?? "").split("\n")) {
    const [user, , uid, gid, , home] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid), home: home ?? "/" };
  }
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Parses /proc/PID/stat; the comm field may hold spaces and parentheses, so split after the LAST ')'. */
export function parseStat(
  text: string,
): { comm: string; state: string; ppid: number; pgid: number; sid: number; startTime: number } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field N is rest[N - 3]
  const num = (field: number) => Number(rest[field - 3]);
  return {
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: num(4),
    pgid: num(5),
    sid: num(6),
    startTime: num(22),
  };
}

function linuxInfo(pid: number): ProcessInfo | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const parsed = stat === undefined ? undefined : parseStat(stat);
  if (!parsed) return undefined;
  const status = readText(`/proc/${pid}/status`) ?? "";
  const uidLine = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  const uid = uidLine ? Number(uidLine[2]) : -1;
  const cmdline = readText(`/proc/${pid}/cmdline`) ?? "";
  const argv = cmdline.split("\0");
  if (argv[argv.length - 1] === "") argv.pop();
  const command = argv.length > 0 ? argv.join(" ") : `[${parsed.comm}]`;
  return {
    pid,
    ppid: parsed.ppid,
    pgid: parsed.pgid,
    sid: parsed.sid,
    uid,
    user: uid < 0 ? "?" : userName(uid),
    command,
    state: parsed.state,
    startTime: parsed.startTime,
  };
}

/** macOS/BSD: one `ps` call for the given PIDs (or all). `lstart` is a fixed-width date. */
async function psInfo(pids?: number[]): Promise<ProcessInfo[]> {
  const args = ["-ww", "-o", "pid=,ppid=,pgid=,uid=,user=,lstart=,command="];
  const result = await run("ps", pids ? [...args, "-p", pids.join(",")] : ["-A", ...args]);
  const rows: ProcessInfo[] = [];
  for (const line of result.stdout.split("\n")) {
    // lstart looks like "Mon Nov 21 07:38:01 2025" (5 words)
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+\s+\S+\s+\d+\s+[\d:]+\s+\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const started = Date.parse(m[6]);
    rows.push({
      pid: +m[1],
      ppid: +m[2],
      pgid: +m[3],
      sid: 0,
      uid: +m[4],
      user: m[5],
      command: m[7],
      startTime: Number.isNaN(started) ? 0 : started / 1000,
    });
  }
  return rows;
}

/** The process `pid` now, or undefined when there is none (or it vanished while being read). */
export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (isLinux) return linuxInfo(pid);
  return (await psInfo([pid]))[0];
}

/** The start time of `pid` now (Linux /proc/PID/stat field 22), or undefined when there is no such process (or on macOS). */
export function startTimeOf(pid: number): number | undefined {
  if (!isLinux || !Number.isInteger(pid) || pid <= 0) return undefined;
  const stat = readText(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : parseStat(stat)?.startTime;
}

/** Several processes at once (one `ps` call on macOS); PIDs that do not exist are absent from the map. */
export async function processInfos(pids: Iterable<number>): Promise<Map<number, ProcessInfo>> {
  const wanted = [...new Set(pids)].filter((p) => Number.isInteger(p) && p > 0);
  const found = new Map<number, ProcessInfo>();
  if (wanted.length === 0) return found;
  const infos = isLinux ? wanted.map(linuxInfo) : await psInfo(wanted);
  for (const info of infos) if (info) found.set(info.pid, info);
  return found;
}

/** Every process, from one scan of /proc (Linux) or one `ps -A` (macOS). Processes that exit mid-scan are skipped. */
export async function listProcesses(): Promise<ProcessTable> {
  const table: ProcessTable = new Map();
  if (!isLinux) {
    for (const info of await psInfo()) table.set(info.pid, info);
    return table;
  }
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const info = linuxInfo(pid);
    if (info) table.set(pid, info);
  }
  return table;
}

/** true when `parent` really is `child`'s parent: a reused parent PID would be younger than the child. */
function plausibleParent(child: ProcessInfo, parent: ProcessInfo): boolean {
  return parent.startTime <= child.startTime;
}

/**
 * `rootPid` and every process below it (children, grandchildren, …) from ppid links. Includes the root
 * when it exists. Orphans re-parented to PID 1 or a subreaper are NOT found (their link is gone): use
 * the process group ({@link inProgramTree}) or {@link cgroupOf} for those.
 */
export async function descendants(rootPid: number, table?: ProcessTable): Promise<Set<number>> {
  const procs = table ?? (await listProcesses());
  const children = new Map<number, ProcessInfo[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const found = new Set<number>();
  const root = procs.get(rootPid);
  if (!root) return found;
  const queue: ProcessInfo[] = [root];
  found.add(rootPid);
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of children.get(parent.pid) ?? []) {
      if (found.has(child.pid) || !plausibleParent(child, parent)) continue;
      found.add(child.pid);
      queue.push(child);
    }
  }
  return found;
}

/**
 * true when `pid` belongs to the program whose main PID is `root`: it is `root`, below it (ppid links
 * with plausible start times, at most 64 levels), or in its process group (supervisord's stopasgroup and
 * killasgroup reach exactly the group; supervisord docs, "[program:x] Section Settings"). `processes`
 * must hold `pid` and its ancestors. Synchronous: it reads nothing.
 */
export function inProgramTree(pid: number, root: number, processes: Map<number, ProcessInfo>): boolean {
  let current = processes.get(pid);
  if (current?.pgid === root) return true;
  for (let hops = 0; current && hops < 64; hops++) {
    if (current.pid === root) return true;
    const parent = processes.get(current.ppid);
    if (!parent || !plausibleParent(current, parent)) return false;
    current = parent;
  }
  return false;
}

/**
 * true when `pid` exists and is not a zombie. With `startTime`, a process with another start time (PID
 * reused) counts as gone. A process of another user (EPERM) counts as alive.
 */
export function isAlive(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!isLinux) return true;
  const stat = readText(`/proc/${pid}/stat`);
  const parsed = stat === undefined ? undefined : parseStat(stat);
  if (!parsed) return false;
  if (parsed.state === "Z" || parsed.state === "X") return false;
  return startTime === undefined || parsed.startTime === startTime;
}

/**
 * The cgroup path of `pid` (Linux): the unified (v2, `0::`) entry, else the `name=systemd` one, e.g.
 * `/system.slice/recio-api.service`. undefined on macOS or when the process is gone.
 */
export function cgroupOf(pid: number): string | undefined {
  const text = readText(`/proc/${pid}/cgroup`);
  if (!text) return undefined;
  const lines = text.split("\n");
  const v2 = lines.find((l) => l.startsWith("0::"));
  const named = lines.find((l) => /^\d+:name=systemd:/.test(l));
  const line = v2 && v2 !== "0::/" ? v2 : (named ?? v2);
  return line?.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
}

/** The systemd unit (`NAME.service`) in a cgroup path, or undefined. */
export function systemdUnitOf(cgroupPath: string | undefined): string | undefined {
  const m = cgroupPath ? /\/([^/]+\.service)(?:\/|$)/.exec(cgroupPath) : null;
  return m?.[1];
}
