/**
 * The kernel's ephemeral port range (Linux ip-sysctl: `net.ipv4.ip_local_port_range`, default 32768–60999,
 * which IPv6 shares) and the ports reserved from it (`net.ipv4.ip_local_reserved_ports`). An outgoing TCP
 * connection without an explicit bind takes its source port from that range — a health check, an XML-RPC
 * call, a database client — and a listener that binds the same address and port meanwhile fails with
 * EADDRINUSE. A service port inside the range is therefore taken at random moments unless it is reserved.
 */
import { readFileSync } from "node:fs";

/** The range (inclusive) and the reserved ports of it, each as inclusive low–high pairs. */
export interface EphemeralRange {
  low: number;
  high: number;
  reserved: { low: number; high: number }[];
}

/**
 * Parses `ip_local_reserved_ports`: a comma-separated list of ports and ranges (`8080,9000-9010`), empty when
 * none. Pieces that are not a port or range are skipped.
 */
export function parseReservedPorts(text: string): { low: number; high: number }[] {
  return text
    .trim()
    .split(",")
    .map((piece) => /^(\d+)(?:-(\d+))?$/.exec(piece.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ low: Number(m[1]), high: Number(m[2] ?? m[1]) }));
}

/** This host's ephemeral range, or undefined when /proc/sys does not say (not Linux). */
export function ephemeralRange(procRoot = "/proc"): EphemeralRange | undefined {
  try {
    const [low, high] = readFileSync(`${procRoot}/sys/net/ipv4/ip_local_port_range`, "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (!Number.isInteger(low) || !Number.isInteger(high)) return undefined;
    let reserved: { low: number; high: number }[] = [];
    try {
      reserved = parseReservedPorts(readFileSync(`${procRoot}/sys/net/ipv4/ip_local_reserved_ports`, "utf8"));
    } catch {
      /* older kernels have no reservation list */
    }
    return { low, high, reserved };
  } catch {
    return undefined;
  }
}

/** The ports of `ports` an outgoing connection may take: inside the range and not reserved; sorted, unique. */
export function ephemeralExposed(ports: Iterable<number>, range: EphemeralRange): number[] {
  return [...new Set(ports)]
    .filter((p) => p >= range.low && p <= range.high && !range.reserved.some((r) => p >= r.low && p <= r.high))
    .sort((a, b) => a - b);
}
