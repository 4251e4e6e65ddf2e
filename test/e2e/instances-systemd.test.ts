/**
 * Instances, a oneshot, a manual service and restart policies through the built CLI under a real systemd
 * (the sandbox of test/harness/systemd-sandbox.ts, CLI run inside it): each instance unit PROJECT-NAME@I.service
 * listens on its own port and is verified with its own cgroup, NAME:I in stop/start/status/verify, autostart
 * false not started by restart but by start, scale up and down through install (template + drop-in folders)
 * keeping the other instances' MainPIDs, Restart= observed after kill -9 and after a clean exit, and a failing
 * oneshot keeping its dependents stopped. Ports: block instances-systemd (29600-29799). Skipped visibly
 * (with the reason) where the sandbox cannot run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusRow as Row } from "../../src/fleet/status";
import { isPortFree } from "../../src/inspect/port-probe";
import { pollUntil } from "../../src/signal/poll";
import { sandboxSkipReason, type Sandbox } from "../harness/systemd-sandbox";
import { PORT_BLOCKS } from "../helpers/ports";
import { ensureBuilt } from "../helpers/project";
import { bootFleetSandbox, sandboxFixture, SandboxFleet, showRun, unitDirIsPrivate } from "../helpers/systemd-fleet";

const skipped = sandboxSkipReason();
if (skipped) console.warn(`[instances systemd e2e] SKIPPED: ${skipped}`);

/** The first base of the block (steps of 50) whose ports BASE..BASE+2, +10, +20 are all free right now. */
let BASE = PORT_BLOCKS["instances-systemd"].low;
async function chooseBase(): Promise<void> {
  for (
    let base = PORT_BLOCKS["instances-systemd"].low;
    base + 40 <= PORT_BLOCKS["instances-systemd"].high;
    base += 50
  ) {
    const free = await Promise.all([0, 1, 2, 10, 20].map((d) => isPortFree(base + d)));
    if (free.every(Boolean)) {
      BASE = base;
      return;
    }
  }
  throw new Error("no free run of ports in block instances-systemd: something else listens there (ss -ltnp)");
}
let sandbox: Sandbox;
let fleet: SandboxFleet;

interface Check extends Row {
  ok: boolean;
  instance: number;
  manual?: boolean;
  problems: string[];
  owner?: { kind: string; pid?: number };
}

/** A fixture service run from the sandbox's own copy (test/helpers/systemd-fleet.ts sandboxFixture). */
const fixture = (file: string, port: number | undefined, extra: Record<string, unknown> = {}) =>
  sandboxFixture(sandbox, file, port, extra);

function manifest(exitCode: string): Record<string, unknown> {
  return {
    version: 1.1,
    project: "sbi",
    host: "127.0.0.1",
    groups: { web: { range: `${BASE}-${BASE + 40}` } },
    services: {
      migrate: fixture("runs-once.js", undefined, { type: "oneshot", env: { EXIT_CODE: exitCode } }),
      api: fixture("binds-port.js", BASE, {
        group: "web",
        instances: 2,
        dependsOn: ["migrate"],
        health: "/health",
        restartSec: 1,
      }),
      flaky: fixture("binds-port.js", BASE + 10, { group: "web", restart: "on-failure", restartSec: 1 }),
      manual: fixture("binds-port.js", BASE + 20, { group: "web", autostart: false }),
    },
  };
}

/** `codes`: 3 when an enabled service that should run does not (a stopped instance), as supervisorctl status. */
async function status(codes: number[] = [0]): Promise<Map<string, Row>> {
  const r = await fleet.cli(["status", "--json"]);
  expect(codes, showRun(r)).toContain(r.exitCode);
  return new Map((JSON.parse(r.stdout) as { services: Row[] }).services.map((x) => [x.name, x]));
}

async function verify(...names: string[]): Promise<{ code?: number; checks: Check[] }> {
  const r = await fleet.cli(["verify", "--json", ...names]);
  return { code: r.exitCode, checks: (JSON.parse(r.stdout) as { services: Check[] }).services };
}

async function waitRow(name: string, ok: (row: Row) => boolean): Promise<Row> {
  let last: Row | undefined;
  const done = await pollUntil(async () => ok((last = (await status([0, 3])).get(name)!)), 20_000);
  if (!done) throw new Error(`${name}: condition not reached, last ${JSON.stringify(last)}`);
  return last!;
}

