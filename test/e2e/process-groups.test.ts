/**
 * Process groups (manifest `processGroups`, issue 13) through the built CLI under a real private supervisord:
 * a group of two services of three is stopped, started and restarted as one name, as supervisorctl does with
 * `start GROUP:*` for a `[group:GROUP]`, and the third service keeps its PID throughout. The programs keep
 * their own names (no `[group:]` is rendered). Ports: block process-groups (31800-31899). Fails loudly when
 * supervisord is missing.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusRow as Row } from "../../src/fleet/status";
import { fixture, makeCliProject, orchestrate, Seen, type TestProject } from "../helpers/cli-project";
import { PortAllocator } from "../helpers/ports";
import { hasSupervisord } from "../helpers/supervisord-installed";

const seen = new Seen();
let project: TestProject;

async function status(): Promise<Map<string, Row>> {
  const r = await orchestrate(project, "status", "--json");
  expect([0, 3], r.stderr).toContain(r.exitCode); // 3: a service that should run is stopped
  const rows = (JSON.parse(r.stdout) as { services: Row[] }).services;
  await seen.add(...rows.map((x) => x.pid));
  return new Map(rows.map((x) => [x.name, x]));
}

beforeAll(async () => {
  expect(hasSupervisord, "supervisord is installed (apt-get install supervisor)").toBe(true);
  const ports = new PortAllocator("process-groups");
  const [api, web, admin] = [await ports.take(), await ports.take(), await ports.take()];
  project = seen.project(
    makeCliProject("orch-pgroups-", {
      version: 1.1,
      project: "pgroups",
      services: {
        api: fixture("binds-port.js", api, { health: "/health" }),
        web: fixture("binds-port.js", undefined, { instances: 2, ports: [web, await ports.take()] }),
        admin: fixture("binds-port.js", admin),
      },
      processGroups: { front: ["web", "api"] },
    }),
  );
}, 120_000);

afterAll(async () => {
  await seen.cleanup();
}, 60_000);

describe("a process group under supervisord", { timeout: 120_000 }, () => {
  it("restart runs every service; supervisord knows each program by its own name (no [group:] rendered)", async () => {
    const r = await orchestrate(project, "restart");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const rows = await status();
    for (const name of ["api", "web:0", "web:1", "admin"]) expect(rows.get(name)?.state, name).toBe("RUNNING");
    const conf = readFileSync(project.paths.supervisordConf, "utf8");
    expect(conf).not.toMatch(/\[group:/);
  });

  it("stop GROUP stops both members (every instance) and leaves the third service's PID unchanged", async () => {
    const before = await status();
    const r = await orchestrate(project, "stop", "front");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const rows = await status();
    for (const name of ["api", "web:0", "web:1"]) expect(rows.get(name)?.state, name).toBe("STOPPED");
    expect(rows.get("admin")).toMatchObject({ state: "RUNNING", pid: before.get("admin")!.pid });
  });

  it("start GROUP starts both members and waits for them", async () => {
    const before = await status();
    const r = await orchestrate(project, "start", "front");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/api: ready in/);
    expect(r.stdout).toMatch(/web:1: ready in/);
    const rows = await status();
    for (const name of ["api", "web:0", "web:1"]) expect(rows.get(name)?.state, name).toBe("RUNNING");
    expect(rows.get("admin")!.pid).toBe(before.get("admin")!.pid);
  });

  it("restart GROUP gives both members new PIDs and does not touch the third", async () => {
    const before = await status();
    const r = await orchestrate(project, "restart", "front");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const rows = await status();
    for (const name of ["api", "web:0", "web:1"]) {
      expect(rows.get(name)?.state, name).toBe("RUNNING");
      expect(rows.get(name)!.pid, name).not.toBe(before.get(name)!.pid);
    }
    expect(rows.get("admin")).toMatchObject({ state: "RUNNING", pid: before.get("admin")!.pid });
    const v = await orchestrate(project, "verify", "front");
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
  });

  it("logs GROUP reads only its members' files", async () => {
    const r = await orchestrate(project, "logs", "front", "-n", "5");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/api listening on/);
    expect(r.stdout).toMatch(/web listening on/);
    expect(r.stdout).not.toMatch(/admin/);
  });

  it("an unknown name suggests the group; GROUP:I is refused; both exit 2 and change nothing", async () => {
    const before = await status();
    const typo = await orchestrate(project, "stop", "frnt");
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/unknown service "frnt"; did you mean "front"\?/);
    expect(typo.stderr).toMatch(/process groups: front/);
    const indexed = await orchestrate(project, "stop", "front:0");
    expect(indexed.exitCode).toBe(2);
    expect(indexed.stderr).toMatch(/front is a process group/);
    const rows = await status();
    for (const [name, row] of before) expect(rows.get(name)?.pid, name).toBe(row.pid);
  });
});
