/**
 * The edge for real: Debian's nginx (/usr/sbin/nginx) as the project's private nginx (no system file touched) in
 * front of tiny real HTTP and WebSocket services on 127.0.0.1 (test/fixtures/services/echo-http.js, ws-echo.py).
 * Routes by path and by host reach the right service, a WebSocket echoes through the proxy, a broken block is
 * refused naming its service while the old configuration keeps serving, a slow request survives a reload, and an
 * instance that is not ready receives no traffic. Ports: block "nginx-proxy" (test/helpers/ports.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCandidate } from "../../src/backend/nginx/check";
import { applyNginx, NginxRefusedError, nginxPid, stopNginx } from "../../src/backend/nginx/control";
import { waitForPort } from "../../src/inspect/port-probe";
import { verifyRoutes } from "../../src/verify/routes";
import type { Model } from "../../src/model/types";
import { nginxArgv, renderNginx } from "../../src/render/edge/nginx";
import { edgeModel, modelOf } from "../golden/edge/model";
import { FIXTURES } from "../helpers/project";
import { portsOf } from "../helpers/ports";

const NGINX = "/usr/sbin/nginx";
const PYTHON = "/usr/bin/python3";

interface Reply {
  status: number;
  json?: { service: string; port: number; url: string; headers: Record<string, string>; count: number };
  text: string;
}

function get(port: number, path: string, host?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path, headers: host ? { Host: host } : {}, agent: false },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON: an nginx page */
          }
          resolve({ status: res.statusCode!, json, text });
        });
      },
    );
    req.on("error", reject);
  });
}

const children: ChildProcess[] = [];
function startService(argv: string[], name: string, port: number): void {
  const child = spawn(argv[0], argv.slice(1), {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PORT: String(port), HOST: "127.0.0.1", SERVICE_NAME: name },
    detached: true,
    stdio: "ignore",
  });
  children.push(child);
}

let root: string;
let model: Model;
const P: Record<string, number> = {};

