/**
 * Rolling restarts under a REAL systemd (the sandbox of test/harness/systemd-sandbox.ts; the built CLI runs
 * INSIDE it with `--backend systemd`): a service with three instances is three instance units PROJECT-api@I.service
 * of one template, each on its own port, behind the project's private nginx (started by `restart` inside the
 * sandbox, daemonized beside systemd; the sandbox shares the host's network namespace, so this file's client loop
 * reaches the proxy's 127.0.0.1 port from the host).
 * - `restart api`: every instance's MainPID changes, one instance at a time in index order (polled with
 *   `systemctl show` meanwhile: never two instance units away at once), the other service keeps its MainPID,
 *   verify passes, and a load loop through the proxy sees no failed request;
 * - a new command that fails readiness stops the rollout after api:0: exit 1, api:1 and api:2 keep their
 *   MainPIDs and serve, api:0 runs its previous command again (its process's command line, its drop-in).
 * Fixtures are copied into the sandbox folder (the sandbox has a private /tmp). Ports: block rolling-systemd.
 * Skipped visibly (with the reason) where the sandbox cannot run.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxSkipReason, type Sandbox } from "../harness/systemd-sandbox";
import { portsOf } from "../helpers/ports";
import { loadDuring as loadRequests, proxyRequest } from "../helpers/proxy-load";
import { ensureBuilt } from "../helpers/project";
import { bootFleetSandbox, sandboxFixture, SandboxFleet, showRun } from "../helpers/systemd-fleet";

const skipped = sandboxSkipReason();
if (skipped) console.warn(`[rolling systemd e2e] SKIPPED: ${skipped}`);

const PROJECT = "sdr";
const API = ["api@0", "api@1", "api@2"];
const unit = (program: string) => `${PROJECT}-${program}.service`;

let sandbox: Sandbox;
let fleet: SandboxFleet;
let proxyPort: number;
let apiPorts: number[];
let otherPort: number;

/** A fixture service run from the sandbox's own copy (test/helpers/systemd-fleet.ts sandboxFixture). */
const fixture = (file: string, port: number | undefined, extra: Record<string, unknown> = {}) =>
  sandboxFixture(sandbox, file, port, extra);

function manifest(apiFile: string): string {
  const m = {
    version: 1.1,
    project: PROJECT,
    host: "127.0.0.1",
    proxy: { listen: `127.0.0.1:${proxyPort}` },
    services: {
      api: fixture(apiFile, apiPorts[0], {
        instances: apiPorts.length,
        health: "/health",
        routes: ["/"],
        startRetries: 1,
      }),
      other: fixture("echo-http.js", otherPort, { health: "/health" }),
    },
  };
  return JSON.stringify(m, null, 2) + "\n";
}

/** One unit's state as systemd shows it. */
interface UnitState {
  pid: number;
  active: string;
  sub: string;
}

/** `systemctl show` of the given programs' units inside the sandbox. */
async function units(programs: string[]): Promise<Map<string, UnitState>> {
  const props = await fleet.show(programs.map(unit), ["ActiveState", "SubState", "MainPID"]);
  return new Map(
    programs.map((p, i) => [
      p,
      { pid: Number(props[i].MainPID), active: props[i].ActiveState, sub: props[i].SubState },
    ]),
  );
}

async function mainPids(programs: string[]): Promise<Map<string, number>> {
  const rows = await units(programs);
  for (const [p, r] of rows) expect(r, `${p} runs`).toMatchObject({ active: "active", sub: "running" });
  return new Map([...rows].map(([p, r]) => [p, r.pid]));
}

/** The command line of a process of the sandbox (PID of its namespace), NULs as spaces. */
async function cmdline(pid: number): Promise<string> {
  const r = await sandbox.exec(["cat", `/proc/${pid}/cmdline`]);
  return r.stdout.replace(/\0/g, " ");
}

