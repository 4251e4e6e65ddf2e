/**
 * HTTP health check of a local service: GET http://127.0.0.1:PORT/PATH, any 2xx is healthy. Only loopback
 * hosts are contacted: verify runs on the service's own host, and a health URL must never reach elsewhere.
 */
import { request } from "node:http";

/** Where to check: a URL (`http://127.0.0.1:8001/health`) or its parts (host defaults to 127.0.0.1, path to "/"). */
export type HealthTarget = string | { host?: string; port: number; path?: string };

/** Outcome of one check: `ok` for a 2xx answer; `error` says what went wrong and how to fix it; `ms` from start to answer. */
export interface HealthResult {
  ok: boolean;
  status?: number;
  error?: string;
  ms: number;
  /** the URL that was requested */
  url: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

function toUrl(target: HealthTarget): URL {
  if (typeof target === "string") return new URL(target);
  const host = target.host ?? "127.0.0.1";
  const path = target.path ?? "/";
  return new URL(
    `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${target.port}${path.startsWith("/") ? path : `/${path}`}`,
  );
}

function describe(err: NodeJS.ErrnoException, url: URL): string {
  const where = `GET ${url.href}`;
  if (err.code === "ECONNREFUSED")
    return `${where}: connection refused: nothing listens on ${url.hostname}:${url.port}; start the service or check its port`;
  if (err.code === "ECONNRESET")
    return `${where}: connection reset before an answer; the service closed the connection (crash or not HTTP?)`;
  return `${where}: ${err.message}`;
}

/**
 * One GET with an overall deadline of `timeoutMs` (connect + headers). Never throws: a bad target, a
 * non-loopback host, a refused connection, a timeout or a non-2xx status all give `ok: false`.
 */
export function checkHealth(target: HealthTarget, timeoutMs = 2000): Promise<HealthResult> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 100) / 100;
  let url: URL;
  try {
    url = toUrl(target);
  } catch {
    return Promise.resolve({
      ok: false,
      error: `health target ${JSON.stringify(target)} is not a valid URL; expected e.g. http://127.0.0.1:8001/health`,
      ms: ms(),
      url: String(target),
    });
  }
  if (url.protocol !== "http:")
    return Promise.resolve({
      ok: false,
      error: `health URL ${url.href} uses ${url.protocol}; only http: on a loopback address is supported`,
      ms: ms(),
      url: url.href,
    });
  if (!LOOPBACK.test(url.hostname)) {
    return Promise.resolve({
      ok: false,
      error: `health URL ${url.href} points at ${url.hostname}; expected 127.0.0.1, ::1 or localhost (checks stay on this host)`,
      ms: ms(),
      url: url.href,
    });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<HealthResult, "ms" | "url">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...result, ms: ms(), url: url.href });
    };
    const req = request(
      url,
      { method: "GET", agent: false, headers: { connection: "close", "user-agent": "orchestrate-health" } },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const ok = status >= 200 && status < 300;
        finish(
          ok
            ? { ok, status }
            : { ok, status, error: `GET ${url.href}: status ${status}, expected 2xx; see the service's log` },
        );
      },
    );
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          error: `GET ${url.href}: no answer within ${timeoutMs} ms; the service is hung or slow (raise the timeout if it is just slow)`,
        }),
      timeoutMs,
    );
    req.once("error", (err: NodeJS.ErrnoException) => finish({ ok: false, error: describe(err, url) }));
    req.end();
  });
}
