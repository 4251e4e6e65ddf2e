/**
 * Listening TCP sockets from iproute2's `ss -ltnpHe` (Linux). ~5 ms for any number of ports (docs/facts.md).
 *
 * `-e` adds `ino:N` (socket inode, to match /proc), `uid:N` (owner of the socket; ss omits it for uid 0)
 * and `v6only:0|1`. Without root, ss shows no `users:(…)` for other users' sockets, but still their uid.
 */
import { run } from "../exec/run";
import type { RawSocket } from "./listeners";

/** The arguments we run ss with; exported so tests and messages name the exact command. */
export const SS_ARGS = ["-ltnpHe"];

/**
 * Splits an ss local-address token into address, port, family, scope. Forms seen:
 * `127.0.0.1:22`, `0.0.0.0:22`, `[::1]:22`, `[::]:22` (v6only), `*:22` (:: dual-stack),
 * `127.0.0.53%lo:53`, `[fe80::1]%eth0:22`, and old iproute2's unbracketed `:::22`.
 */
export function parseSsAddress(
  token: string,
): (Pick<RawSocket, "address" | "port" | "family" | "interface"> & { star: boolean }) | undefined {
  const m = /^(.*):(\d+)$/.exec(token);
  if (!m) return undefined;
  let host = m[1];
  const port = Number(m[2]);
  let iface: string | undefined;
  const pct = host.lastIndexOf("%");
  if (pct >= 0 && !host.slice(pct).includes("]")) {
    iface = host.slice(pct + 1);
    host = host.slice(0, pct);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const innerPct = host.indexOf("%"); // `[fe80::1%eth0]` variant
  if (innerPct >= 0) {
    iface ??= host.slice(innerPct + 1);
    host = host.slice(0, innerPct);
  }
  if (host === "*") return { address: "::", port, family: 6, interface: iface, star: true };
  return { address: host, port, family: host.includes(":") ? 6 : 4, interface: iface, star: false };
}

const HOLDER = /\("((?:[^"]|"(?!,pid=))*)",pid=(\d+),fd=(\d+)\)/g;

/** Parses `ss -ltnpH[e]` output (header lines tolerated) into one RawSocket per listening socket. */
export function parseSs(text: string): RawSocket[] {
  const sockets: RawSocket[] = [];
  for (const line of text.split("\n")) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length < 4 || tokens[0] === "State" || tokens[0] === "Netid") continue;
    if (tokens[0] !== "LISTEN" && tokens[0] !== "tcp") continue;
    // local address = first token that ends in ":<digits>" (Recv-Q and Send-Q have no colon)
    const local = tokens.map(parseSsAddress).find((a) => a !== undefined);
    if (!local) continue;
    const holders = [...line.matchAll(HOLDER)].map((h) => ({ pid: Number(h[2]), name: h[1], fd: Number(h[3]) }));
    const ino = /\bino:(\d+)/.exec(line);
    const uid = /\buid:(\d+)/.exec(line);
    const v6only = /\bv6only:([01])/.exec(line);
    const { star, ...address } = local;
    const socket: RawSocket = { ...address, holders };
    if (ino) {
      socket.inode = Number(ino[1]);
      // ss prints uid only when it is not 0 (iproute2 sock_details_print), and only with -e (ino present)
      socket.uid = uid ? Number(uid[1]) : 0;
    }
    if (socket.family === 6 && (socket.address === "::" || socket.address === "0:0:0:0:0:0:0:0")) {
      socket.address = "::";
      socket.dualStack = v6only ? v6only[1] === "0" : star;
    }
    sockets.push(socket);
  }
  return sockets;
}

/** Outcome of asking ss: the sockets, or why ss could not answer (missing, old, refused). */
export type SsResult = { ok: true; sockets: RawSocket[]; ms: number } | { ok: false; reason: string };

/** Runs `ss -ltnpHe` and parses it; never throws. */
export async function readSs(): Promise<SsResult> {
  const result = await run("ss", SS_ARGS, { timeoutMs: 5000 });
  if (result.failedToStart) return { ok: false, reason: "ss (iproute2) is not installed" };
  if (result.exitCode !== 0) {
    const why =
      result.stderr.trim().split("\n")[0] ||
      (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`);
    return { ok: false, reason: `\`ss ${SS_ARGS.join(" ")}\` failed: ${why}` };
  }
  return { ok: true, sockets: parseSs(result.stdout), ms: result.durationMs };
}