/** The api instance units, polled until `until` settles: every sample of (MainPID, ActiveState, SubState). */
async function watchUnits<T>(until: Promise<T>): Promise<{ result: T; samples: Map<string, UnitState>[] }> {
  const samples: Map<string, UnitState>[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      samples.push(await units(API));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await until.finally(() => (done = true));
  await poll;
  return { result, samples };
}

/** One request through the proxy (test/helpers/proxy-load.ts). */
const request = (agent: http.Agent | false, method = "GET", path = "/") => proxyRequest(proxyPort, agent, method, path);
/** Requests through the proxy on 6 keep-alive connections until `until` settles (test/helpers/proxy-load.ts). */
const loadDuring = <T>(until: Promise<T>) => loadRequests(proxyPort, until, { concurrency: 6, limitMs: 120000 });

beforeAll(async () => {
  if (skipped) return;
  const alloc = portsOf("rolling-systemd");
  proxyPort = await alloc.take();
  otherPort = await alloc.take();
  apiPorts = await alloc.takeMany(3);
  expect(apiPorts, "three consecutive free ports").toEqual([apiPorts[0], apiPorts[0] + 1, apiPorts[0] + 2]);
  ensureBuilt();
  ({ sandbox, fleet } = await bootFleetSandbox());
  fleet.writeManifest(manifest("echo-http.js"));
  const r = await fleet.cli(["restart"]);
  expect(r.exitCode, showRun(r)).toBe(0);
  expect(r.stdout, showRun(r)).toMatch(/bring up the proxy/);
  expect((await request(false)).status).toBe(200);
}, 180_000);

afterAll(async () => {
  // nginx runs inside the sandbox's PID namespace: it ends with the sandbox's PID 1
  await sandbox?.stop();
}, 60_000);

describe("rolling restart under systemd behind the private nginx", { timeout: 180_000 }, () => {
  it.skipIf(skipped)(
    "restart api: no request through the proxy fails; MainPIDs change one instance unit at a time, in order; other untouched; verify passes",
    async () => {
      const before = await mainPids([...API, "other"]);
      const { result, samples } = await watchUnits(loadDuring(fleet.cli(["restart", "api", "--max-unavailable", "1"])));
      const { result: r, ok, failed, retried, pids } = result;
      expect(r.exitCode, showRun(r)).toBe(0);
      expect(failed).toEqual([]);
      // at no sample were two instance units away (stopping, stopped, restarting); new MainPIDs in index order
      expect(samples.length).toBeGreaterThan(10);
      const order: string[] = [];
      for (const s of samples) {
        // activating (start) is the new process before its readiness: the rollout waits for it, it is not "away"
        const away = [...s].filter(([, v]) => v.active !== "active" && v.active !== "activating").map(([k]) => k);
        expect(away.length, JSON.stringify([...s])).toBeLessThanOrEqual(1);
        for (const [name, v] of s)
          if (v.pid !== 0 && v.pid !== before.get(name) && !order.includes(name)) order.push(name);
      }
      expect(order).toEqual(API);
      // some sample saw an instance away: the polling was fast enough to see a stop at all
      expect(samples.some((s) => [...s.values()].some((v) => v.active !== "active" || v.pid === 0))).toBe(true);
      // no nginx reload with --take-out retry: no client connection closed except after keepalive_requests (1000)
      expect(retried).toBeLessThanOrEqual(Math.ceil(ok / 1000));
      expect(ok).toBeGreaterThan(50);
      expect(r.stdout).toMatch(/rolling restart of api: api:0 api:1 api:2/);
      expect(r.stdout).toMatch(/api:0: stopping; the proxy retries its requests on the other instances \(no reload\)/);
      expect(r.stdout).toMatch(/api:2: the proxy sends it requests again/);
      const after = await mainPids([...API, "other"]);
      for (const p of API) expect(after.get(p), p).not.toBe(before.get(p));
      expect(after.get("other")).toBe(before.get("other"));
      // the load reached old and new processes alike: the instances served throughout
      for (const p of API) expect(pids.has(after.get(p)!), `a request answered by the new ${p}`).toBe(true);
      const v = await fleet.cli(["verify", "--json"]);
      expect(v.exitCode, showRun(v)).toBe(0);
      const checks = (JSON.parse(v.stdout) as { services: { name: string; ok: boolean; pid?: number }[] }).services;
      expect(checks.filter((c) => c.name.startsWith("api:")).map((c) => c.ok)).toEqual([true, true, true]);
    },
  );

  it.skipIf(skipped)(
    "a new command that fails readiness stops the rollout at api:0: exit 1, the rest keep their MainPIDs and serve, api:0 back on its old command",
    async () => {
      const before = await mainPids([...API, "other"]);
      fleet.writeManifest(manifest("exits-at-once.js"));
      const { result } = await watchUnits(loadDuring(fleet.cli(["restart", "api"])));
      const { result: r, failed } = result;
      expect(r.exitCode, showRun(r)).toBe(1);
      expect(failed).toEqual([]);
      expect(r.stdout).toMatch(/rollout of api stopped at api:0/);
      expect(r.stdout).toMatch(/api:0 back on the previous configuration and ready; api:1 api:2 not replaced/);
      expect(r.stdout).toMatch(/could not connect to the database at startup/); // its log tail
      // why api:0 failed, then its way back
      expect(r.stdout).toMatch(/✗ api:0: [^\n]+\n\s*↺ api:0 back on its previous configuration: ready/);
      // the restart's own verify finds api:0 serving on its previous configuration, past startSecs
      expect(r.stdout).not.toMatch(/RUNNING for only/);
      expect(r.stdout).toMatch(/^\s*api:0\s+RUNNING\s.*\sok$/m);
      const after = await mainPids([...API, "other"]);
      expect(after.get("api@1")).toBe(before.get("api@1"));
      expect(after.get("api@2")).toBe(before.get("api@2"));
      expect(after.get("other")).toBe(before.get("other"));
      expect(after.get("api@0")).not.toBe(before.get("api@0"));
      // what runs: the previous command, in every process and every instance's drop-in (units/ and installed)
      const echo = join(sandbox.dir, "fixtures", "echo-http.js");
      for (const p of API) expect(await cmdline(after.get(p)!), p).toContain(echo);
      for (const i of [0, 1, 2]) {
        const dropIn = `${PROJECT}-api@${i}.service.d/instance.conf`;
        expect(readFileSync(join(sandbox.dir, "units", "systemd", dropIn), "utf8")).toContain(echo);
        expect(readFileSync(join(fleet.unitDirOutside, dropIn), "utf8")).toContain(echo);
      }
      // systemd itself has the previous ExecStart= loaded (no daemon-reload pending onto the failing command)
      const loaded = await fleet.show(API.map(unit), ["ExecStart", "NeedDaemonReload"]);
      for (const [i, u] of loaded.entries()) {
        expect(u.ExecStart, API[i]).toContain(echo);
        expect(u.NeedDaemonReload, API[i]).toBe("no");
      }
      // every instance answers on its own port, and through the proxy
      for (const port of apiPorts) {
        const answer = await fetch(`http://127.0.0.1:${port}/health`);
        expect(answer.status, `port ${port}`).toBe(200);
      }
      const served = await Promise.all(apiPorts.map(() => request(false)));
      expect(served.map((s) => s.status)).toEqual([200, 200, 200]);
      // fixed again, the next restart rolls every instance onto it
      fleet.writeManifest(manifest("echo-http.js"));
      const again = await fleet.cli(["restart", "api"]);
      expect(again.exitCode, showRun(again)).toBe(0);
      const last = await mainPids(API);
      for (const p of API) expect(last.get(p), p).not.toBe(after.get(p));
    },
  );
});
