/**
 * Rules of the edge (issue 15): routes (one owner per host + path, only on services with a port, a routed service
 * stays on loopback), the proxy's listen ports (one owner per port), ports.internalSources as CIDRs, and the
 * warnings that say a key has no effect (routes without a proxy, internal exposure without internalSources).
 */
import { isIP } from "node:net";
import type { Problem } from "../../errors";
import { parseListen } from "../../model/edge";
import type { ManifestView } from "../view";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** host + path of a route as written (a string route has no host); undefined when malformed (the schema reports it). */
function routeKey(route: unknown): { path: string; host?: string } | undefined {
  if (typeof route === "string") return { path: route };
  if (isObject(route) && typeof route.path === "string")
    return { path: route.path, host: typeof route.host === "string" ? route.host : undefined };
  return undefined;
}

/**
 * True when `text` is an IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or a bare address):
 * the address is valid (node:net isIP) and the prefix at most 32 (IPv4) or 128 (IPv6).
 */
export function isCidr(text: string): boolean {
  const [address, prefix, extra] = text.split("/");
  if (extra !== undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Error and warning Problems for the edge keys of a manifest; reads `raw` for the keys the view does not carry. */
export function edgeRules(raw: unknown, view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  const m = isObject(raw) ? raw : {};
  const proxy = isObject(m.proxy) ? m.proxy : undefined;
  const serverNames = new Set(
    typeof proxy?.serverName === "string"
      ? [proxy.serverName]
      : Array.isArray(proxy?.serverName)
        ? proxy.serverName
        : [],
  );
  const claimed = new Map<string, string>(); // "host path" → service
  let routed = 0;
  for (const s of view.services) {
    const routes = Array.isArray(s.raw.routes) ? s.raw.routes : [];
    const err = (field: string, value: unknown, message: string, fix: string) =>
      problems.push({
        severity: "error",
        path: `services.${s.name}.${field}`,
        service: s.name,
        field,
        value,
        message,
        fix,
      });
    if (routes.length === 0) continue;
    routed++;
    // a port written as `port` or per instance as `ports` (manifest v1.1)
    if (s.port === undefined && s.instancePorts.length === 0)
      err(
        "routes",
        s.raw.routes,
        `${s.name} has routes but no port: a worker cannot receive requests`,
        `give ${s.name} a "port", or remove its routes`,
      );
    const exposure = s.raw.exposure;
    if (exposure === "internal" || exposure === "public")
      err(
        "exposure",
        exposure,
        `${s.name} has routes and exposure "${exposure}": a routed service stays on loopback, the proxy is what the outside sees`,
        `remove "exposure" (or the routes, to expose the port itself)`,
      );
    routes.forEach((route, i) => {
      const key = routeKey(route);
      if (!key) return;
      if (isObject(route) && route.stripPrefix === true && !key.path.endsWith("/"))
        err(
          `routes.${i}.path`,
          key.path,
          `route ${key.path} of ${s.name} strips its prefix but does not end with "/": "${key.path}/x" would reach the service as "//x"`,
          `write "${key.path}/" (nginx answers ${key.path} with a redirect to ${key.path}/)`,
        );
      // a route for a host the default server already answers for is served by the default server
      const host = key.host !== undefined && !serverNames.has(key.host) ? key.host : undefined;
      const id = `${host ?? "(default server)"} ${key.path}`;
      const other = claimed.get(id);
      const where = host ? `host ${host}, path ${key.path}` : `path ${key.path}`;
      if (other !== undefined)
        err(
          `routes.${i}`,
          route,
          `route ${where} is claimed by both ${other} and ${s.name}`,
          other === s.name
            ? "remove the repeated route"
            : `keep the route on one of ${other} and ${s.name}, or give one a "host"`,
        );
      else claimed.set(id, s.name);
    });
    if (!s.enabled)
      problems.push({
        severity: "warning",
        path: `services.${s.name}.routes`,
        service: s.name,
        field: "routes",
        value: s.raw.routes,
        message: `${s.name} is disabled: its routes are not served`,
        fix: "enable it, or remove its routes",
      });
  }
  if (routed > 0 && !proxy)
    problems.push({
      severity: "warning",
      path: "proxy",
      field: "proxy",
      message: `${routed} service${routed === 1 ? " has" : "s have"} routes but there is no "proxy": nothing serves them`,
      fix: 'add "proxy": { "listen": 8080 }',
    });
  if (proxy) problems.push(...listenRules(proxy, view));
  const ports = isObject(m.ports) ? m.ports : {};
  const sources = Array.isArray(ports.internalSources) ? ports.internalSources : [];
  sources.forEach((cidr, i) => {
    if (typeof cidr === "string" && !isCidr(cidr))
      problems.push({
        severity: "error",
        path: `ports.internalSources.${i}`,
        field: `ports.internalSources.${i}`,
        value: cidr,
        message: `"${cidr}" is not an IPv4 or IPv6 network (CIDR)`,
        fix: 'write ADDRESS/PREFIX, e.g. "10.0.0.0/8", "192.168.1.0/24" or "fd00::/8"',
      });
  });
  const internal = [
    ...view.services.filter((s) => s.raw.exposure === "internal").map((s) => `service ${s.name}`),
    ...Object.entries(isObject(m.external) ? m.external : {})
      .filter(([, e]) => isObject(e) && e.exposure === "internal")
      .map(([name]) => `external ${name}`),
  ];
  if (internal.length && sources.length === 0)
    problems.push({
      severity: "warning",
      path: "ports.internalSources",
      field: "ports.internalSources",
      message: `${internal.join(", ")} ${internal.length === 1 ? "is" : "are"} "internal" but ports.internalSources is empty: the firewall lets no other host reach ${internal.length === 1 ? "it" : "them"}`,
      fix: 'add the networks that may reach them, e.g. "internalSources": ["10.0.0.0/8"]',
    });
  return problems;
}

/** proxy.listen and proxy.tls.redirectListen: valid addresses, distinct, and no port another owner holds. */
function listenRules(proxy: Record<string, unknown>, view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  const owners = new Map<number, string>();
  for (const s of view.services) if (s.port !== undefined) owners.set(s.port, `service ${s.name}`);
  for (const e of view.external) owners.set(e.port, `external ${e.name}`);
  for (const [port, reason] of view.reserved) if (!owners.has(port)) owners.set(port, `ports.reserved (${reason})`);
  for (const port of view.avoid) if (!owners.has(port)) owners.set(port, "ports.avoid");
  const tls = isObject(proxy.tls) ? proxy.tls : undefined;
  const entries: [string, unknown][] = [["proxy.listen", proxy.listen]];
  if (tls) entries.push(["proxy.tls.redirectListen", tls.redirectListen ?? 80]);
  for (const [path, value] of entries) {
    if (typeof value !== "number" && typeof value !== "string") continue;
    let listen;
    try {
      listen = parseListen(value);
    } catch (e) {
      problems.push({
        severity: "error",
        path,
        field: path,
        value,
        message: `${path}: ${(e as Error).message}`,
        fix: 'use a port (8080) or "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080")',
      });
      continue;
    }
    if (listen.address !== undefined && isIP(listen.address) === 0)
      problems.push({
        severity: "error",
        path,
        field: path,
        value,
        message: `${path}: "${listen.address}" is not an IP address`,
        fix: 'use an IPv4 address or a bracketed IPv6 address, e.g. "127.0.0.1:8080"',
      });
    const other = owners.get(listen.port);
    if (other)
      problems.push({
        severity: "error",
        path,
        field: path,
        value,
        message: `${path} port ${listen.port} is already taken by ${other}`,
        fix: "give the proxy a port of its own",
      });
    else owners.set(listen.port, path);
  }
  return problems;
}
