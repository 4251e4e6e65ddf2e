/** Table tests for the edge keys of the manifest: proxy, routes, exposure, ports.internalSources (issue 15). */
import { describe, expect, it } from "vitest";
import { resolveModel } from "../../src/manifest/resolve";
import { nextFreePort } from "../../src/manifest/rules/ports";
import { isCidr } from "../../src/manifest/rules/routes";
import { viewOf } from "../../src/manifest/view";
import { validateManifest } from "../../src/manifest/validate";
import { parseListen } from "../../src/model/edge";

type Json = Record<string, any>;

function base(): Json {
  return {
    project: "demo",
    host: "127.0.0.1",
    ports: { internalSources: ["10.0.0.0/8", "fd00::/8"], reserved: { "8083": "kept" }, avoid: [7000] },
    external: { redis: { port: 6379 }, postgres: { port: 5432, exposure: "internal" } },
    proxy: { listen: 8080, serverName: "example.test" },
    services: {
      users: { port: 8001, command: "/usr/bin/node u.js", routes: ["/api/users/"] },
      admin: { port: 8002, command: "/usr/bin/node a.js", routes: [{ path: "/", host: "admin.example.test" }] },
      ws: { port: 8003, command: "/usr/bin/node w.js", routes: [{ path: "/ws/", websocket: true, stripPrefix: true }] },
      metrics: { port: 8004, command: "/usr/bin/node m.js --bind {bind}", exposure: "internal" },
      worker: { command: "/usr/bin/node job.js" },
    },
  };
}

type Row = [
  string,
  (m: Json) => void,
  { severity: "error" | "warning"; field: string; service?: string; message: RegExp } | null,
];

const rows: Row[] = [
  ["valid edge manifest", () => {}, null],
  [
    "two services claim the same path",
    (m) => (m.services.admin.routes = ["/api/users/"]),
    { severity: "error", field: "routes.0", service: "admin", message: /claimed by both users and admin/ },
  ],
  [
    "two services claim the same host + path",
    (m) => (m.services.users.routes = [{ path: "/", host: "admin.example.test" }]),
    {
      severity: "error",
      field: "routes.0",
      service: "admin",
      message: /host admin\.example\.test, path \/ is claimed by both users and admin/,
    },
  ],
  [
    "same path on different hosts is fine",
    (m) => (m.services.users.routes = [{ path: "/", host: "users.example.test" }]),
    null,
  ],
  [
    "a host that is the serverName is the default server",
    (m) => (m.services.admin.routes = [{ path: "/api/users/", host: "example.test" }]),
    {
      severity: "error",
      field: "routes.0",
      service: "admin",
      message: /path \/api\/users\/ is claimed by both users and admin/,
    },
  ],
  [
    "the same route twice in one service",
    (m) => (m.services.users.routes = ["/a/", "/a/"]),
    { severity: "error", field: "routes.1", service: "users", message: /claimed by both users and users/ },
  ],
  [
    "a path must start with /",
    (m) => (m.services.users.routes = ["api/"]),
    { severity: "error", field: "routes.0", service: "users", message: /is not valid/ },
  ],
  [
    "a path with % is refused",
    (m) => (m.services.users.routes = ["/a%20b/"]),
    { severity: "error", field: "routes.0", service: "users", message: /is not valid/ },
  ],
  [
    "a path with $ is refused",
    (m) => (m.services.users.routes = ["/$x/"]),
    { severity: "error", field: "routes.0", service: "users", message: /is not valid/ },
  ],
  [
    "a host must be a host name",
    (m) => (m.services.admin.routes = [{ path: "/", host: "Admin_Example" }]),
    { severity: "error", field: "routes.0.host", service: "admin", message: /is not valid/ },
  ],
  [
    "a route on a worker",
    (m) => (m.services.worker.routes = ["/jobs/"]),
    { severity: "error", field: "routes", service: "worker", message: /no port: a worker cannot receive requests/ },
  ],
  [
    "a routed service with public exposure",
    (m) => (m.services.users.exposure = "public"),
    { severity: "error", field: "exposure", service: "users", message: /routed service stays on loopback/ },
  ],
  [
    "stripPrefix needs a trailing slash",
    (m) => (m.services.ws.routes = [{ path: "/ws", stripPrefix: true }]),
    { severity: "error", field: "routes.0.path", service: "ws", message: /does not end with "\/"/ },
  ],
  [
    "unknown exposure",
    (m) => (m.services.metrics.exposure = "world"),
    { severity: "error", field: "exposure", service: "metrics", message: /is not valid/ },
  ],
  [
    "external exposure is validated",
    (m) => (m.external.redis.exposure = "everyone"),
    { severity: "error", field: "external.redis.exposure", message: /is not valid/ },
  ],
  [
    "internalSources must be CIDRs",
    (m) => (m.ports.internalSources = ["10.0.0.0/33"]),
    { severity: "error", field: "ports.internalSources.0", message: /not an IPv4 or IPv6 network/ },
  ],
  [
    "internalSources: a bad address",
    (m) => (m.ports.internalSources = ["300.1.1.1/8"]),
    { severity: "error", field: "ports.internalSources.0", message: /not an IPv4 or IPv6 network/ },
  ],
  [
    "internal exposure without internalSources",
    (m) => delete m.ports.internalSources,
    {
      severity: "warning",
      field: "ports.internalSources",
      message: /service metrics, external postgres are "internal"/,
    },
  ],
  [
    "routes without a proxy",
    (m) => delete m.proxy,
    { severity: "warning", field: "proxy", message: /3 services have routes but there is no "proxy"/ },
  ],
  [
    "proxy port taken by a service",
    (m) => (m.proxy.listen = "127.0.0.1:8001"),
    { severity: "error", field: "proxy.listen", message: /port 8001 is already taken by service users/ },
  ],
  [
    "proxy port taken by an external",
    (m) => (m.proxy.listen = 6379),
    { severity: "error", field: "proxy.listen", message: /already taken by external redis/ },
  ],
  [
    "proxy port reserved",
    (m) => (m.proxy.listen = 8083),
    { severity: "error", field: "proxy.listen", message: /already taken by ports.reserved/ },
  ],
  [
    "proxy listen not an address",
    (m) => (m.proxy.listen = "999.1.1.1:8080"),
    { severity: "error", field: "proxy.listen", message: /is not an IP address/ },
  ],
  [
    "proxy listen out of range",
    (m) => (m.proxy.listen = "127.0.0.1:70000"),
    { severity: "error", field: "proxy.listen", message: /not 1-65535/ },
  ],
  [
    "TLS redirect on the same port as listen",
    (m) => (m.proxy.tls = { certificate: "c.pem", key: "k.pem", redirectListen: 8080 }),
    { severity: "error", field: "proxy.tls.redirectListen", message: /already taken by proxy.listen/ },
  ],
  [
    "unknown proxy key",
    (m) => (m.proxy.server_name = "x"),
    { severity: "error", field: "proxy.server_name", message: /unknown key/ },
  ],
  [
    "BIND_ADDRESS is set by orchestrate",
    (m) => (m.services.metrics.env = { BIND_ADDRESS: "1.2.3.4" }),
    { severity: "error", field: "env.BIND_ADDRESS", service: "metrics", message: /set by orchestrate/ },
  ],
];

