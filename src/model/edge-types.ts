/**
 * The resolved edge of a project (issue 15): routes, exposure, the proxy and the internal networks. The
 * interfaces here are extended by Service, External and Model in ./types.ts.
 */

/** Who may reach a port: this host only, the networks of `ports.internalSources`, or anyone. */
export type Exposure = "loopback" | "internal" | "public";

/** One route of a service: requests whose path starts with `path` (and whose Host is `host`, when set). */
export interface Route {
  /** URL path prefix, starting with "/" (manifest ROUTE_PATH). */
  path: string;
  /** Host name the route is limited to; undefined: the proxy's default server. */
  host?: string;
  /** Pass the WebSocket upgrade through (HTTP/1.1 Upgrade and Connection headers). */
  websocket: boolean;
  /** Remove `path` from the URI before passing the request on (`/api/users/x` → `/x`). */
  stripPrefix: boolean;
}

/** An nginx `listen` address: `address` undefined means every address (IPv4). */
export interface ListenAddress {
  address?: string;
  port: number;
}

/** The reverse proxy in front of the routed services (manifest `proxy`). Paths are absolute. */
export interface Proxy {
  listen: ListenAddress;
  /** server_name of the default server; empty: `_` (any host). */
  serverNames: string[];
  /** HTTPS on `listen`; `redirectListen` serves plain HTTP that redirects to it (default port 80). */
  tls?: { certificate: string; key: string; redirectListen: ListenAddress };
  /** Folder served at /.well-known/acme-challenge/ (HTTP-01 challenges of certbot --webroot). */
  acmeWebroot?: string;
}

/** Fields of a Service that belong to the edge. */
export interface ServiceEdge {
  /** Routes of the proxy to this service, manifest order; empty when not routed. */
  routes: Route[];
  /** Default "loopback"; a routed service is always loopback (the proxy is what the outside sees). */
  exposure: Exposure;
}

/** Fields of an External that belong to the edge. */
export interface ExternalEdge {
  /** Default "loopback": e.g. Redis 6379 must not be reachable from outside. */
  exposure: Exposure;
}

/** Fields of the Model that belong to the edge. */
export interface ModelEdge {
  /** undefined: no proxy (nothing of nginx is rendered). */
  proxy?: Proxy;
  /** CIDRs that reach `internal` ports (manifest ports.internalSources), as written. */
  internalSources: string[];
}
