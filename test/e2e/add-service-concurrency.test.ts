/**
 * Concurrent add-service (issue 5): the inter-process lock around the whole transaction means two calls
 * never receive the same port and never lose an entry. The BUILT CLI as separate processes, all started
 * at once. Ports 28700-28849 only (helpers/fleet-copy.ts): group g 28700-28760 for 16 × --no-start, group
 * h 28780-28800 for a small running fleet that 4 concurrent add-service calls (with start) extend.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createProject, ensureBuilt, fixture, show, type TestProject } from "../helpers/project";
import { canBind, SUPERVISORD, type Manifest } from "../helpers/fleet-copy";

const NODE = process.execPath;
const G = { low: 28700, high: 28760 };
const H = { low: 28780, high: 28800 };
const projects: TestProject[] = [];

function manifest(services: Record<string, unknown>): object {
  return {
    project: "conc",
    host: "127.0.0.1",
    ports: { allowed: ["28700-28849"] },
    groups: { g: { range: `${G.low}-${G.high}` }, h: { range: `${H.low}-${H.high}` } },
    services,
  };
}

const binds = `${NODE} ${fixture("binds-port.js")}`;

afterAll(async () => {
  for (const p of projects) await p.cleanup();
}, 60_000);

describe("concurrent add-service", () => {
  it("16 concurrent add-service --no-start: all exit 0, 16 distinct ports, 16 entries, a valid manifest", async () => {
    ensureBuilt();
    const project = createProject("c16", manifest({}));
    projects.push(project);
    for (let p = G.low; p < G.low + 16; p++) expect(await canBind(p), `port ${p} free before the test`).toBe(true);
    const names = Array.from({ length: 16 }, (_, i) => `s${String(i + 1).padStart(2, "0")}`);
    const started = performance.now();
    const results = await Promise.all(
      names.map((n) =>
        project.cli(["add-service", n, "--command", binds, "--group", "g", "--no-start"], { timeoutMs: 120_000 }),
      ),
    );
    const elapsed = performance.now() - started;
    for (const [i, r] of results.entries()) expect(r.exitCode, `${names[i]}: ${show(r)}`).toBe(0);
    const m = project.readManifest<Manifest>();
    expect(Object.keys(m.services).sort()).toEqual(names);
    const ports = names.map((n) => m.services[n].port!);
    expect(new Set(ports).size, `distinct ports: ${ports.join(" ")}`).toBe(16);
    // serialized by the lock, each took the lowest free port left: exactly the first 16 of the range
    expect([...ports].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => G.low + i));
    for (const [i, r] of results.entries()) expect(r.stdout).toContain(`added ${names[i]} on port ${ports[i]}`);
    const v = await project.cli(["validate"]);
    expect(v.exitCode, show(v)).toBe(0);
    const g = await project.cli(["generate", "--check"]);
    expect(g.exitCode, `units/ in line with the final manifest: ${show(g)}`).toBe(0);
    const ports_json = JSON.parse(readFileSync(join(project.paths.units, "ports.json"), "utf8"));
    expect(Object.keys(ports_json.services).sort()).toEqual(names);
    const h = JSON.parse((await project.cli(["history", "--json", "-n", "100"])).stdout) as {
      command: string;
      outcome: string;
    }[];
    expect(
      h
        .filter((e) => e.outcome === "applied")
        .map((e) => e.command)
        .sort(),
    ).toEqual(names.map((n) => `add-service ${n}`));
    expect(existsSync(`${project.manifestPath}.lock`), "lock released").toBe(false);
    console.log(`16 concurrent add-service --no-start: ${Math.round(elapsed)} ms in all`);
  }, 150_000);

  it("4 concurrent add-service WITH start against a running fleet: they serialize on the lock, all verified", async () => {
    expect(existsSync(SUPERVISORD)).toBe(true);
    ensureBuilt();
    const project = createProject(
      "c4",
      manifest({
        h_a: { group: "h", port: H.low, command: binds, health: "/health", startSecs: 1 },
        h_b: { group: "h", port: H.low + 1, command: binds, health: "/health", dependsOn: ["h_a"], startSecs: 1 },
      }),
    );
    projects.push(project);
    const r0 = await project.cli(["restart"]);
    await project.trackAll();
    expect(r0.exitCode, show(r0)).toBe(0);
    const before = await project.pids();
    const names = ["t1", "t2", "t3", "t4"];
    const started = performance.now();
    const results = await Promise.all(
      names.map((n) =>
        project.cli(["add-service", n, "--command", binds, "--group", "h", "--health", "/health"], {
          timeoutMs: 150_000,
        }),
      ),
    );
    const elapsed = performance.now() - started;
    await project.trackAll();
    for (const [i, r] of results.entries()) {
      expect(r.exitCode, `${names[i]}: ${show(r)}`).toBe(0);
      expect(r.stdout).toMatch(
        /^\[7\/7\] verify the new service and all the others\n[\s\S]*✓ ok — (\d+)\/\1 verified/m,
      );
    }
    const m = project.readManifest<Manifest>();
    const ports = names.map((n) => m.services[n].port!);
    expect([...ports].sort((a, b) => a - b)).toEqual([H.low + 2, H.low + 3, H.low + 4, H.low + 5]);
    const after = await project.pids();
    for (const [name, pid] of before) expect(after.get(name), `${name} kept its PID`).toBe(pid);
    for (const n of names) expect(after.get(n), `${n} running`).toBeGreaterThan(0);
    const v = await project.cli(["verify"]);
    expect(v.exitCode, show(v)).toBe(0);
    for (const p of ports) expect((await fetch(`http://127.0.0.1:${p}/health`)).status).toBe(200);
    console.log(
      `4 concurrent add-service with start: ${Math.round(elapsed)} ms in all; per call ${results.map((r) => Math.round(r.durationMs)).join(", ")} ms`,
    );
  }, 200_000);
});
