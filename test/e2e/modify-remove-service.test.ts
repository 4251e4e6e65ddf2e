/**
 * modify-service and remove-service end to end (issue 5) on a copy of the example fleet under a REAL
 * private supervisord, driven by the BUILT CLI. Ports remapped into 28500-28649 (helpers/fleet-copy.ts:
 * 8000+k → 28500+k, 3000 → 28610, 4000 → 28620, …). One supervisord for the whole file, in order:
 * restart → modify a port → modify env → remove a leaf → remove a dependency (refused, then --force).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, ensureBuilt, show, waitFor, type TestProject } from "../helpers/project";
import {
  canBind,
  fleetManifest,
  projectBytes,
  sameBytes,
  SUPERVISORD,
  unitsDiff,
  type Manifest,
} from "../helpers/fleet-copy";

const BASE = 28500;
/** Files of units/ every change may touch besides the program's own. */
/** Shared files; units/supervisord.conf lists every program in its [include] (no glob), so it changes with the set. */
const SHARED = [
  "supervisord.conf",
  ".generated.json",
  "PORTS.md",
  "ports.json",
  "ports.env",
  "port_config.py",
  "systemd/recio.target",
];

let project: TestProject;

/** supervisord's own view: program → pid (0 when none). */
async function supervisordView(): Promise<Map<string, number>> {
  const all = await project.backend.status();
  for (const s of all) project.track(s.pid);
  return new Map(all.map((s) => [s.name, s.pid ?? 0]));
}

/** Asserts only `changed` got a new PID; every other program kept its own. */
function onlyRestarted(before: Map<string, number>, after: Map<string, number>, changed: string[]): void {
  for (const [name, pid] of before) {
    if (changed.includes(name)) expect(after.get(name), `${name} restarted (new PID)`).not.toBe(pid);
    else expect(after.get(name), `${name} kept its PID`).toBe(pid);
  }
}

async function lastJournal(): Promise<{ command: string; outcome: string; changes: string[] }> {
  const r = await project.cli(["history", "--json"]);
  expect(r.exitCode, show(r)).toBe(0);
  return JSON.parse(r.stdout).at(-1);
}

async function verified(): Promise<void> {
  const v = await project.cli(["verify"]);
  expect(v.exitCode, show(v)).toBe(0);
}

beforeAll(async () => {
  expect(existsSync(SUPERVISORD), `these tests need a real supervisord at ${SUPERVISORD}`).toBe(true);
  ensureBuilt();
  project = createProject("mr", fleetManifest(BASE));
  const r = await project.cli(["restart"], { timeoutMs: 120_000 });
  await project.trackAll();
  expect(r.exitCode, show(r)).toBe(0);
}, 150_000);

afterAll(async () => {
  await project?.cleanup();
}, 60_000);

