/**
 * Verify through the proxy: each route is requested from the private nginx (on a loopback address: verify runs
 * on the proxy's own host and never contacts another), with the route's Host header and a unique query
 * parameter; nginx's access log line for that request (log_format `orchestrate`, src/render/edge/nginx.ts) names the
 * upstream address that answered, which must be an instance of the route's service.
 */
import { readFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { instancePorts, isLoopbackAddress, nginxPaths } from "../model/edge";
import { routeUrls, type RouteUrl } from "../model/surface";
import type { Model } from "../model/types";
import { acceptsConnections } from "../inspect/port-probe";

/** Outcome for one route. */
export interface RouteCheck {
  /** not requested: its service has `autostart: false` and no instance of it listens (started by hand) */
  skipped?: string;
  service: string;
  /** `host/path` or `path` */
  route: string;
  url: string;
  ok: boolean;
  status?: number;
  /** the instance that answered, `127.0.0.1:PORT` (the last one tried) */
  upstream?: string;
  error?: string;
  fix?: string;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function get(
  model: Model,
  r: RouteUrl,
  nonce: string,
  timeoutMs: number,
): Promise<{ status?: number; error?: string }> {
  const proxy = model.proxy!;
  const address = proxy.listen.address;
  const connectTo = address !== undefined && isLoopbackAddress(address) ? address : "127.0.0.1";
  const path = `${r.route.path}?orchestrate-verify=${nonce}`;
  const request = proxy.tls ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      {
        host: connectTo,
        port: proxy.listen.port,
        path,
        headers: { Host: r.hostHeader },
        servername: proxy.tls ? r.hostHeader : undefined,
        rejectUnauthorized: false, // the certificate is the proxy's own; what is verified is the route
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve({
        error: e.code === "ECONNREFUSED" ? `nothing listens on ${connectTo}:${proxy.listen.port}` : e.message,
      }),
    );
    req.end();
  });
}

/**
 * The access log line holding `needle`, appended after `offset`. nginx writes it when it finalizes the request,
 * which can be just after the client has the whole answer: polled (5 ms, doubling to 100 ms) up to `timeoutMs`.
 */
async function logLine(log: string, offset: number, needle: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const found = readFileSync(log)
        .subarray(offset)
        .toString("utf8")
        .split("\n")
        .find((l) => l.includes(needle));
      if (found) return found;
    } catch {
      /* no access log yet */
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Whether any of `ports` accepts a connection on 127.0.0.1 (500 ms each, probed at once). */
async function anyAccepts(ports: number[]): Promise<boolean> {
  return (await Promise.all(ports.map((p) => acceptsConnections(p, "127.0.0.1", 500)))).some(Boolean);
}

/**
 * Requests every route through the proxy and checks which instance answered. A route is ok when nginx passed it
 * to an instance of its service and the answer is not a 5xx; the route of an `autostart: false` service none of
 * whose instances listens is not requested (`skipped`: started by hand, like its program). Never throws. `timeoutMs` per request (default 3000).
 */
export async function verifyRoutes(model: Model, options: { timeoutMs?: number } = {}): Promise<RouteCheck[]> {
  const log = nginxPaths(model.paths).accessLog;
  const out: RouteCheck[] = [];
  for (const [i, r] of routeUrls(model).entries()) {
    const nonce = `${process.pid}-${Date.now()}-${i}`;
    const offset = fileSize(log);
    const answer = await get(model, r, nonce, options.timeoutMs ?? 3000);
    const base = { service: r.service, route: `${r.route.host ?? ""}${r.route.path}`, url: r.url };
    const service = model.services.find((s) => s.name === r.service)!;
    const ports = instancePorts(service);
    if (!service.autostart && !(await anyAccepts(ports))) {
      out.push({ ...base, ok: true, skipped: `${r.service} is not started (autostart: false)` });
      continue;
    }
    if (answer.error) {
      out.push({ ...base, ok: false, error: answer.error, fix: "start the proxy (orchestrate restart)" });
      continue;
    }
    const line = await logLine(log, offset, `orchestrate-verify=${nonce}`, options.timeoutMs ?? 3000);
    const upstream = line
      ? /upstream=(\S+)/
          .exec(line)?.[1]
          ?.split(/[,:]\s*/)
          .slice(-2)
          .join(":")
      : undefined;
    const port = upstream ? Number(upstream.split(":").pop()) : NaN;
    const mine = ports.includes(port);
    const ok = mine && answer.status !== undefined && answer.status < 500;
    // nginx answers 502 (504 on a timeout) itself when it cannot connect to the upstream; say which service is down
    // rather than blame the route (ngx_http_proxy_module, proxy_next_upstream: "error", "timeout").
    const unreachable = !ok && mine && (answer.status === 502 || answer.status === 504) && !(await anyAccepts(ports));
    out.push({
      ...base,
      ok,
      status: answer.status,
      upstream,
      ...(ok
        ? {}
        : {
            error: !line
              ? `the request is not in ${log}`
              : !upstream || upstream === "-"
                ? `answered ${answer.status} by nginx itself: no location sends it to ${r.service}`
                : !mine
                  ? `answered by ${upstream}, which is not an instance of ${r.service} (ports ${ports.join(", ")})`
                  : unreachable
                    ? `nginx answered ${answer.status}: no instance of ${r.service} accepts connections (port${ports.length > 1 ? "s" : ""} ${ports.join(", ")})`
                    : `${r.service} answered ${answer.status}`,
            fix: mine
              ? unreachable
                ? `${r.service} is down or still starting: see its own row and its logs (orchestrate logs ${r.service})`
                : `see the logs of ${r.service} (orchestrate logs ${r.service})`
              : "run orchestrate generate and reload the proxy",
          }),
    });
  }
  return out;
}
