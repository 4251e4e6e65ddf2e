/**
 * The proxy through the BUILT CLI, with a real private supervisord and Debian's real nginx: `restart` brings nginx
 * up after the services are ready and every route answers through it from its own service; `proxy status`;
 * setUpstreamMembers takes an instance out of its upstream and puts it back; a route nginx refuses (a path longer
 * than nginx's 4 KB parameter buffer: valid JSON, refused by nginx's parser) makes `proxy reload` exit 1 naming the
 * service, file and nginx's message while the old configuration keeps serving; verify fails when a route reaches
 * the wrong service and when nginx is down; check-ports finds a loopback service bound to 0.0.0.0; `ports` shows
 * the public surface; `install --nginx-conf-dir` into a temp folder read by a second nginx, removing only what it
 * installed. Everything on 127.0.0.1. Ports: block "cli-proxy" (test/helpers/ports.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nginxPid } from "../../src/backend/nginx/control";
import { setUpstreamMembers } from "../../src/fleet/proxy";
import { loadProject } from "../../src/manifest";
import { HTTP_SERVICE, PYTHON } from "../helpers/fleet-copy";
import { portsOf } from "../helpers/ports";
import { createProject, ensureBuilt, show, type TestProject } from "../helpers/project";

const NGINX = "/usr/sbin/nginx";

function get(port: number, path: string): Promise<{ status: number; json?: any; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          /* an nginx page */
        }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    req.on("error", reject);
  });
}

const P: Record<string, number> = {};
let project: TestProject;
let manifest: any;

function service(name: string, port: number, extra: object = {}): object {
  return { port, command: [PYTHON, HTTP_SERVICE, name], directory: "/tmp", health: "/health", ...extra };
}

beforeAll(async () => {
  expect(existsSync(NGINX), `these tests need nginx at ${NGINX}: apt-get install -y nginx-light`).toBe(true);
  ensureBuilt();
  const alloc = portsOf("cli-proxy");
  for (const k of ["proxy", "web", "web1", "api", "wild"]) P[k] = await alloc.take();
  manifest = {
    project: "edge2",
    host: "127.0.0.1",
    proxy: { listen: `127.0.0.1:${P.proxy}` },
    services: {
      web: service("web", P.web, { instances: 2, ports: [P.web, P.web1], routes: ["/"] }),
      api: service("api", P.api, { routes: [{ path: "/api/", stripPrefix: true }] }),
      // ignores BIND_ADDRESS: listens on every interface (the exposure audit's finding)
      wild: {
        port: P.wild,
        command: ["/bin/sh", "-c", `HOST=0.0.0.0 exec ${PYTHON} ${HTTP_SERVICE} wild`],
        directory: "/tmp",
        health: "/health",
      },
    },
  };
  delete manifest.services.web.port;
  project = createProject("edge2", manifest);
}, 60_000);

afterAll(async () => {
  await project?.cleanup();
}, 60_000);

