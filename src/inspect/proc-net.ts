/**
 * Listening TCP sockets without spawning anything (Linux): /proc/net/tcp and /proc/net/tcp6 give address,
 * port, owner uid and inode of each LISTEN socket; a scan of /proc/PID/fd symlinks (`socket:[INODE]`)
 * maps inodes to the processes holding them. Other users' fd folders are unreadable without root: those
 * sockets keep their uid but get no PID (ss has the same limit, it reads the same links).
 */
import { closeSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import type { RawSocket } from "./listeners";

/** TCP state code of LISTEN in /proc/net/tcp (include/net/tcp_states.h: TCP_LISTEN = 10). */
const LISTEN = "0A";

/** TCP state code of SYN_RECV: open requests, listed inside the listening section by kernels before 4.4. */
const SYN_RECV = "03";

/** Bytes per read(2) of {@link readListeningSection}: about 100 rows of /proc/net/tcp6 (150 bytes each). */
const CHUNK = 16 * 1024;

/**
 * The head of /proc/net/tcp or /proc/net/tcp6 up to its listening section's end. The kernel prints the
 * listening hash first, then the established hash (ESTABLISHED, TIME_WAIT, …): net/ipv4/tcp_ipv4.c
 * tcp_seq_next goes from TCP_SEQ_STATE_LISTENING to TCP_SEQ_STATE_ESTABLISHED once. So reading stops at the
 * first row that is neither LISTEN nor SYN_RECV, and the kernel never formats the rest — on a host with
 * thousands of connections or TIME_WAIT sockets that is most of the file (ss asks sock_diag for LISTEN only
 * for the same reason). Rows are whole: a row cut by a read's end is completed by the next read.
 * @throws the open error (ENOENT: no IPv6, or not Linux).
 */
export function readListeningSection(path: string): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let text = "";
    let scanned = 0; // text[0, scanned) holds only whole rows already checked
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) return text;
      text += buffer.toString("latin1", 0, n);
      for (let end = text.indexOf("\n", scanned); end >= 0; end = text.indexOf("\n", scanned)) {
        const row = text.slice(scanned, end);
        const state = row.trim().split(/\s+/)[3];
        // the header row has "st" there; any state but LISTEN/SYN_RECV is the established section
        if (scanned > 0 && state !== LISTEN && state !== SYN_RECV) return text.slice(0, scanned);
        scanned = end + 1;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** `0100007F` → `127.0.0.1`: the kernel prints the 32-bit address as a host-order (little-endian) hex word. */
export function hexToIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join(".");
}

/**
 * `00000000000000000000000001000000` → `::1`: four host-order 32-bit words. Formatted like glibc
 * inet_ntop (what ss prints): longest zero run compressed, `::ffff:a.b.c.d` for IPv4-mapped addresses.
 */
export function hexToIPv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { base: i, len: j - i };
    i = j;
  }
  const v4tail = best.base === 0 && (best.len === 6 || (best.len === 5 && groups[5] === 0xffff));
  const items = groups.map((g) => g.toString(16));
  if (v4tail) items.splice(6, 2, bytes.slice(12).join("."));
  if (best.base < 0) return items.join(":");
  return `${items.slice(0, best.base).join(":")}::${items.slice(best.base + best.len).join(":")}`;
}

/** Parses /proc/net/tcp (family 4) or /proc/net/tcp6 (family 6): LISTEN rows only. */
export function parseProcNetTcp(text: string, family: 4 | 6): RawSocket[] {
  const sockets: RawSocket[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const [hexAddr, hexPort] = f[1].split(":");
    if (!hexPort) continue;
    const address = family === 4 ? hexToIPv4(hexAddr) : hexToIPv6(hexAddr);
    const socket: RawSocket = {
      address,
      port: parseInt(hexPort, 16),
      family,
      uid: Number(f[7]),
      inode: Number(f[9]),
      holders: [],
    };
    sockets.push(socket);
  }
  return sockets;
}

/**
 * Which processes hold which of `inodes`: one pass over /proc/PID/fd. Unreadable folders (other users,
 * vanished processes) are skipped and counted in `unreadable`.
 */
export function socketHolders(
  inodes: Set<number>,
  procRoot = "/proc",
): { holders: Map<number, { pid: number; fd: number }[]>; unreadable: number } {
  const holders = new Map<number, { pid: number; fd: number }[]>();
  let unreadable = 0;
  if (inodes.size === 0) return { holders, unreadable };
  for (const name of readdirSync(procRoot)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${name}/fd`);
    } catch {
      unreadable++;
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith("socket:[")) continue;
      const inode = Number(target.slice(8, -1));
      if (!inodes.has(inode)) continue;
      const list = holders.get(inode) ?? [];
      list.push({ pid, fd: Number(fd) });
      holders.set(inode, list);
    }
  }
  return { holders, unreadable };
}

/** Fills `holders` of each socket (by inode) from /proc/PID/fd; returns how many fd folders were unreadable. */
export function attachHolders(sockets: RawSocket[], procRoot = "/proc"): number {
  const wanted = new Set(sockets.filter((s) => s.inode !== undefined && s.inode > 0).map((s) => s.inode!));
  const { holders, unreadable } = socketHolders(wanted, procRoot);
  for (const s of sockets) {
    const found = s.inode === undefined ? undefined : holders.get(s.inode);
    if (found) s.holders = found;
  }
  return unreadable;
}

/** Every listening TCP socket of this network namespace, with holders where readable. Throws when /proc/net is missing. */
export function readProcListeners(procRoot = "/proc"): { sockets: RawSocket[]; unreadable: number } {
  const sockets = parseProcNetTcp(readListeningSection(`${procRoot}/net/tcp`), 4);
  try {
    sockets.push(...parseProcNetTcp(readListeningSection(`${procRoot}/net/tcp6`), 6));
  } catch {
    /* IPv6 disabled: no tcp6 file */
  }
  return { sockets, unreadable: attachHolders(sockets, procRoot) };
}
