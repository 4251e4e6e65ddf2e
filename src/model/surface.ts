/**
 * Which port is exposed how, from the model alone: every instance port of every enabled service, every external
 * on this host, and the proxy's listeners. The firewall renderer, the exposure audit and `ports` (the public
 * surface) read this one classification.
 */
import { instancePorts, isLoopbackAddress } from "./edge";
import type { Exposure, ListenAddress, Route } from "./edge-types";
import type { Model } from "./types";

/** One port of the project and who may reach it. */
export interface ExposedPort {
  port: number;
  exposure: Exposure;
  owner: { kind: "service" | "external" | "proxy"; name: string };
  /** Routes served on a proxy port ("host/path"), for the public surface. */
  routes?: string[];
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"]);

/** The proxy's listeners: `listen` and, with TLS, `redirectListen`; loopback when bound to 127.x or ::1, else public. */
export function proxyListeners(model: Model): ListenAddress[] {
  if (!model.proxy) return [];
  return model.proxy.tls ? [model.proxy.listen, model.proxy.tls.redirectListen] : [model.proxy.listen];
}

/**
 * Every port with its exposure, sorted by port. Disabled services are left out (nothing listens there), and so are
 * externals whose `host` is another machine (this host's firewall does not guard them).
 */
export function exposedPorts(model: Model): ExposedPort[] {
  const out: ExposedPort[] = [];
  for (const s of model.services) {
    if (!s.enabled) continue;
    for (const port of instancePorts(s))
      out.push({ port, exposure: s.exposure, owner: { kind: "service", name: s.name } });
  }
  for (const e of model.external) {
    if (e.host !== undefined && !LOCAL_HOSTS.has(e.host)) continue;
    out.push({ port: e.port, exposure: e.exposure, owner: { kind: "external", name: e.name } });
  }
  const routes = model.services
    .filter((s) => s.enabled && s.routes.length && s.port !== undefined)
    .flatMap((s) => s.routes.map((r) => `${r.host ?? ""}${r.path} → ${s.name}`));
  for (const l of proxyListeners(model))
    out.push({
      port: l.port,
      exposure: isLoopbackAddress(l.address) ? "loopback" : "public",
      owner: { kind: "proxy", name: "proxy" },
      routes,
    });
  return out.sort((a, b) => a.port - b.port);
}

/** What the outside can reach: the public ports, and the internal ones with the networks allowed to reach them. */
export interface PublicSurface {
  public: ExposedPort[];
  internal: Array<ExposedPort & { from: string[] }>;
}

/** The public surface of the project, as data (the `ports` command prints it). */
export function publicSurface(model: Model): PublicSurface {
  const ports = exposedPorts(model);
  return {
    public: ports.filter((p) => p.exposure === "public"),
    internal: ports.filter((p) => p.exposure === "internal").map((p) => ({ ...p, from: model.internalSources })),
  };
}

/** One route as the outside calls it through the proxy. */
export interface RouteUrl {
  service: string;
  route: Route;
  /** e.g. `http://127.0.0.1:8080/api/users/`, `https://admin.example.com/` (default ports left out) */
  url: string;
  /** Host header the proxy routes by (the route's host, else the first serverName, else the URL's host). */
  hostHeader: string;
}

/**
 * The URL of every route of every enabled routed service, manifest order (for `npm run up`, `url`, verify).
 * The host is the route's host, else the first proxy.serverName, else the listen address (model.host for a
 * wildcard listen).
 */
export function routeUrls(model: Model): RouteUrl[] {
  const proxy = model.proxy;
  if (!proxy) return [];
  const scheme = proxy.tls ? "https" : "http";
  const port = proxy.listen.port === (proxy.tls ? 443 : 80) ? "" : `:${proxy.listen.port}`;
  const address =
    proxy.listen.address === undefined || proxy.listen.address === "0.0.0.0" || proxy.listen.address === "::"
      ? model.host
      : proxy.listen.address;
  const fallback = proxy.serverNames[0] ?? (address.includes(":") ? `[${address}]` : address);
  return model.services
    .filter((s) => s.enabled && s.port !== undefined)
    .flatMap((s) =>
      s.routes.map((route) => {
        const host = route.host ?? fallback;
        return { service: s.name, route, url: `${scheme}://${host}${port}${route.path}`, hostHeader: host };
      }),
    );
}
