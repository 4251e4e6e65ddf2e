/**
 * The manifests behind the edge golden files (nginx, nftables, ufw): path and host routes, a WebSocket route that
 * strips its prefix, every exposure, internal networks of both families, and a TLS variant with an ACME webroot.
 * `root` is /srv/demo for the goldens and a real temp folder for test/e2e/nginx-proxy.test.ts (nginx -t).
 */
import { join } from "node:path";
import { resolveModel } from "../../../src/manifest/resolve";
import { validateManifest } from "../../../src/manifest/validate";
import type { Model } from "../../../src/model/types";

/** The plain-HTTP edge manifest (raw JSON). Ports are given so e2e tests can reuse it with their own. */
export function edgeManifest(
  ports = { proxy: 8080, users: 8001, users2: 8002, admin: 8003, ws: 8004, metrics: 8005, pub: 8006 },
) {
  return {
    project: "demo-edge",
    host: "127.0.0.1",
    ports: { internalSources: ["10.0.0.0/8", "192.168.10.0/24", "fd00::/8"] },
    external: {
      redis: { port: 6379 },
      postgres: { port: 5432, exposure: "internal" },
      cdn: { port: 9443, host: "cdn.example.test", exposure: "public" },
    },
    proxy: { listen: ports.proxy, serverName: ["example.test", "www.example.test"] },
    services: {
      users: { port: ports.users, command: "/usr/bin/node users.js", routes: ["/api/users/", "/api/v1/users/"] },
      users2: { port: ports.users2, command: "/usr/bin/node users.js", routes: ["/api/v2/users/"] },
      admin: {
        port: ports.admin,
        command: "/usr/bin/node admin.js",
        routes: [{ path: "/", host: "admin.example.test" }, "/admin/"],
      },
      ws: {
        port: ports.ws,
        command: "/usr/bin/python3 ws.py",
        routes: [{ path: "/ws/", websocket: true, stripPrefix: true }],
      },
      metrics: { port: ports.metrics, command: "/usr/bin/node m.js --host {bind}", exposure: "internal" },
      pub: { port: ports.pub, command: "/usr/bin/node p.js", exposure: "public" },
      job: { command: "/usr/bin/node job.js" },
      off: { port: 8099, command: "/usr/bin/node off.js", enabled: false, routes: ["/off/"] },
    },
  };
}

/** Resolves a raw manifest placed at root/manifest.json; throws with the problems when it does not validate. */
export function modelOf(raw: unknown, root: string): Model {
  const v = validateManifest(raw);
  if (!v.manifest) throw new Error(JSON.stringify(v.errors, null, 2));
  return resolveModel(v.manifest, join(root, "manifest.json"));
}

/** The edge model; with `tls` the proxy serves HTTPS on 8443, redirects from 8081 and serves the ACME webroot. */
export function edgeModel(root: string, tls = false): Model {
  const raw = edgeManifest() as any;
  if (tls)
    raw.proxy = {
      listen: "0.0.0.0:8443",
      serverName: "example.test",
      tls: { certificate: "tls/fullchain.pem", key: "tls/privkey.pem", redirectListen: "0.0.0.0:8081" },
      acmeWebroot: "acme",
    };
  return modelOf(raw, root);
}
