/**
 * Rolling restarts for real: the built CLI under a real private supervisord, Debian's nginx as the project's
 * private proxy, three instances of a real HTTP service (test/fixtures/services/echo-http.js, which drops its
 * open connections on SIGTERM, so an instance stopped before it is drained loses its requests).
 * - a load loop through the proxy during `orchestrate restart api` sees no failure;
 * - the PIDs change one instance at a time, in order (recorded by polling supervisord meanwhile);
 * - a long POST (nginx does not retry a non-idempotent request elsewhere) on an instance being drained completes;
 * - a new command that fails readiness stops the rollout: the instances after it keep their PIDs and serve, the
 *   failed one runs its previous command again, exit 1 naming it with its log tail.
 * Ports: block rolling-restart (test/helpers/ports.ts).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyNginx, stopNginx } from "../../src/backend/nginx/control";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { loadProject } from "../../src/manifest";
import type { Model } from "../../src/model/types";
import { FIXTURES, fixture, makeCliProject, orchestrate, Seen, type TestProject } from "../helpers/cli-project";
import { portsOf } from "../helpers/ports";
import { loadDuring as loadRequests, proxyRequest } from "../helpers/proxy-load";
import { hasSupervisord } from "../helpers/supervisord-installed";

const hasNginx = spawnSync("/usr/sbin/nginx", ["-v"], { stdio: "ignore" }).status === 0;
const seen = new Seen();
let project: TestProject;
let model: Model;
let proxyPort: number;
let apiPorts: number[];

function manifest(file: string): Record<string, unknown> {
  return {
    version: 1.1,
    project: "roll",
    host: "127.0.0.1",
    proxy: { listen: `127.0.0.1:${proxyPort}` },
    services: {
      // "port" + instances: "ports" with routes is refused by validate on this base (a route check reads "port" only)
      api: fixture(file, apiPorts[0], {
        instances: apiPorts.length,
        health: "/health",
        routes: ["/"],
        startRetries: 1,
      }),
    },
  };
}

/** One request through the proxy (test/helpers/proxy-load.ts). */
const request = (agent: http.Agent | false, method = "GET", path = "/") => proxyRequest(proxyPort, agent, method, path);
/** Requests through the proxy on 8 keep-alive connections until `until` settles (test/helpers/proxy-load.ts). */
const loadDuring = <T>(until: Promise<T>) => loadRequests(proxyPort, until, { concurrency: 8, limitMs: 90000 });