describe("modify-service on a running fleet", { timeout: 120_000 }, () => {
  it("a new port: exit 0, only that program restarts, the old port is released, the new one verified, journal 'port A → B'", async () => {
    const oldPort = BASE + 1; // trade_executor (8001)
    const newPort = BASE + 8; // free in core's range 28501-28509
    expect(project.readManifest<Manifest>().services.trade_executor.port).toBe(oldPort);
    expect(await canBind(newPort)).toBe(true);
    const before = await supervisordView();
    const units = projectBytes(project).units;
    const r = await project.cli(["modify-service", "trade_executor", "--port", String(newPort)]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^\[6\/6\] verify \(and port 28501 released\)$/m);
    expect(r.stdout).toContain("old port 28501 released");
    expect(r.stdout).toContain(`modified trade_executor: port ${oldPort} → ${newPort}`);
    onlyRestarted(before, await supervisordView(), ["trade_executor"]);
    expect(await canBind(oldPort), "old port released").toBe(true);
    const status = JSON.parse((await project.cli(["status", "--json"])).stdout).services.find(
      (s: { name: string }) => s.name === "trade_executor",
    );
    expect(status).toMatchObject({ state: "RUNNING", port: newPort, health: 200, problems: [] });
    expect((await fetch(`http://127.0.0.1:${newPort}/health`)).status).toBe(200);
    await verified();
    expect(project.readManifest<Manifest>().services.trade_executor.port).toBe(newPort);
    expect(await lastJournal()).toMatchObject({
      command: "modify-service trade_executor",
      outcome: "applied",
      changes: [`port ${oldPort} → ${newPort}`],
    });
    for (const f of unitsDiff(units, projectBytes(project).units))
      expect(["supervisor/trade_executor.conf", "systemd/recio-trade_executor.service", ...SHARED]).toContain(f);
  });

  it("a new env value: only that program restarts and receives it", async () => {
    const before = await supervisordView();
    const units = projectBytes(project).units;
    const r = await project.cli(["modify-service", "db_poller", "--env", "LOG_LEVEL=debug"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    const after = await supervisordView();
    onlyRestarted(before, after, ["db_poller"]);
    const environ = readFileSync(`/proc/${after.get("db_poller")}/environ`, "utf8").split("\0");
    expect(environ).toContain("LOG_LEVEL=debug");
    expect(await lastJournal()).toMatchObject({
      command: "modify-service db_poller",
      outcome: "applied",
      changes: ["env LOG_LEVEL set"],
    });
    // an env change touches only that program's files (ports did not change: no shared artifact needs to)
    for (const f of unitsDiff(units, projectBytes(project).units))
      expect(["supervisor/db_poller.conf", "systemd/recio-db_poller.service", ".generated.json"]).toContain(f);
    await verified();
  });

  it("a port held by someone else is bad input: exit 2, nothing written, nothing restarted", async () => {
    const before = projectBytes(project);
    const view = await supervisordView();
    const r = await project.cli(["modify-service", "db_poller", "--port", String(BASE + 2)]); // btc_price_watchdog's
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toMatch(/port 28502 \(--port\) is in use by PID \d+ .*btc_price_watchdog/);
    expect(sameBytes(before, projectBytes(project))).toBeUndefined();
    expect(await supervisordView()).toEqual(view);
  });
});

describe("remove-service on a running fleet", { timeout: 120_000 }, () => {
  it("a leaf: its files disappear, only shared artifacts change, the program is gone, its port is free, the rest verifies", async () => {
    const name = "kalshi_account_sync";
    const port = BASE + 4;
    const before = await supervisordView();
    const units = projectBytes(project).units;
    expect(units.has(`supervisor/${name}.conf`)).toBe(true);
    expect(units.has(`systemd/recio-${name}.service`)).toBe(true);
    const r = await project.cli(["remove-service", name]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain(`removed ${name}\n`);
    const unitsAfter = projectBytes(project).units;
    expect(unitsAfter.has(`supervisor/${name}.conf`)).toBe(false);
    expect(unitsAfter.has(`systemd/recio-${name}.service`)).toBe(false);
    for (const f of unitsDiff(units, unitsAfter))
      expect(
        [`supervisor/${name}.conf`, `systemd/recio-${name}.service`, ...SHARED],
        `unexpected change in units/${f}`,
      ).toContain(f);
    expect(readFileSync(join(project.paths.units, "ports.json"), "utf8")).not.toContain(name);
    expect(readFileSync(join(project.paths.units, "PORTS.md"), "utf8")).not.toContain(name);
    const after = await supervisordView();
    expect(after.has(name), "program gone from supervisord").toBe(false);
    before.delete(name);
    expect(after).toEqual(before);
    await waitFor(`port ${port} free`, () => canBind(port), 5000);
    expect(project.readManifest<Manifest>().services[name]).toBeUndefined();
    expect(await lastJournal()).toMatchObject({
      command: `remove-service ${name}`,
      outcome: "applied",
      changes: [`removed ${name} (port ${port} freed)`],
    });
    await verified();
  });

  it("a service others dependOn is refused with exit 2 naming the dependents; nothing changes", async () => {
    const before = projectBytes(project);
    const view = await supervisordView();
    const r = await project.cli(["remove-service", "trade_manager"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toContain("main_app, trade_executor, active_trade_supervisor depend on trade_manager");
    expect(r.stderr).toContain("--force");
    expect(sameBytes(before, projectBytes(project))).toBeUndefined();
    expect(await supervisordView()).toEqual(view);
  });

  it("with --force: exit 0, the dependents' dependsOn no longer name it, the rest verifies", async () => {
    const port = BASE + 120; // trade_manager (4000)
    // {url:trade_manager} in two env values: --force drops dependsOn, but cannot rewrite a reference
    const text = readFileSync(project.manifestPath, "utf8");
    const refused = await project.cli(["remove-service", "trade_manager", "--force"]);
    expect(refused.exitCode, show(refused)).toBe(2);
    expect(refused.stderr).toContain(
      "trade_manager is referenced by services.main_app.env.TRADE_MANAGER_URL, services.trade_executor.env.TRADE_MANAGER_URL",
    );
    expect(readFileSync(project.manifestPath, "utf8")).toBe(text);
    for (const n of ["main_app", "trade_executor"]) {
      const u = await project.cli(["modify-service", n, "--unset-env", "TRADE_MANAGER_URL"]);
      await project.trackAll();
      expect(u.exitCode, show(u)).toBe(0);
    }
    const before = await supervisordView();
    const r = await project.cli(["remove-service", "trade_manager", "--force"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    const m = project.readManifest<Manifest>();
    expect(m.services.trade_manager).toBeUndefined();
    expect(m.services.main_app.dependsOn).toEqual(["active_trade_supervisor"]);
    expect(m.services.trade_executor.dependsOn).toBeUndefined();
    expect(m.services.active_trade_supervisor.dependsOn).toBeUndefined();
    for (const s of Object.values(m.services)) expect(s.dependsOn ?? []).not.toContain("trade_manager");
    const after = await supervisordView();
    expect(after.has("trade_manager")).toBe(false);
    // which programs supervisord restarted (a dependency change may change a program's priority)
    const restarted = [...after].filter(([n, pid]) => before.get(n) !== pid).map(([n]) => n);
    // the product restarts exactly the dependents (their priority follows dependsOn), and waits for them
    // (main_app runs as two instances; auto_entry_supervisor's level drops from 3 to 2 with trade_manager gone)
    expect(restarted.sort()).toEqual([
      "active_trade_supervisor",
      "auto_entry_supervisor",
      "main_app@0",
      "main_app@1",
      "trade_executor",
    ]);
    await waitFor(`port ${port} free`, () => canBind(port), 5000);
    expect(await lastJournal()).toMatchObject({
      command: "remove-service trade_manager",
      outcome: "applied",
      changes: [
        "removed trade_manager (port 28620 freed)",
        "main_app no longer depends on trade_manager (--force)",
        "trade_executor no longer depends on trade_manager (--force)",
        "active_trade_supervisor no longer depends on trade_manager (--force)",
      ],
    });
    const g = await project.cli(["generate", "--check"]);
    expect(g.exitCode, show(g)).toBe(0);
    await verified();
  });
});
