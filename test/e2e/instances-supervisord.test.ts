/**
 * Instances, a oneshot and a manual service through the built CLI under a real private supervisord: every
 * instance on its own port verified with its own process tree, NAME:I in start/stop/status/verify/logs/
 * test-start, autostart false not started by restart but by start, scale up and down keeping the other
 * instances' PIDs, and a failing oneshot keeping its dependents stopped (and saying so).
 * Ports: block instances-supervisord (29400-29599). Fails loudly when supervisord is missing.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusRow as Row } from "../../src/fleet/status";
import { isPortFree } from "../../src/inspect/port-probe";
import { fixture, makeCliProject, orchestrate, Seen, type TestProject } from "../helpers/cli-project";
import { PORT_BLOCKS } from "../helpers/ports";
import { hasSupervisord } from "../helpers/supervisord-installed";

/** The first base of the block (steps of 50) whose ports BASE..BASE+2, +10, +20 are all free right now. */
let BASE = PORT_BLOCKS["instances-supervisord"].low;
async function chooseBase(): Promise<void> {
  for (
    let base = PORT_BLOCKS["instances-supervisord"].low;
    base + 40 <= PORT_BLOCKS["instances-supervisord"].high;
    base += 50
  ) {
    const free = await Promise.all([0, 1, 2, 10, 20].map((d) => isPortFree(base + d)));
    if (free.every(Boolean)) {
      BASE = base;
      return;
    }
  }
  throw new Error("no free run of ports in block instances-supervisord: something else listens there (ss -ltnp)");
}
const seen = new Seen();
let project: TestProject;
let marks: string;

interface Check extends Row {
  ok: boolean;
  problems: string[];
  owner?: { kind: string; pid?: number };
  manual?: boolean;
}

async function status(): Promise<Map<string, Row>> {
  const r = await orchestrate(project, "status", "--json");
  // 3: an enabled service that should run does not (a stopped instance, a failed oneshot), as supervisorctl status
  expect([0, 3], r.stderr).toContain(r.exitCode);
  const rows = (JSON.parse(r.stdout) as { services: Row[] }).services;
  await seen.add(...rows.map((x) => x.pid));
  return new Map(rows.map((x) => [x.name, x]));
}

async function verify(...names: string[]): Promise<{ code: number; checks: Check[] }> {
  const r = await orchestrate(project, "verify", "--json", ...names);
  return { code: r.exitCode ?? -1, checks: (JSON.parse(r.stdout) as { services: Check[] }).services };
}

function manifest(exitCode: string): Record<string, unknown> {
  return {
    version: 1.1,
    project: "inst",
    host: "127.0.0.1",
    groups: { web: { range: `${BASE}-${BASE + 40}` } },
    services: {
      migrate: fixture("runs-once.js", undefined, {
        type: "oneshot",
        env: { EXIT_CODE: exitCode, MARK_FILE: marks },
        readyTimeout: 10,
      }),
      api: fixture("binds-port.js", BASE, {
        group: "web",
        instances: 2,
        dependsOn: ["migrate"],
        health: "/health",
      }),
      web: fixture("binds-port.js", BASE + 10, { group: "web", dependsOn: ["api"], env: { API_URL: "{url:api}" } }),
      manual: fixture("binds-port.js", BASE + 20, { group: "web", autostart: false }),
    },
  };
}

beforeAll(async () => {
  await chooseBase();
  expect(hasSupervisord, "supervisord is installed (apt-get install supervisor)").toBe(true);
  project = seen.project(makeCliProject("orch-inst-", {}));
  marks = join(project.root, "run", "marks.txt");
  writeFileSync(project.manifest, JSON.stringify(manifest("0"), null, 2) + "\n");
}, 120_000);

afterAll(async () => {
  await seen.cleanup();
}, 60_000);

