/**
 * The edge part of resolving (issue 15): routes and exposure of a service, exposure of an external, the proxy
 * and the internal networks, defaulted and with paths made absolute. Called by ./resolve.ts.
 */
import { resolve as resolvePath } from "node:path";
import type { Manifest, ServiceEntry } from "./schema";
import { bindAddress, parseListen } from "../model/edge";
import type { ModelEdge, Proxy, Route, ServiceEdge } from "../model/edge-types";

/** Routes and exposure of one service; a routed service is loopback whatever else was written (rules refuse that). */
export function resolveServiceEdge(entry: ServiceEntry): ServiceEdge {
  const routes: Route[] = (entry.routes ?? []).map((r) =>
    typeof r === "string"
      ? { path: r, websocket: false, stripPrefix: false }
      : { path: r.path, host: r.host, websocket: r.websocket ?? false, stripPrefix: r.stripPrefix ?? false },
  );
  return { routes, exposure: routes.length ? "loopback" : (entry.exposure ?? "loopback") };
}

/** BIND_ADDRESS and the `{bind}` placeholder of a service: the address its exposure needs. */
export function serviceBindAddress(entry: ServiceEntry): string {
  return bindAddress(resolveServiceEdge(entry).exposure);
}

/** The proxy (paths absolute against `root`) and ports.internalSources. */
export function resolveModelEdge(manifest: Manifest, root: string): ModelEdge {
  const p = manifest.proxy;
  let proxy: Proxy | undefined;
  if (p) {
    const listen = parseListen(p.listen);
    const names = p.serverName === undefined ? [] : typeof p.serverName === "string" ? [p.serverName] : p.serverName;
    proxy = { listen, serverNames: names };
    if (p.tls)
      proxy.tls = {
        certificate: resolvePath(root, p.tls.certificate),
        key: resolvePath(root, p.tls.key),
        redirectListen:
          p.tls.redirectListen === undefined
            ? { ...(listen.address === undefined ? {} : { address: listen.address }), port: 80 }
            : parseListen(p.tls.redirectListen),
      };
    if (p.acmeWebroot !== undefined) proxy.acmeWebroot = resolvePath(root, p.acmeWebroot);
  }
  return { ...(proxy ? { proxy } : {}), internalSources: manifest.ports?.internalSources ?? [] };
}
