/**
 * Cheap questions about one port, answered by the kernel rather than by a listing: can I bind it (free),
 * does it accept a TCP connection (ready), and wait until it does.
 */
import { createConnection, createServer } from "node:net";

/** Outcome of a trial bind: free, or the errno that refused it (EADDRINUSE = taken, EACCES = privileged port). */
export type BindProbe = { free: true; host: string } | { free: false; host: string; code: string };

function tryBind(port: number, host: string, ipv6Only: boolean): Promise<BindProbe> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve({ free: false, host, code: err.code ?? "UNKNOWN" }));
    server.listen({ port, host, exclusive: true, ipv6Only }, () => server.close(() => resolve({ free: true, host })));
  });
}

/**
 * Tries to bind `port` and releases it at once (~0.03 ms). Without `host`, binds `::` dual-stack, which
 * the kernel refuses when ANY listener holds the port on any IPv4 or IPv6 address (0.0.0.0, 127.0.0.1,
 * ::, ::1, a LAN address); on a host without IPv6 it falls back to `0.0.0.0`. With `host`, binds exactly
 * there (a listener on another address then does not count).
 */
export async function probeBind(port: number, host?: string): Promise<BindProbe> {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`port must be an integer 1-65535, got ${port}`);
  if (host !== undefined) return tryBind(port, host, false);
  const v6 = await tryBind(port, "::", false);
  if (v6.free || v6.code === "EADDRINUSE" || v6.code === "EACCES") return v6;
  // EAFNOSUPPORT / EADDRNOTAVAIL: IPv6 disabled on this host
  return tryBind(port, "0.0.0.0", false);
}

/**
 * true when nothing listens on `port` (see {@link probeBind} for what `host` changes). A port this user
 * may not bind (EACCES: below 1024 without root) is judged by the listener table instead.
 * @throws Error when the answer is unknowable (any other bind error).
 */
export async function isPortFree(port: number, host?: string): Promise<boolean> {
  const probe = await probeBind(port, host);
  if (probe.free) return true;
  if (probe.code === "EADDRINUSE") return false;
  if (probe.code === "EACCES") {
    const { listenersByPort } = await import("./listeners");
    return ((await listenersByPort([port])).get(port) ?? []).length === 0;
  }
  throw new Error(
    `cannot tell whether port ${port} is free: binding ${probe.host} failed with ${probe.code}${probe.code === "EACCES" ? " (ports below 1024 need root); run as root or use listListeners()" : ""}`,
  );
}

/** true when a TCP connection to host:port is accepted within `timeoutMs` (then closed at once). Never throws. */
export function acceptsConnections(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Options of {@link waitForPort}. Times in ms. */
export interface WaitForPortOptions {
  /** give up after this many ms (default 15000) */
  timeoutMs?: number;
  /** first pause between attempts in ms (default 10); grows ×1.5 up to `maxIntervalMs` */
  intervalMs?: number;
  /** cap of the pause in ms (default 250) */
  maxIntervalMs?: number;
  /** hosts tried on each attempt; ready when any accepts (default 127.0.0.1 and ::1) */
  hosts?: string[];
  /** checked before each attempt: stop early, e.g. when the service's process already exited */
  isCancelled?: () => boolean;
}

/** Outcome of {@link waitForPort}: ready after `ms`, or why not. */
export type WaitForPortResult =
  | { ok: true; ms: number; host: string; attempts: number }
  | { ok: false; ms: number; reason: "timeout" | "cancelled"; attempts: number };

/**
 * Polls until `port` accepts connections. The first attempt is immediate and pauses grow from
 * `intervalMs`, so a fast service is seen within milliseconds and a slow one is not hammered. Never throws.
 */
export async function waitForPort(port: number, options: WaitForPortOptions = {}): Promise<WaitForPortResult> {
  const {
    timeoutMs = 15_000,
    intervalMs = 10,
    maxIntervalMs = 250,
    hosts = ["127.0.0.1", "::1"],
    isCancelled,
  } = options;
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let pause = intervalMs;
  let attempts = 0;
  for (;;) {
    if (isCancelled?.()) return { ok: false, ms: elapsed(), reason: "cancelled", attempts };
    attempts++;
    const left = Math.max(1, timeoutMs - elapsed());
    const answers = await Promise.all(hosts.map((h) => acceptsConnections(port, h, Math.min(1000, left))));
    const index = answers.indexOf(true);
    if (index >= 0) return { ok: true, ms: elapsed(), host: hosts[index], attempts };
    const remaining = timeoutMs - elapsed();
    if (remaining <= 0) return { ok: false, ms: elapsed(), reason: "timeout", attempts };
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, remaining)));
    pause = Math.min(pause * 1.5, maxIntervalMs);
  }
}
