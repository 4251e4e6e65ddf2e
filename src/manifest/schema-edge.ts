/**
 * Manifest keys of the edge (issue 15): the reverse proxy (`proxy`), each service's `routes`, the `exposure` of
 * services and externals, and `ports.internalSources`. Kept apart from ./schema.ts, which spreads these keys
 * into its objects. Cross-field rules (duplicate routes, a route on a worker, proxy port conflicts) are in
 * ./rules/routes.ts.
 */
import { z } from "zod";

/** Who may reach a port: `loopback` (this host only), `internal` (ports.internalSources), `public` (anyone). */
export const EXPOSURES = ["loopback", "internal", "public"] as const;

/**
 * A URL path prefix nginx can match exactly: `/` then RFC 3986 path characters (unreserved, sub-delims, `:`,
 * `@`, `/`) except `$` and `%`: nginx reads `$` in a header value as a variable (nginx docs, proxy_set_header)
 * and matches a location against the decoded URI, so `%XX` would never match (nginx docs, "location").
 */
export const ROUTE_PATH = /^\/[A-Za-z0-9._~!&'()*+,;=:@/-]*$/;
/** An RFC 1123 host name, lower case: labels of letters, digits and `-`, dot-separated, at most 253 characters. */
export const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** `PORT` or `ADDR:PORT` (`[IPV6]:PORT` for IPv6), as nginx's `listen` takes it. */
export const LISTEN_TEXT = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|\*):)?\d{1,5}$/;
/** An IPv4 or IPv6 network in CIDR notation (a bare address means /32 or /128); checked further in ./rules/routes.ts. */
export const CIDR_TEXT = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)(?:\/\d{1,3})?$/;

const listen = z
  .union([z.number().int().min(1).max(65535), z.string().regex(LISTEN_TEXT)])
  .describe('port, or "ADDR:PORT" ("[::]:8443" for IPv6); a bare port listens on every address');
const exposure = z
  .enum(EXPOSURES)
  .describe(
    "who may reach the port: loopback (default; this host only), internal (ports.internalSources), public; the program binds {bind} / BIND_ADDRESS",
  );
const routePath = z.string().regex(ROUTE_PATH).describe('URL path prefix starting with "/", e.g. "/api/users/"');

/** One route: a path prefix (and optionally a host) the proxy sends to this service. */
export const routeSchema = z.union([
  routePath,
  z.strictObject({
    path: routePath,
    host: z.string().regex(HOST_NAME).optional().describe("only requests for this host name (Host header)"),
    websocket: z.boolean().optional().describe("pass the WebSocket upgrade (Upgrade/Connection headers)"),
    stripPrefix: z.boolean().optional().describe("remove the path prefix before passing the request on"),
  }),
]);

/** Top-level `proxy`: the private (or installed) nginx in front of the routed services. */
export const proxySchema = z
  .strictObject({
    listen,
    serverName: z
      .union([z.string().regex(HOST_NAME), z.array(z.string().regex(HOST_NAME)).min(1)])
      .optional()
      .describe("server_name of the default server (routes without host)"),
    tls: z
      .strictObject({
        certificate: z
          .string()
          .min(1)
          .describe("PEM certificate chain (e.g. /etc/letsencrypt/live/NAME/fullchain.pem)"),
        key: z.string().min(1).describe("PEM private key"),
        redirectListen: listen.optional().describe("plain-HTTP listener redirecting to https (default 80)"),
      })
      .optional()
      .describe("serve HTTPS on listen; plain HTTP on redirectListen redirects to it"),
    acmeWebroot: z
      .string()
      .min(1)
      .optional()
      .describe("folder served at /.well-known/acme-challenge/ (certbot certonly --webroot -w PATH)"),
  })
  .describe("reverse proxy (nginx) in front of the services' routes");

/** Keys spread into each service of ./schema.ts. */
export const serviceEdgeKeys = {
  routes: z
    .array(routeSchema)
    .optional()
    .describe("URL path prefixes (or {path, host, websocket, stripPrefix}) the proxy sends here"),
  exposure: exposure.optional(),
};

/** Keys spread into each external of ./schema.ts. */
export const externalEdgeKeys = { exposure: exposure.optional() };

/** Keys spread into `ports` of ./schema.ts. */
export const portsEdgeKeys = {
  internalSources: z
    .array(z.string().regex(CIDR_TEXT))
    .optional()
    .describe('networks that reach "internal" ports, as CIDRs (e.g. "10.0.0.0/8")'),
};

/** Keys spread into the top level of ./schema.ts. */
export const manifestEdgeKeys = { proxy: proxySchema.optional() };