describe("the proxy through the CLI", { timeout: 120_000 }, () => {
  it("restart brings up nginx after the services; every route answers through it from its own service", async () => {
    const r = await project.cli(["restart"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/\[7\/8\] bring up the proxy \(nginx\)/);
    expect(r.stdout).toMatch(/proxy URLs/);
    expect(r.stdout).toContain(`http://127.0.0.1:${P.proxy}/api/`);
    const web = await get(P.proxy, "/");
    expect(web.json).toMatchObject({ service: "web" });
    expect([P.web, P.web1]).toContain(web.json.port);
    expect((await get(P.proxy, "/api/")).json).toMatchObject({ service: "api", port: P.api });
    const v = await project.cli(["verify", "--json"]);
    expect(v.exitCode, show(v)).toBe(0);
    const json = JSON.parse(v.stdout);
    expect(json.proxy.ok).toBe(true);
    expect(json.proxy.routes.map((x: any) => [x.route, x.service, x.ok])).toEqual([
      ["/", "web", true],
      ["/api/", "api", true],
    ]);
  });

  it("proxy status names the running nginx and each upstream's members", async () => {
    const r = await project.cli(["proxy", "status", "--json"]);
    expect(r.exitCode, show(r)).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ running: true, pid: nginxPid({ paths: project.paths }) });
    expect(s.upstreams).toEqual([
      {
        service: "web",
        instances: [
          { port: P.web, member: true },
          { port: P.web1, member: true },
        ],
      },
      { service: "api", instances: [{ port: P.api, member: true }] },
    ]);
  });

  it("setUpstreamMembers takes an instance out of its upstream and puts it back (a reload, the same master)", async () => {
    const { model } = loadProject(project.manifestPath);
    const pid = nginxPid(model);
    await setUpstreamMembers(model, "web", [0]);
    for (let i = 0; i < 6; i++) expect((await get(P.proxy, `/?i=${i}`)).json.port).toBe(P.web);
    const out = JSON.parse((await project.cli(["proxy", "status", "--json"])).stdout);
    expect(out.upstreams[0].instances).toEqual([
      { port: P.web, member: true },
      { port: P.web1, member: false },
    ]);
    // a reload (a certificate renewal's deploy hook) keeps the instance out
    expect((await project.cli(["proxy", "reload"])).exitCode).toBe(0);
    for (let i = 0; i < 4; i++) expect((await get(P.proxy, `/?j=${i}`)).json.port).toBe(P.web);
    await setUpstreamMembers(model, "web", [0, 1]);
    const seen = new Set<number>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await get(P.proxy, `/?k=${i}`)).json.port);
    expect([...seen].sort()).toEqual([P.web, P.web1].sort());
    expect(nginxPid(model)).toBe(pid);
    await expect(setUpstreamMembers(model, "wild", [0])).rejects.toThrow(/wild is not behind the proxy/);
  });

  it("proxy reload refuses a route nginx cannot parse, naming service, file and nginx's message; the old one serves", async () => {
    const text = readFileSync(project.manifestPath, "utf8");
    const broken = structuredClone(manifest);
    broken.services.api.routes.push({ path: `/api/${"x".repeat(5000)}/`, stripPrefix: true });
    project.writeManifest(broken);
    try {
      const file = join(project.root, "units/nginx/locations/api.conf");
      const before = readFileSync(file, "utf8");
      const pid = nginxPid({ paths: project.paths });
      const r = await project.cli(["proxy", "reload"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stderr).toMatch(/service api: units\/nginx\/locations\/api\.conf:\d+: .*too long parameter/);
      expect(r.stderr).toMatch(/the running one keeps serving/);
      expect(readFileSync(file, "utf8")).toBe(before);
      expect(nginxPid({ paths: project.paths })).toBe(pid);
      expect((await get(P.proxy, "/api/")).json).toMatchObject({ service: "api" });
    } finally {
      project.writeManifest(text);
    }
  });

  it("verify fails when a route reaches the wrong service, and passes again after proxy reload", async () => {
    // hand-edit the api upstream to point at web, and reload nginx behind orchestrate's back
    const upstream = join(project.root, "units/nginx/upstreams/api.conf");
    writeFileSync(upstream, readFileSync(upstream, "utf8").replace(`127.0.0.1:${P.api}`, `127.0.0.1:${P.web}`));
    const { model } = loadProject(project.manifestPath);
    const argv = ["-p", join(project.paths.run, "nginx") + "/", "-c", join(project.root, "units/nginx/nginx.conf")];
    expect(spawnSync(NGINX, [...argv, "-e", join(project.paths.logs, "nginx.error.log"), "-s", "reload"]).status).toBe(
      0,
    );
    let v = await project.cli(["verify"]);
    for (let i = 0; i < 50 && v.exitCode === 0; i++) v = await project.cli(["verify"]); // the reload is asynchronous
    expect(v.exitCode, show(v)).toBe(1);
    expect(v.stdout).toMatch(
      new RegExp(`proxy /api/: .*answered by 127\\.0\\.0\\.1:${P.web}, which is not an instance of api`),
    );
    const r = await project.cli(["proxy", "reload"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/nginx reloaded/);
    expect((await project.cli(["verify"])).exitCode).toBe(0);
    expect(nginxPid(model)).toBeDefined();
  });

  it("check-ports: a loopback service listening on 0.0.0.0 is a finding with the fix (exit 1); ports shows the surface", async () => {
    const r = await project.cli(["check-ports"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`service wild is "loopback" but port ${P.wild} listens on 0\\.0\\.0\\.0 \\(all interfaces\\)`),
    );
    expect(r.stdout).toMatch(/fix: bind \{bind\} \/ \$BIND_ADDRESS \(127\.0\.0\.1\)/);
    const j = JSON.parse((await project.cli(["check-ports", "--json"])).stdout);
    expect(j.ok).toBe(false);
    expect(j.exposure.map((f: any) => [f.severity, f.owner.name, f.port])).toEqual([["error", "wild", P.wild]]);
    const ports = JSON.parse((await project.cli(["ports", "--json"])).stdout);
    expect(ports.surface.public).toEqual([]);
    expect(ports.surface.routes.map((x: any) => [x.url, x.service])).toEqual([
      [`http://127.0.0.1:${P.proxy}/`, "web"],
      [`http://127.0.0.1:${P.proxy}/api/`, "api"],
    ]);
  });

  it("verify fails when nginx is down, naming it; restart brings it back", async () => {
    const { model } = loadProject(project.manifestPath);
    const pid = nginxPid(model)!;
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 200 && nginxPid(model) !== undefined; i++) await new Promise((r) => setTimeout(r, 25));
    const v = await project.cli(["verify"]);
    expect(v.exitCode, show(v)).toBe(1);
    expect(v.stdout).toMatch(/proxy: nginx is not running/);
    const r = await project.cli(["restart"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    expect(nginxPid(model)).toBeDefined();
  });

  it("install --nginx-conf-dir: a second nginx reading the folder serves the routes; only its own files are removed", async () => {
    // the private nginx holds the proxy port: stop it (shutdown stops nginx too; the services are not needed
    // running for the check, but are for the requests, so only nginx is stopped here)
    const { model } = loadProject(project.manifestPath);
    spawnSync(NGINX, [
      "-p",
      join(project.paths.run, "nginx") + "/",
      "-c",
      join(project.root, "units/nginx/nginx.conf"),
      "-e",
      join(project.paths.logs, "nginx.error.log"),
      "-s",
      "quit",
    ]);
    for (let i = 0; i < 200 && nginxPid(model) !== undefined; i++) await new Promise((r) => setTimeout(r, 25));
    const sys = mkdtempSync(join(tmpdir(), "orch-edge2-sysnginx-"));
    const confd = join(sys, "conf.d");
    mkdirSync(confd);
    writeFileSync(join(confd, "other-site.conf"), "# another site's file: never touched\n");
    try {
      const r = await project.cli(["install", "--nginx-conf-dir", confd]);
      expect(r.exitCode, show(r)).toBe(0);
      expect(r.stdout).toMatch(/checked with nginx -t first/);
      const entry = readFileSync(join(confd, "orchestrate-edge2.conf"), "utf8");
      expect(entry).toContain(`include "${join(confd, "orchestrate-edge2", "server.conf")}";`);
      // a "system" nginx.conf elsewhere: relative includes would resolve against ITS folder
      const main = join(sys, "etc", "nginx.conf");
      mkdirSync(join(sys, "etc"));
      mkdirSync(join(sys, "tmp"));
      writeFileSync(
        main,
        [
          `pid ${sys}/nginx.pid;`,
          `error_log ${sys}/error.log;`,
          "events {}",
          "http {",
          `  access_log ${sys}/access.log;`,
          ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${sys}/tmp/${t};`),
          `  include ${confd}/*.conf;`,
          "}",
          "",
        ].join("\n"),
      );
      const start = spawnSync(NGINX, ["-p", `${sys}/`, "-c", main, "-e", `${sys}/error.log`], { encoding: "utf8" });
      expect(start.status, start.stderr).toBe(0);
      const masterPid = async () => {
        for (let i = 0; i < 200; i++) {
          if (existsSync(`${sys}/nginx.pid`)) return Number(readFileSync(`${sys}/nginx.pid`, "utf8"));
          await new Promise((res) => setTimeout(res, 25));
        }
        throw new Error("second nginx wrote no pid file");
      };
      const pid = await masterPid();
      try {
        expect((await get(P.proxy, "/api/")).json).toMatchObject({ service: "api" });
        expect((await get(P.proxy, "/")).json).toMatchObject({ service: "web" });
      } finally {
        process.kill(pid, "SIGQUIT");
        for (let i = 0; i < 200; i++) {
          try {
            process.kill(pid, 0);
          } catch {
            break;
          }
          await new Promise((res) => setTimeout(res, 25));
        }
      }
      // api loses its routes: its files go, the other site's file stays
      const fewer = structuredClone(manifest);
      delete fewer.services.api.routes;
      project.writeManifest(fewer);
      const again = await project.cli(["install", "--nginx-conf-dir", confd]);
      expect(again.exitCode, show(again)).toBe(0);
      expect(again.stdout).toMatch(/removed .*upstreams\/api\.conf/);
      expect(existsSync(join(confd, "orchestrate-edge2", "upstreams", "api.conf"))).toBe(false);
      expect(existsSync(join(confd, "orchestrate-edge2", "upstreams", "web.conf"))).toBe(true);
      expect(readFileSync(join(confd, "other-site.conf"), "utf8")).toMatch(/never touched/);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });

  it("restart after the proxy is removed from the manifest stops nginx (its old routes would keep serving)", async () => {
    const up = await project.cli(["restart"]);
    await project.trackAll();
    expect(up.exitCode, show(up)).toBe(0);
    const { model } = loadProject(project.manifestPath);
    expect(nginxPid(model)).toBeDefined();
    const none = structuredClone(manifest);
    delete none.proxy;
    for (const s of Object.values<any>(none.services)) delete s.routes;
    project.writeManifest(none);
    const r = await project.cli(["restart"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/\[7\/8\] stop the proxy \(no "proxy" in the manifest\)\s+✓ ok — nginx stopped/);
    expect(nginxPid(model)).toBeUndefined();
    expect(existsSync(join(project.root, "units/nginx/nginx.conf"))).toBe(false);
  });

  it("shutdown stops nginx and supervisord", async () => {
    project.writeManifest(manifest);
    const { model } = loadProject(project.manifestPath);
    const r = await project.cli(["restart"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    const pid = nginxPid(model);
    expect(pid).toBeDefined();
    const s = await project.cli(["shutdown"]);
    expect(s.exitCode, show(s)).toBe(0);
    expect(s.stdout).toMatch(/nginx \(the proxy\) stopped/);
    expect(nginxPid(model)).toBeUndefined();
  });
});