describe("edge rules", () => {
  it.each(rows)("%s", (_title, change, expected) => {
    const m = base();
    change(m);
    const { problems, manifest } = validateManifest(m);
    if (expected === null) {
      expect(problems).toEqual([]);
      expect(manifest).toBeDefined();
      return;
    }
    const match = problems.find(
      (p) =>
        p.severity === expected.severity &&
        p.field === expected.field &&
        (expected.service === undefined || p.service === expected.service) &&
        expected.message.test(p.message),
    );
    expect(match, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(match!.fix, "every problem says how to fix it").toBeTruthy();
    expect(manifest === undefined).toBe(expected.severity === "error");
  });
});

describe("edge resolve", () => {
  const model = resolveModel(validateManifest(base()).manifest!, "/srv/demo/manifest.json");
  const by = (n: string) => model.services.find((s) => s.name === n)!;
  it("defaults routes and exposure", () => {
    expect(by("users").routes).toEqual([{ path: "/api/users/", websocket: false, stripPrefix: false }]);
    expect(by("ws").routes).toEqual([{ path: "/ws/", websocket: true, stripPrefix: true }]);
    expect(by("users").exposure).toBe("loopback");
    expect(by("metrics").exposure).toBe("internal");
    expect(model.external.map((e) => [e.name, e.exposure])).toEqual([
      ["redis", "loopback"],
      ["postgres", "internal"],
    ]);
  });
  it("gives the bind address as {bind} and BIND_ADDRESS", () => {
    expect(by("metrics").argv).toEqual(["/usr/bin/node", "m.js", "--bind", "0.0.0.0"]);
    expect(by("metrics").env.BIND_ADDRESS).toBe("0.0.0.0");
    expect(by("users").env.BIND_ADDRESS).toBe("127.0.0.1");
    expect(by("worker").env.BIND_ADDRESS).toBeUndefined();
  });
  it("resolves the proxy", () => {
    expect(model.proxy).toEqual({ listen: { port: 8080 }, serverNames: ["example.test"] });
    expect(model.internalSources).toEqual(["10.0.0.0/8", "fd00::/8"]);
    const m = base();
    m.proxy = { listen: "[::1]:8443", tls: { certificate: "tls/c.pem", key: "/etc/k.pem" }, acmeWebroot: "acme" };
    const tls = resolveModel(validateManifest(m).manifest!, "/srv/demo/manifest.json").proxy!;
    expect(tls).toEqual({
      listen: { address: "::1", port: 8443 },
      serverNames: [],
      tls: { certificate: "/srv/demo/tls/c.pem", key: "/etc/k.pem", redirectListen: { address: "::1", port: 80 } },
      acmeWebroot: "/srv/demo/acme",
    });
  });
  it("never allocates a proxy port to a service", () => {
    const m = base();
    m.proxy = { listen: "127.0.0.1:8005", tls: { certificate: "c", key: "k", redirectListen: 8006 } };
    expect(viewOf(m).proxyPorts).toEqual([8005, 8006]);
    expect(nextFreePort(viewOf(m), [{ low: 8001, high: 8010 }])).toBe(8007);
  });
  it("reads listen values and CIDRs", () => {
    expect(parseListen("*:80")).toEqual({ port: 80 });
    expect(parseListen("0.0.0.0:80")).toEqual({ address: "0.0.0.0", port: 80 });
    expect(() => parseListen("localhost:80")).toThrow(/not PORT or ADDR:PORT/);
    expect(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"].every(isCidr)).toBe(true);
    expect(["10.0.0.0/8/1", "10.0.0/8", "fd00::/129", "x/8", "10.0.0.0/"].some(isCidr)).toBe(false);
  });
});