beforeAll(async () => {
  await chooseBase();
  if (skipped) return;
  ensureBuilt();
  ({ sandbox, fleet } = await bootFleetSandbox());
  fleet.writeManifest(JSON.stringify(manifest("0"), null, 2) + "\n");
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

describe("instances, oneshot, autostart false and restart policies under systemd", { timeout: 180_000 }, () => {
  it("boots with a private unit folder, or records why it was skipped", (ctx) => {
    if (skipped) ctx.skip(`systemd sandbox unavailable: ${skipped}`);
    expect(unitDirIsPrivate(sandbox)).toBeUndefined();
  });

  it.skipIf(skipped)(
    "restart: the oneshot ran (active (exited)), each instance unit on its own port in its own cgroup, manual not started",
    async () => {
      const r = await fleet.cli(["restart"]);
      expect(r.exitCode, showRun(r)).toBe(0);
      expect(r.stdout).toMatch(/migrate ran in .* \(exit 0\)/);
      const rows = await status();
      expect(rows.get("migrate")).toMatchObject({ state: "EXITED", exitStatus: 0 });
      expect(rows.get("api:0")).toMatchObject({ state: "RUNNING", port: BASE });
      expect(rows.get("api:1")).toMatchObject({ state: "RUNNING", port: BASE + 1 });
      expect(rows.get("manual")!.state).toBe("MANUAL");
      const { code, checks } = await verify();
      expect(code, JSON.stringify(checks, null, 2)).toBe(0);
      for (const i of [0, 1]) {
        const c = checks.find((x) => x.name === `api:${i}`)!;
        expect(c.owner?.kind).toBe("service");
        expect(await fleet.cgroupOf(c.owner!.pid!)).toMatch(new RegExp(`/sbi-api@${i}\\.service$`));
      }
      expect(existsSync(join(fleet.unitDirOutside, "sbi-api@.service"))).toBe(true);
      expect(existsSync(join(fleet.unitDirOutside, "sbi-api@1.service.d", "instance.conf"))).toBe(true);
    },
  );

  it.skipIf(skipped)("stop api:1 and start api:1: api:0 keeps its MainPID; start manual starts it", async () => {
    const before = await status();
    expect((await fleet.cli(["stop", "api:1"])).exitCode).toBe(0);
    expect((await status([3])).get("api:1")!.state).toBe("STOPPED");
    const start = await fleet.cli(["start", "api:1"]);
    expect(start.exitCode, showRun(start)).toBe(0);
    const after = await status();
    expect(after.get("api:1")!.state).toBe("RUNNING");
    expect(after.get("api:0")!.pid).toBe(before.get("api:0")!.pid);
    const manual = await fleet.cli(["start", "manual"]);
    expect(manual.exitCode, showRun(manual)).toBe(0);
    const { checks } = await verify("manual");
    expect(checks[0]).toMatchObject({ ok: true, state: "RUNNING", owner: { kind: "service" } });
    expect((await fleet.cli(["stop", "manual"])).exitCode).toBe(0);
  });

  it.skipIf(skipped)(
    "restart policy: kill -9 brings an always instance and an on-failure service back; a clean exit of on-failure stays down",
    async () => {
      const before = await status();
      const api0 = before.get("api:0")!.pid!;
      expect((await sandbox.exec(["kill", "-9", String(api0)])).exitCode).toBe(0);
      await waitRow("api:0", (r) => r.state === "RUNNING" && r.pid !== undefined && r.pid !== api0);
      const flaky = before.get("flaky")!.pid!;
      expect((await sandbox.exec(["kill", "-9", String(flaky)])).exitCode).toBe(0);
      const back = await waitRow("flaky", (r) => r.state === "RUNNING" && r.pid !== undefined && r.pid !== flaky);
      // binds-port exits 0 on SIGTERM: a clean exit, which Restart=on-failure does not restart
      expect((await sandbox.exec(["kill", "-TERM", String(back.pid)])).exitCode).toBe(0);
      // a restart systemd schedules shows as auto-restart (BACKOFF) during RestartSec=; inactive (dead) means none is
      const down = await waitRow("flaky", (r) => r.state !== "RUNNING" && r.state !== "STOPPING");
      expect(down.state).toBe("STOPPED");
      // flaky is stopped and should run: status exits 3
      expect((await status([3])).get("api:1")!.pid).toBe(before.get("api:1")!.pid);
      expect((await fleet.cli(["start", "flaky"])).exitCode).toBe(0);
    },
  );

  it.skipIf(skipped)(
    "modify-service api --instances 3 then 2: a new instance unit, then its drop-in folder gone; the others keep their MainPIDs",
    async () => {
      const before = await status();
      const up = await fleet.cli(["modify-service", "api", "--instances", "3"]);
      expect(up.exitCode, showRun(up)).toBe(0);
      let rows = await status();
      expect(rows.get("api:2")).toMatchObject({ state: "RUNNING", port: BASE + 2 });
      for (const n of ["api:0", "api:1", "flaky"]) expect(rows.get(n)!.pid, n).toBe(before.get(n)!.pid);
      const down = await fleet.cli(["modify-service", "api", "--instances", "2"]);
      expect(down.exitCode, showRun(down)).toBe(0);
      rows = await status();
      expect(rows.has("api:2")).toBe(false);
      for (const n of ["api:0", "api:1", "flaky"]) expect(rows.get(n)!.pid, n).toBe(before.get(n)!.pid);
      const [unit] = await fleet.show(["sbi-api@2.service"], ["ActiveState"]);
      expect(unit.ActiveState).toBe("inactive");
      expect(existsSync(join(fleet.unitDirOutside, "sbi-api@2.service.d"))).toBe(false);
      expect(existsSync(join(sandbox.dir, "units", "systemd", "sbi-api@2.service.d"))).toBe(false);
    },
  );

  it.skipIf(skipped)("a oneshot that fails (Result exit-code) keeps its dependents stopped and says so", async () => {
    fleet.writeManifest(JSON.stringify(manifest("3"), null, 2) + "\n");
    const r = await fleet.cli(["restart"]);
    expect(r.exitCode, showRun(r)).toBe(1);
    expect(r.stdout).toMatch(/migrate: oneshot failed: FATAL/);
    expect(r.stdout).toMatch(/✗ api: not started, depends on migrate/);
    const rows = await status([3]); // a failed oneshot and stopped instances that should run
    for (const n of ["api:0", "api:1"]) expect(rows.get(n)!.state, n).toBe("STOPPED");
    const { code, checks } = await verify("migrate");
    expect(code).toBe(1);
    expect(checks[0].problems[0]).toMatch(/last run exited with code 3, expected 0 \(exitCodes\)/);
  });
});
