/**
 * Established TCP connections to a local port, read from /proc/net/tcp and /proc/net/tcp6 without spawning
 * anything (Linux). A rollout drains an instance by waiting until the connections it accepted are gone: once
 * nginx marks the instance `down` and its old workers finish, nginx holds no connection to it (an exiting worker
 * closes its idle keep-alive connections, including the cached upstream ones: nginx docs, "Changing
 * Configuration"), so what is left is a request still in flight.
 */
import { readFileSync } from "node:fs";

/** TCP state code of ESTABLISHED in /proc/net/tcp (include/net/tcp_states.h: TCP_ESTABLISHED = 1). */
const ESTABLISHED = "01";

/** Counts the ESTABLISHED rows of a /proc/net/tcp{,6} text whose LOCAL port is `port` (the accepted side). */
export function countEstablished(text: string, port: number): number {
  let n = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local rem st …
    if (f.length < 4 || f[3] !== ESTABLISHED) continue;
    const hexPort = f[1].split(":")[1];
    if (hexPort && parseInt(hexPort, 16) === port) n++;
  }
  return n;
}

/**
 * How many connections the listener on `port` has accepted and not yet closed (IPv4 and IPv6, this network
 * namespace), or undefined when /proc/net/tcp cannot be read (not Linux): the caller then waits its whole drain
 * timeout instead.
 */
export function establishedConnections(port: number, procRoot = "/proc"): number | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/net/tcp`, "utf8");
  } catch {
    return undefined;
  }
  let n = countEstablished(text, port);
  try {
    n += countEstablished(readFileSync(`${procRoot}/net/tcp6`, "utf8"), port);
  } catch {
    /* IPv6 disabled: no tcp6 file */
  }
  return n;
}