describe("instances, oneshot and autostart false under supervisord", { timeout: 120_000 }, () => {
  it("restart: the oneshot runs once before the API, each API instance on its own port, the manual service not started", async () => {
    const r = await orchestrate(project, "restart");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/migrate ran in .* \(exit 0\)/);
    expect(r.stdout).toMatch(/not started \(autostart: false, started by "orchestrate start NAME"\): manual/);
    expect(readFileSync(marks, "utf8")).toBe("migrate ran\n");
    const rows = await status();
    expect(rows.get("migrate")).toMatchObject({ state: "EXITED", exitStatus: 0 });
    expect(rows.get("api:0")).toMatchObject({ service: "api", instance: 0, state: "RUNNING", port: BASE });
    expect(rows.get("api:1")).toMatchObject({ service: "api", instance: 1, state: "RUNNING", port: BASE + 1 });
    expect(rows.get("api:0")!.pid).not.toBe(rows.get("api:1")!.pid);
    expect(rows.get("manual")!.state).toBe("MANUAL");
  });

  it("verify: a row per instance, each listener inside that instance's own process tree; manual is stopped by design", async () => {
    const { code, checks } = await verify();
    expect(code, JSON.stringify(checks, null, 2)).toBe(0);
    const rows = await status();
    for (const name of ["api:0", "api:1"]) {
      const c = checks.find((x) => x.name === name)!;
      expect(c.owner, name).toMatchObject({ kind: "service", pid: rows.get(name)!.pid });
    }
    expect(checks.find((x) => x.name === "manual")).toMatchObject({ ok: true, manual: true, state: "STOPPED" });
    expect(checks.find((x) => x.name === "migrate")).toMatchObject({ ok: true, state: "EXITED" });
    const one = await verify("api:1");
    expect(one.checks.map((c) => [c.name, c.instance, c.port])).toEqual([["api:1", 1, BASE + 1]]);
    const bad = await orchestrate(project, "verify", "api:7");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/api has 2 instances \(0-1\), found index 7/);
  });

  it("stop api:1, test-start api:1 alone, start api:1: api:0 keeps its PID; logs api:1 reads only that instance's files", async () => {
    const before = await status();
    const stop = await orchestrate(project, "stop", "api:1");
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toContain("api:1: stopped");
    let rows = await status();
    expect(rows.get("api:1")!.state).toBe("STOPPED");
    expect(rows.get("api:0")!.pid).toBe(before.get("api:0")!.pid);
    const ts = await orchestrate(project, "test-start", "api:1");
    expect(ts.exitCode, ts.stdout + ts.stderr).toBe(0);
    expect(ts.stdout).toContain(`listens on its port ${BASE + 1}`);
    const start = await orchestrate(project, "start", "api:1");
    expect(start.exitCode, start.stdout + start.stderr).toBe(0);
    expect(start.stdout).toMatch(/api:1: ready in/);
    rows = await status();
    expect(rows.get("api:1")!.state).toBe("RUNNING");
    expect(rows.get("api:0")!.pid).toBe(before.get("api:0")!.pid);
    const logs = await orchestrate(project, "logs", "api:1", "-n", "5");
    expect(logs.exitCode, logs.stderr).toBe(0);
    // each line is prefixed with its instance (src/cli/present/logs.ts): only api:1's files are read
    expect(logs.stdout).toMatch(/^api:1 /m);
    expect(logs.stdout).not.toMatch(/^api:0 /m);
    expect(logs.stdout).toContain(`listening on 127.0.0.1:${BASE + 1}`);
  });

  it("start of the manual service starts it; verify then checks it like any other", async () => {
    const start = await orchestrate(project, "start", "manual");
    expect(start.exitCode, start.stdout + start.stderr).toBe(0);
    const { checks } = await verify("manual");
    expect(checks[0]).toMatchObject({ ok: true, state: "RUNNING", owner: { kind: "service" } });
    expect(checks[0].manual).toBeUndefined();
    expect((await orchestrate(project, "stop", "manual")).exitCode).toBe(0);
  });

  it("modify-service api --instances 3 then 2: the new instance gets the next port, the others keep their PIDs", async () => {
    const before = await status();
    const up = await orchestrate(project, "modify-service", "api", "--instances", "3");
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    expect(JSON.parse(readFileSync(project.manifest, "utf8")).services.api).toMatchObject({ instances: 3, port: BASE });
    let rows = await status();
    expect(rows.get("api:2")).toMatchObject({ state: "RUNNING", port: BASE + 2 });
    for (const n of ["api:0", "api:1", "web"]) expect(rows.get(n)!.pid, n).toBe(before.get(n)!.pid);
    const down = await orchestrate(project, "modify-service", "api", "--instances", "2");
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain(`port of a removed instance ${BASE + 2} released`);
    rows = await status();
    expect(rows.has("api:2")).toBe(false);
    for (const n of ["api:0", "api:1", "web"]) expect(rows.get(n)!.pid, n).toBe(before.get(n)!.pid);
    expect(await isPortFree(BASE + 2)).toBe(true);
    expect(existsSync(join(project.paths.supervisorDir, "api@2.conf"))).toBe(false);
  });

  it("a oneshot that fails keeps its dependents stopped and says so; verify names its exit code and log tail", async () => {
    writeFileSync(project.manifest, JSON.stringify(manifest("3"), null, 2) + "\n");
    const r = await orchestrate(project, "restart");
    expect(r.exitCode, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/migrate: oneshot exited with code 3, expected 0 \(exitCodes\)/);
    expect(r.stdout).toMatch(/✗ api: not started, depends on migrate/);
    expect(r.stdout).toMatch(/✗ web: not started, depends on api/);
    expect(r.stdout).toContain("migration 0042 could not be applied");
    const rows = await status();
    for (const n of ["api:0", "api:1", "web"]) expect(rows.get(n)!.state, n).toBe("STOPPED");
    const { code, checks } = await verify("migrate");
    expect(code).toBe(1);
    expect(checks[0].problems[0]).toMatch(/last run exited with code 3, expected 0 \(exitCodes\)/);
    expect(checks[0].problems[0]).toContain("migration 0042 could not be applied");
  });
});
