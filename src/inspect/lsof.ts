/**
 * Listening TCP sockets from `lsof -nP -iTCP -sTCP:LISTEN -F pcuLftn` (macOS, where there is no /proc
 * or ss; works on Linux too, ~17 ms). Field output: one `p` (pid) line starts a process set, followed
 * by its `c` (command name, truncated by the OS), `u` (uid), `L` (login); then per socket `f` (fd),
 * `t` (IPv4|IPv6) and `n` (address:port, `*` = wildcard).
 */
import { run } from "../exec/run";
import type { RawSocket } from "./listeners";
import { parseSsAddress } from "./ss";

/** lsof arguments: no name/port lookups, listening TCP sockets only, the field output parsed by {@link parseLsof}. */
export const LSOF_ARGS = ["-nP", "-iTCP", "-sTCP:LISTEN", "-F", "pcuLftn"];

/**
 * Parses lsof field output into one RawSocket per (address, port, family), merging the processes that
 * share a socket (forked workers) into `holders`. lsof gives no inode, so sockets are keyed by address.
 */
export function parseLsof(text: string): RawSocket[] {
  const byKey = new Map<string, RawSocket>();
  let proc: { pid: number; name?: string; uid?: number } | undefined;
  let fd: number | undefined;
  let type: string | undefined;
  for (const line of text.split("\n")) {
    const tag = line[0];
    const value = line.slice(1);
    if (tag === "p") {
      proc = { pid: Number(value) };
      fd = undefined;
      type = undefined;
    } else if (tag === "c" && proc) proc.name = value;
    else if (tag === "u" && proc) proc.uid = Number(value);
    else if (tag === "f") {
      fd = Number(value);
      type = undefined;
    } else if (tag === "t") type = value;
    else if (tag === "n" && proc) {
      const parsed = parseSsAddress(value.replace(/ \(LISTEN\)$/, ""));
      if (!parsed) continue;
      const family: 4 | 6 = type === "IPv6" ? 6 : type === "IPv4" ? 4 : parsed.family;
      const address = parsed.star ? (family === 6 ? "::" : "0.0.0.0") : parsed.address;
      const key = `${family} ${address} ${parsed.port}`;
      let socket = byKey.get(key);
      if (!socket) {
        socket = { address, port: parsed.port, family, interface: parsed.interface, uid: proc.uid, holders: [] };
        byKey.set(key, socket);
      }
      if (!socket.holders.some((h) => h.pid === proc!.pid))
        socket.holders.push({ pid: proc.pid, name: proc.name, fd: Number.isNaN(fd) ? undefined : fd });
    }
  }
  return [...byKey.values()];
}

/** Runs lsof and parses it; throws an Error saying what failed and how to fix it. */
export async function readLsof(): Promise<RawSocket[]> {
  const result = await run("lsof", LSOF_ARGS, { timeoutMs: 10_000 });
  if (result.failedToStart)
    throw new Error(
      "cannot list listening ports: lsof is not installed (expected at /usr/sbin/lsof on macOS); install lsof",
    );
  // lsof exits 1 when nothing matched (no listener at all is a valid answer) and after mere warnings
  if (result.exitCode !== 0 && result.stdout.trim() === "" && result.stderr.trim() !== "") {
    throw new Error(
      `\`lsof ${LSOF_ARGS.join(" ")}\` failed with exit code ${result.exitCode}: ${result.stderr.trim().split("\n")[0]}`,
    );
  }
  return parseLsof(result.stdout);
}