describe("private nginx in front of real services", () => {
  beforeAll(async () => {
    const alloc = portsOf("nginx-proxy");
    for (const k of ["proxy", "users", "billing", "admin", "ws", "pool1", "pool2"]) P[k] = await alloc.take();
    root = mkdtempSync(join(tmpdir(), "orch-edge-nginx-"));
    model = modelOf(
      {
        project: "edge",
        host: "127.0.0.1",
        proxy: { listen: `127.0.0.1:${P.proxy}` },
        services: {
          users: { port: P.users, command: "node e.js", routes: ["/api/users/"] },
          billing: { port: P.billing, command: "node e.js", routes: [{ path: "/api/billing/", stripPrefix: true }] },
          admin: { port: P.admin, command: "node e.js", routes: [{ path: "/", host: "admin.test" }] },
          ws: { port: P.ws, command: "python3 ws.py", routes: [{ path: "/ws/", websocket: true }] },
          pool: { port: P.pool1, command: "node e.js", routes: ["/pool/"] },
        },
      },
      root,
    );
    // two instances of pool, as manifest v1.1 gives them (instancePorts reads service.instances when present)
    (model.services.find((s) => s.name === "pool") as any).instances = [{ port: P.pool1 }, { port: P.pool2 }];
    const echo = join(FIXTURES, "echo-http.js");
    for (const n of ["users", "billing", "admin", "pool1", "pool2"]) startService([process.execPath, echo], n, P[n]);
    startService([PYTHON, join(FIXTURES, "ws-echo.py")], "ws", P.ws);
    for (const n of ["users", "billing", "admin", "pool1", "pool2", "ws"])
      expect((await waitForPort(P[n], { hosts: ["127.0.0.1"] })).ok, `${n} did not start`).toBe(true);
    const applied = await applyNginx(model);
    expect(applied.action).toBe("started");
    expect(await waitForPort(P.proxy, { hosts: ["127.0.0.1"] })).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    if (model && nginxPid(model) !== undefined) await stopNginx(model);
    for (const c of children) {
      try {
        process.kill(-c.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("routes by path to the right service, with X-Forwarded-* headers", async () => {
    const r = await get(P.proxy, "/api/users/42?x=1");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ service: "users", url: "/api/users/42?x=1" });
    expect(r.json!.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(r.json!.headers["x-forwarded-proto"]).toBe("http");
    expect(r.json!.headers["x-real-ip"]).toBe("127.0.0.1");
  });

  it("strips the prefix where asked and says which in X-Forwarded-Prefix", async () => {
    const r = await get(P.proxy, "/api/billing/invoices/7");
    expect(r.json).toMatchObject({ service: "billing", url: "/invoices/7" });
    expect(r.json!.headers["x-forwarded-prefix"]).toBe("/api/billing");
  });

  it("routes by host, and answers 404 for what no route claims", async () => {
    expect((await get(P.proxy, "/anything", "admin.test")).json).toMatchObject({ service: "admin", url: "/anything" });
    expect((await get(P.proxy, "/anything", "other.test")).status).toBe(404);
    expect((await get(P.proxy, "/api/users/1", "admin.test")).json!.service).toBe("admin");
  });

  it("verify: every route answered through the proxy by an instance of its own service", async () => {
    const checks = await verifyRoutes(model);
    expect(checks.map((c) => [c.service, c.ok, c.error])).toEqual([
      ["users", true, undefined],
      ["billing", true, undefined],
      ["admin", true, undefined],
      ["ws", true, undefined],
      ["pool", true, undefined],
    ]);
    expect(checks[0]).toMatchObject({
      url: `http://127.0.0.1:${P.proxy}/api/users/`,
      status: 200,
      upstream: `127.0.0.1:${P.users}`,
    });
    // a manifest that says billing owns /api/users/ while the running proxy sends it to users: drift is named
    const drift = modelOf(
      {
        project: "edge",
        host: "127.0.0.1",
        proxy: { listen: `127.0.0.1:${P.proxy}` },
        services: { billing: { port: P.billing, command: "node e.js", routes: ["/api/users/", "/nowhere/"] } },
      },
      root,
    );
    const [wrong, missing] = await verifyRoutes(drift);
    expect(wrong).toMatchObject({ ok: false, upstream: `127.0.0.1:${P.users}` });
    expect(wrong.error).toBe(
      `answered by 127.0.0.1:${P.users}, which is not an instance of billing (ports ${P.billing})`,
    );
    expect(missing).toMatchObject({ ok: false, status: 404 });
    expect(missing.error).toMatch(/answered 404 by nginx itself: no location sends it to billing/);
  });

  it("passes a WebSocket through the proxy (echo)", () => {
    const client = [
      "import asyncio, sys, websockets",
      "async def main():",
      "    async with websockets.connect(sys.argv[1]) as ws:",
      "        await ws.send('hello through nginx')",
      "        print(await asyncio.wait_for(ws.recv(), 10))",
      "asyncio.run(main())",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", client, `ws://127.0.0.1:${P.proxy}/ws/chat`], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("ws:/ws/chat:hello through nginx");
  });

  it("sends nothing to an instance that is not ready, and both once both are", async () => {
    await applyNginx(model, { readyPorts: new Set([P.users, P.billing, P.admin, P.ws, P.pool1]) });
    const served = new Set<number>();
    for (let i = 0; i < 12; i++) served.add((await get(P.proxy, "/pool/x")).json!.port);
    expect([...served]).toEqual([P.pool1]);
    await applyNginx(model);
    const both = new Set<number>();
    for (let i = 0; i < 12 && both.size < 2; i++) both.add((await get(P.proxy, "/pool/x")).json!.port);
    expect([...both].sort()).toEqual([P.pool1, P.pool2].sort());
  });

  it("an instance that refuses connections costs no request: proxy_next_upstream tries the next one", async () => {
    const pool2 = children[4]; // users, billing, admin, pool1, pool2, ws
    process.kill(-pool2.pid!, "SIGTERM");
    await new Promise((r) => (pool2.exitCode !== null ? r(null) : pool2.once("exit", r)));
    for (let i = 0; i < 12; i++) {
      const r = await get(P.proxy, "/pool/after-crash");
      expect(r.status).toBe(200);
      expect(r.json!.port).toBe(P.pool1);
    }
  });

  it("refuses a broken block naming its service and file; the old configuration keeps serving", async () => {
    const files = renderNginx(model).map((f) =>
      f.path === "units/nginx/locations/billing.conf"
        ? { ...f, content: f.content.replace("proxy_pass", "proxy_passs") }
        : f,
    );
    const before = readFileSync(join(root, "units/nginx/locations/billing.conf"), "utf8");
    const pid = nginxPid(model);
    const err = await applyNginx(model, { files }).catch((e) => e);
    expect(err).toBeInstanceOf(NginxRefusedError);
    expect(err.exitCode).toBe(1);
    expect(err.refusals).toHaveLength(1);
    expect(err.refusals[0]).toMatchObject({
      service: "billing",
      file: expect.stringMatching(/^units\/nginx\/locations\/billing\.conf:\d+$/),
    });
    expect(err.refusals[0].message).toMatch(/unknown directive "proxy_passs"/);
    expect(err.message).toMatch(/service billing: units\/nginx\/locations\/billing\.conf:\d+/);
    expect(readFileSync(join(root, "units/nginx/locations/billing.conf"), "utf8")).toBe(before);
    expect(nginxPid(model)).toBe(pid);
    expect((await get(P.proxy, "/api/billing/still")).json).toMatchObject({ service: "billing", url: "/still" });
  });

  it("a request in flight completes across a reload", async () => {
    const count = async () => (await get(P.users, "/probe")).json!.count;
    const base = await count();
    const slow = get(P.proxy, "/api/users/slow?ms=1500");
    // the reload must happen while the request is in flight: poll the service until it has received it
    // (each probe counts itself too)
    for (let probes = 1; (await count()) < base + probes + 1; probes++) expect(probes).toBeLessThan(500);
    const changed = modelOf(
      {
        project: "edge",
        host: "127.0.0.1",
        proxy: { listen: `127.0.0.1:${P.proxy}` },
        services: {
          users: { port: P.users, command: "node e.js", routes: ["/api/users/", "/people/"] },
          billing: { port: P.billing, command: "node e.js", routes: [{ path: "/api/billing/", stripPrefix: true }] },
          admin: { port: P.admin, command: "node e.js", routes: [{ path: "/", host: "admin.test" }] },
          ws: { port: P.ws, command: "python3 ws.py", routes: [{ path: "/ws/", websocket: true }] },
          pool: { port: P.pool1, command: "node e.js", routes: ["/pool/"] },
        },
      },
      root,
    );
    const applied = await applyNginx(changed);
    expect(applied).toMatchObject({ action: "reloaded" });
    expect(applied.changed).toContain("units/nginx/locations/users.conf");
    expect((await get(P.proxy, "/people/1")).json).toMatchObject({ service: "users", url: "/people/1" });
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ service: "users", url: "/api/users/slow?ms=1500" });
  });

  it("verify: a route whose service is down is blamed on that service, not on the route (nginx's own 502)", async () => {
    const billing = children[1]; // users, billing, admin, pool1, pool2, ws
    process.kill(-billing.pid!, "SIGTERM");
    await new Promise((r) => (billing.exitCode !== null ? r(null) : billing.once("exit", r)));
    const checks = await verifyRoutes(model);
    const down = checks.find((c) => c.service === "billing")!;
    expect(down).toMatchObject({ ok: false, status: 502, upstream: `127.0.0.1:${P.billing}` });
    expect(down.error).toBe(`nginx answered 502: no instance of billing accepts connections (port ${P.billing})`);
    expect(down.fix).toMatch(/^billing is down or still starting: .*orchestrate logs billing/);
    expect(checks.filter((c) => !c.ok).map((c) => c.service)).toEqual(["billing"]);
    // the same service with autostart: false is started by hand: its route is not requested, and passes
    const manual = {
      ...model,
      services: model.services.map((s) => (s.name === "billing" ? { ...s, autostart: false } : s)),
    };
    const skipped = (await verifyRoutes(manual)).find((c) => c.service === "billing")!;
    expect(skipped).toMatchObject({ ok: true, skipped: "billing is not started (autostart: false)" });
    expect(skipped.status).toBeUndefined();
  });
});

describe("TLS, the redirect and the ACME webroot, nginx in the foreground (as under supervisord)", () => {
  let r: string;
  let fg: ChildProcess | undefined;
  let tlsModel: Model;
  const ports: Record<string, number> = {};
  afterAll(async () => {
    if (tlsModel && nginxPid(tlsModel) !== undefined) await stopNginx(tlsModel);
    if (fg && fg.exitCode === null) fg.kill("SIGQUIT");
    if (r) rmSync(r, { recursive: true, force: true });
  });

  it("serves HTTPS on listen, redirects plain HTTP to it and serves ACME challenges", async () => {
    const alloc = portsOf("nginx-proxy", { low: 29100, high: 29199 });
    for (const k of ["https", "http", "svc"]) ports[k] = await alloc.take();
    r = mkdtempSync(join(tmpdir(), "orch-edge-tls-"));
    // started as root, nginx's workers run as nobody (its compiled-in user): the webroot must be readable by them
    chmodSync(r, 0o755);
    mkdirSync(join(r, "tls"));
    mkdirSync(join(r, "acme/.well-known/acme-challenge"), { recursive: true });
    writeFileSync(join(r, "acme/.well-known/acme-challenge/token123"), "token123.thumbprint");
    const ssl = spawnSync("/usr/bin/openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=example.test",
      "-keyout",
      join(r, "tls/privkey.pem"),
      "-out",
      join(r, "tls/fullchain.pem"),
    ]);
    expect(ssl.status).toBe(0);
    tlsModel = modelOf(
      {
        project: "edge-tls",
        proxy: {
          listen: `127.0.0.1:${ports.https}`,
          serverName: "example.test",
          tls: { certificate: "tls/fullchain.pem", key: "tls/privkey.pem", redirectListen: `127.0.0.1:${ports.http}` },
          acmeWebroot: "acme",
        },
        services: { app: { port: ports.svc, command: "node e.js", routes: ["/"] } },
      },
      r,
    );
    startService([process.execPath, join(FIXTURES, "echo-http.js")], "app", ports.svc);
    expect((await waitForPort(ports.svc, { hosts: ["127.0.0.1"] })).ok).toBe(true);
    const applied = await applyNginx(tlsModel, { start: false });
    expect(applied.action).toBe("written");
    // in the foreground, as a supervisord program would run it: -g "daemon off;"
    const argv = nginxArgv(tlsModel, { foreground: true });
    expect(argv.slice(-2)).toEqual(["-g", "daemon off;"]);
    fg = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
    expect((await waitForPort(ports.https, { hosts: ["127.0.0.1"] })).ok).toBe(true);
    // the pid file is written just after the sockets are bound
    for (let i = 0; i < 1000 && nginxPid(tlsModel) === undefined; i++) await new Promise((res) => setTimeout(res, 10));
    expect(nginxPid(tlsModel)).toBe(fg.pid);
    const curl = (...args: string[]) =>
      spawnSync("/usr/bin/curl", ["-sS", "-w", "\n%{http_code} %{redirect_url}", ...args], {
        encoding: "utf8",
      }).stdout;
    const https = curl("-k", `https://127.0.0.1:${ports.https}/hello`);
    expect(https).toMatch(/"service":"app"/);
    expect(https).toMatch(/"x-forwarded-proto":"https"/);
    expect(https.trim().endsWith("200")).toBe(true);
    expect(curl(`http://127.0.0.1:${ports.http}/hello?x=1`).trim().split("\n").pop()).toBe(
      `301 https://127.0.0.1:${ports.https}/hello?x=1`,
    );
    expect(curl(`http://127.0.0.1:${ports.http}/.well-known/acme-challenge/token123`)).toMatch(
      /^token123\.thumbprint\n200 $/,
    );
    expect(curl(`http://127.0.0.1:${ports.http}/.well-known/acme-challenge/missing`)).toMatch(/\n404 $/);
    await stopNginx(tlsModel);
    expect(fg.exitCode ?? (await new Promise((res) => fg!.once("exit", res)))).toBe(0);
  });
});

describe("nginx -t on generated configurations", () => {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempRoot = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), "orch-edge-t-"));
    made.push(d);
    const r = join(d, name);
    mkdirSync(r);
    return r;
  };

  it("accepts the golden model under a root with spaces, quotes, backslashes and unicode", async () => {
    const plain = edgeModel(tempRoot("plain"));
    expect(await checkCandidate(plain, renderNginx(plain))).toEqual({ ok: true, refusals: [] });
    const hostile = edgeModel(tempRoot('a "b" \\c ☃'));
    expect(await checkCandidate(hostile, renderNginx(hostile))).toEqual({ ok: true, refusals: [] });
  });

  it("accepts the TLS variant with a real certificate, and names server.conf (no service) when it is missing", async () => {
    const r = tempRoot("tls");
    const tls = edgeModel(r, true);
    const missing = await checkCandidate(tls, renderNginx(tls));
    expect(missing.ok).toBe(false);
    expect(missing.refusals).toHaveLength(1);
    expect(missing.refusals[0].service).toBeUndefined();
    expect(missing.refusals[0].file).toMatch(/^units\/nginx\/server\.conf(:\d+)?$/);
    expect(missing.refusals[0].message).toMatch(/fullchain\.pem/);
    mkdirSync(join(r, "tls"));
    const ssl = spawnSync("/usr/bin/openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=example.test",
      "-keyout",
      join(r, "tls/privkey.pem"),
      "-out",
      join(r, "tls/fullchain.pem"),
    ]);
    expect(ssl.status).toBe(0);
    expect(await checkCandidate(tls, renderNginx(tls))).toEqual({ ok: true, refusals: [] });
  });

  it("uses the nginx it says", () => {
    expect(spawnSync(NGINX, ["-v"]).status).toBe(0);
  });
});
