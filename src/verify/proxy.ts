/**
 * Verify of the private nginx: the master runs (its pid file names a live process), its `listen` port accepts
 * connections, and every route answers through it from an instance of its own service (./routes.ts). The result
 * is in the verify table's shape ({@link ServiceCheck}): one `proxy` row, then one row per route named
 * `proxy ROUTE`, so restart, verify and `npm run up` print it with the services.
 */
import { nginxPid } from "../backend/nginx/control";
import { acceptsConnections } from "../inspect/port-probe";
import { isLoopbackAddress, nginxPaths } from "../model/edge";
import type { Model } from "../model/types";
import { verifyRoutes, type RouteCheck } from "./routes";
import type { ServiceCheck } from "./verify";

/** The proxy's verification: the table rows and the route checks they came from. */
export interface ProxyVerification {
  ok: boolean;
  /** Rows for the verify table: `proxy`, then `proxy /path` (or `proxy host/path`) per route. */
  checks: ServiceCheck[];
  routes: RouteCheck[];
}

function row(name: string, fields: Partial<ServiceCheck>): ServiceCheck {
  return {
    name,
    service: "proxy",
    instance: 0,
    program: "nginx",
    type: "service",
    state: "RUNNING",
    ok: true,
    problems: [],
    ...fields,
  };
}

/**
 * Verifies the proxy of `model` (nothing when the model has no proxy: `{ok: true, checks: []}`). A master that
 * does not run or a port that refuses connections fails the `proxy` row, and the routes are not requested then.
 * Never throws for a failed check. `timeoutMs` per route request (default 3000).
 */
export async function verifyProxy(model: Model, options: { timeoutMs?: number } = {}): Promise<ProxyVerification> {
  const proxy = model.proxy;
  if (!proxy) return { ok: true, checks: [], routes: [] };
  const port = proxy.listen.port;
  const address = isLoopbackAddress(proxy.listen.address) ? proxy.listen.address! : "127.0.0.1";
  const pid = nginxPid(model);
  const listening = pid !== undefined && (await acceptsConnections(port, address));
  const problems =
    pid === undefined
      ? [
          `nginx is not running (${nginxPaths(model.paths).pid} names no live process): start it with "orchestrate restart"`,
        ]
      : !listening
        ? [
            `nginx (pid ${pid}) does not accept connections on ${address}:${port}: see ${nginxPaths(model.paths).errorLog}`,
          ]
        : [];
  const head = row("proxy", {
    state: pid === undefined ? "STOPPED" : "RUNNING",
    pid,
    port,
    owner: listening ? { kind: "service", pid: pid! } : { kind: "none" },
    ok: problems.length === 0,
    problems,
  });
  if (!head.ok) return { ok: false, checks: [head], routes: [] };
  const routes = await verifyRoutes(model, options);
  const checks = [
    head,
    ...routes.map((r) =>
      row(`proxy ${r.route}`, {
        pid,
        port,
        owner: r.ok && !r.skipped ? { kind: "service", pid: pid! } : { kind: "none" },
        ...(r.skipped
          ? { state: "STOPPED" as const }
          : { health: { ok: r.ok, status: r.status, ms: 0, url: r.url, ...(r.error ? { error: r.error } : {}) } }),
        ok: r.ok,
        problems: r.ok ? [] : [`${r.url} (→ ${r.service}): ${r.error}${r.fix ? ` (fix: ${r.fix})` : ""}`],
      }),
    ),
  ];
  return { ok: checks.every((c) => c.ok), checks, routes };
}