/** supervisord's view of the api instances, polled until `until` settles: every distinct (program, pid, state). */
async function watchPids<T>(
  until: Promise<T>,
): Promise<{ result: T; samples: Map<string, { pid?: number; state: string }>[] }> {
  const backend = new SupervisordBackend(project.paths);
  const samples: Map<string, { pid?: number; state: string }>[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const rows = await backend.status(model.services[0].instances.map((i) => i.program)).catch(() => []);
      samples.push(new Map(rows.map((r) => [r.name, { pid: r.pid, state: r.state }])));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await until.finally(() => (done = true));
  await poll;
  backend.close();
  return { result, samples };
}

async function pids(): Promise<Map<string, number>> {
  const backend = new SupervisordBackend(project.paths);
  const rows = await backend.status(model.services[0].instances.map((i) => i.program));
  backend.close();
  await seen.add(...rows.map((r) => r.pid));
  return new Map(rows.map((r) => [r.name, r.pid!]));
}

beforeAll(async () => {
  expect(hasSupervisord, "supervisord is installed (apt-get install supervisor)").toBe(true);
  expect(hasNginx, "nginx is installed (apt-get install nginx-light)").toBe(true);
  const alloc = portsOf("rolling-restart");
  proxyPort = await alloc.take();
  apiPorts = await alloc.takeMany(3);
  expect(apiPorts, "three consecutive free ports").toEqual([apiPorts[0], apiPorts[0] + 1, apiPorts[0] + 2]);
  project = seen.project(makeCliProject("orch-roll-", {}));
  writeFileSync(project.manifest, JSON.stringify(manifest("echo-http.js"), null, 2) + "\n");
  const r = await orchestrate(project, "restart");
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  model = loadProject(project.manifest).model;
  await applyNginx(model);
  expect((await request(false)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (model) await stopNginx(model).catch(() => undefined);
  await seen.cleanup();
}, 60_000);

describe("rolling restart behind the private nginx", { timeout: 120_000 }, () => {
  it("no request fails during restart api; the PIDs change one instance at a time, in order", async () => {
    const before = await pids();
    const { result, samples } = await watchPids(loadDuring(orchestrate(project, "restart", "api")));
    const { result: r, ok, failed, retried } = result;
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(failed).toEqual([]);
    // no nginx reload (--take-out retry, the default): no client connection is closed under a client, except
    // after keepalive_requests (1000, nginx docs ngx_http_core_module), which nginx announces with Connection: close
    expect(retried).toBeLessThanOrEqual(Math.ceil(ok / 1000));
    expect(ok).toBeGreaterThan(50);
    expect(r.stdout).toMatch(/rolling restart of api: api:0 api:1 api:2/);
    expect(r.stdout).toMatch(/api:0: stopping; the proxy retries its requests on the other instances \(no reload\)/);
    expect(r.stdout).toMatch(/api:0: the proxy sends it requests again/);
    expect(r.stdout).not.toMatch(/reloaded/);
    const after = await pids();
    for (const p of ["api@0", "api@1", "api@2"]) expect(after.get(p), p).not.toBe(before.get(p));
    // at no moment was more than one instance stopping or stopped; new PIDs appear in instance order
    const order: string[] = [];
    for (const s of samples) {
      // STARTING is the new process within its startsecs: the rollout moves on once it is ready (port, health)
      const away = [...s].filter(([, v]) => v.state !== "RUNNING" && v.state !== "STARTING").map(([k]) => k);
      expect(away.length, JSON.stringify([...s])).toBeLessThanOrEqual(1);
      for (const [name, v] of s)
        if (v.pid !== undefined && v.pid !== before.get(name) && !order.includes(name)) order.push(name);
    }
    expect(order).toEqual(["api@0", "api@1", "api@2"]);
  });

  it("--take-out reload: a long POST on an instance being drained completes on the process it started on", async () => {
    const before = await pids();
    const agent = new http.Agent({ keepAlive: false });
    // one slow POST per instance (round robin); nginx would not retry a POST elsewhere after sending it, and
    // echo-http drops its connections on SIGTERM: only a drain before the stop saves them
    const slow = Promise.all(apiPorts.map(() => request(agent, "POST", "/slow?ms=1500")));
    await new Promise((r) => setTimeout(r, 200));
    const r = await orchestrate(project, "restart", "api", "--take-out", "reload");
    const answers = await slow;
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const a of answers) expect([...before.values()]).toContain(a.pid);
    expect(r.stdout).toMatch(/api:0: drained in/);
    expect(r.stdout).toMatch(/api:0: out of the upstream \(nginx reloaded gracefully\)/);
  });

  it("--take-out retry: a long GET cut by an instance that drops it when stopped is retried by nginx and answered", async () => {
    const agent = new http.Agent({ keepAlive: false });
    const slow = Promise.all(apiPorts.map(() => request(agent, "GET", "/slow?ms=1500")));
    await new Promise((r) => setTimeout(r, 200));
    const r = await orchestrate(project, "restart", "api");
    const answers = await slow;
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it("a new command that fails readiness stops the rollout: the rest keep serving, the failed one is back on its old command", async () => {
    const before = await pids();
    writeFileSync(project.manifest, JSON.stringify(manifest("exits-at-once.js"), null, 2) + "\n");
    const { result } = await watchPids(loadDuring(orchestrate(project, "restart", "api")));
    const { result: r, failed } = result;
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(failed).toEqual([]);
    expect(r.stdout).toMatch(/rollout of api stopped at api:0/);
    expect(r.stdout).toMatch(/api:0 back on the previous configuration and ready; api:1 api:2 not replaced/);
    expect(r.stdout).toMatch(/could not connect to the database at startup/); // its log tail
    const after = await pids();
    expect(after.get("api@1")).toBe(before.get("api@1"));
    expect(after.get("api@2")).toBe(before.get("api@2"));
    expect(after.get("api@0")).not.toBe(before.get("api@0"));
    // every program file says what runs: the previous command
    for (const i of [0, 1, 2])
      expect(readFileSync(join(project.root, `units/supervisor/api@${i}.conf`), "utf8")).toContain(
        join(FIXTURES, "echo-http.js"),
      );
    const served = await Promise.all(apiPorts.map(() => request(false)));
    expect(served.map((s) => s.status)).toEqual([200, 200, 200]);
    // fixed again, the next restart rolls every instance onto it
    writeFileSync(project.manifest, JSON.stringify(manifest("echo-http.js"), null, 2) + "\n");
    const again = await orchestrate(project, "restart", "api");
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  });

  it("modify-service of the service rolls it too: no failed request, every instance on the new env", async () => {
    const before = await pids();
    const { result: r, failed } = await loadDuring(
      orchestrate(project, "modify-service", "api", "--env", "ROLLED=yes"),
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(failed).toEqual([]);
    expect(r.stdout).toMatch(/rolling restart of api: api:0 api:1 api:2/);
    const after = await pids();
    for (const p of ["api@0", "api@1", "api@2"]) expect(after.get(p), p).not.toBe(before.get(p));
    for (const i of [0, 1, 2])
      expect(readFileSync(join(project.root, `units/supervisor/api@${i}.conf`), "utf8")).toMatch(/ROLLED="?yes/);
  });
});
