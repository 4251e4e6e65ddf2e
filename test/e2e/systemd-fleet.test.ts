/**
 * The example fleet (the repo's manifest.json: 11 HTTP services — main_app with two instances —, 2 workers, the
 * db_migrate oneshot, 4 dependency levels) under a
 * REAL systemd 252 booted as PID 1 of a private PID + mount + UTS namespace (test/harness/systemd-sandbox.ts,
 * the only way this file boots systemd), driven end to end by the BUILT CLI with `--backend systemd`, run
 * INSIDE the sandbox so MainPIDs, listener PIDs and /proc/PID/cgroup all belong to one PID namespace.
 *
 * `install` and `restart` run without --root: they write `/etc/systemd/system`, which inside the sandbox
 * is a private tmpfs. The first test proves that (other mount namespace, tmpfs on that path) before
 * anything is installed, and the last proves the host's own /etc/systemd/system is unchanged.
 *
 * Ports: 25100-25199 only (core 25100-25149, watchdog 25150-25199). One sandbox for the whole file; the
 * tests run in order and build on each other: install → restart → verify → kill -9 → restart one →
 * restart all → remove-service → add-service (and its rollback) → host without systemd → security scores.
 * Waits poll; there is no fixed sleep.
 */
import { acceptsConnections } from "../../src/inspect/port-probe";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { isPortFree } from "../../src/inspect/port-probe";
import { bootSandbox, sandboxSkipReason, type Sandbox } from "../harness/systemd-sandbox";
import { ensureBuilt, waitFor } from "../helpers/project";
import {
  fleetManifest,
  PROJECT,
  SandboxFleet,
  showRun,
  snapshotTree,
  UNIT_DIR,
  unitDirIsPrivate,
  unitOf,
  WATCHDOG,
  type CliRun,
  type FleetManifest,
} from "../helpers/systemd-fleet";

/** Decided at collection time so a skip is visible in the report, with its reason printed. */
const skipped = sandboxSkipReason();
if (skipped) console.warn(`[systemd fleet e2e] SKIPPED: ${skipped}`);

let sandbox: Sandbox | undefined;
let fleet: SandboxFleet;
let manifest: FleetManifest;
/** Programs that run, as units name them: NAME, or NAME@I per instance (unit PROJECT-NAME@I.service); no oneshot. */
let names: string[];
/** The host's /etc/systemd/system before the sandbox booted (compared at the end). */
let hostUnitsBefore: string[] = [];
const timings: Record<string, number> = {};

const portOf = (name: string): number => manifest.services[name].port!;
const serviceOf = (program: string): string => program.split("@")[0];
const withPort = (): string[] => names.filter((n) => manifest.services[serviceOf(n)].port !== undefined);
/** NAME@I → NAME:I, as status and verify name an instance. */
const labelOf = (program: string): string => program.replace("@", ":");
/** The unit file a program's unit comes from: the template PROJECT-NAME@.service for an instance. */
const unitFileOf = (program: string): string =>
  program.includes("@") ? `${PROJECT}-${serviceOf(program)}@.service` : unitOf(program);
/** The running programs of a manifest (instances expanded, oneshots left out). */
const programsOf = (m: FleetManifest): string[] =>
  Object.entries(m.services).flatMap(([name, s]) =>
    s.type === "oneshot"
      ? []
      : s.instances === undefined
        ? [name]
        : Array.from({ length: Number(s.instances) }, (_, i) => `${name}@${i}`),
  );
const oneshotsOf = (m: FleetManifest): string[] =>
  Object.entries(m.services).flatMap(([name, s]) => (s.type === "oneshot" ? [name] : []));
/** Rows verify reports: every program's label and every oneshot. */
const verifiedCount = (): number => names.length + oneshotsOf(manifest).length;

/** verify --json inside the sandbox, parsed. */
async function verifyJson(...args: string[]): Promise<{ r: CliRun; json: { ok: boolean; services: any[] } }> {
  const r = await fleet.cli(["verify", "--json", ...args]);
  try {
    return { r, json: JSON.parse(r.stdout) };
  } catch {
    throw new Error(`expected verify --json to print JSON; ${showRun(r)}`);
  }
}

/** Polls `verify` (the CLI, inside) until it exits 0; returns that run. */
async function untilVerified(timeoutMs = 60_000): Promise<CliRun> {
  let last: CliRun | undefined;
  await waitFor(
    "verify to exit 0",
    async () => (last = await fleet.cli(["verify"])).exitCode === 0,
    timeoutMs,
    () => (last ? showRun(last) : "no run"),
  );
  return last!;
}

/** A TCP connect to 127.0.0.1:port from the host (src/inspect/port-probe.ts). */
const tcpConnects = (port: number): Promise<boolean> => acceptsConnections(port, "127.0.0.1");

/** `systemd-analyze security --offline=yes FILE`: the overall exposure figure. */
async function securityScore(file: string): Promise<{ score: number; verdict: string }> {
  const result = await run("systemd-analyze", ["security", "--offline=yes", file], { timeoutMs: 60_000 });
  const m = /Overall exposure level for .*: (\d+(?:\.\d+)?) (\S+)/.exec(result.stdout);
  if (!m)
    throw new Error(
      `systemd-analyze security: expected an overall exposure level, found:\n${result.stdout}${result.stderr}`,
    );
  return { score: Number(m[1]), verdict: m[2].replace(/\x1b\[[0-9;]*m/g, "") };
}

beforeAll(async () => {
  if (skipped) return;
  ensureBuilt();
  hostUnitsBefore = snapshotTree(UNIT_DIR);
  const booted = await bootSandbox();
  if ("skipped" in booted) throw new Error(`sandbox skipped after the pre-check passed: ${booted.skipped}`);
  sandbox = booted;
  fleet = new SandboxFleet(sandbox);
  manifest = await fleetManifest(sandbox.dir);
  names = programsOf(manifest);
  fleet.writeManifest(manifest);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  if (!skipped) {
    console.info(`[systemd fleet e2e] CLI durations (ms): ${JSON.stringify(timings)}`);
    // After the sandbox's PID 1 is gone: the host's unit folder is exactly as before.
    expect(snapshotTree(UNIT_DIR)).toEqual(hostUnitsBefore);
  }
}, 60_000);

describe("systemd sandbox for the fleet", () => {
  it("boots with a private /etc/systemd/system, or records why it was skipped", (ctx) => {
    if (skipped) ctx.skip(`systemd sandbox unavailable: ${skipped}`);
    // Refuse to go on (every later test fails) when the default unit folder is not the sandbox's own.
    expect(unitDirIsPrivate(sandbox!)).toBeUndefined();
    expect(existsSync(fleet.unitDirOutside)).toBe(true);
  });
});

describe(
  "the example fleet under a real systemd (--backend systemd, CLI inside the sandbox)",
  { timeout: 180_000 },
  () => {
    it.skipIf(skipped)(
      "install writes the units into the sandbox's /etc/systemd/system (not the host's), daemon-reload, enable",
      async () => {
        expect(unitDirIsPrivate(sandbox!)).toBeUndefined();
        const r = await fleet.cli(["install"]);
        timings.install = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        expect(r.stdout).toMatch(/systemd units installed: added /);
        for (const n of [...names, ...oneshotsOf(manifest)]) {
          expect(existsSync(join(fleet.unitDirOutside, unitFileOf(n))), unitFileOf(n)).toBe(true);
          expect(existsSync(join(UNIT_DIR, unitFileOf(n))), `host ${UNIT_DIR}/${unitFileOf(n)}`).toBe(false);
          if (n.includes("@"))
            expect(existsSync(join(fleet.unitDirOutside, `${PROJECT}-${n}.service.d`, "instance.conf")), n).toBe(true);
        }
        expect(existsSync(join(fleet.unitDirOutside, `${PROJECT}.target`))).toBe(true);
        // enable (persistent, since /etc): the link exists inside the private tmpfs only.
        const enabled = await sandbox!.exec(["systemctl", "is-enabled", `${PROJECT}.target`]);
        expect(enabled.stdout.trim()).toBe("enabled");
        expect(existsSync(join(UNIT_DIR, `multi-user.target.wants/${PROJECT}.target`))).toBe(false);
        const props = await fleet.show(names.map(unitOf));
        for (const p of props) expect(p, p.Id).toMatchObject({ LoadState: "loaded", ActiveState: "inactive" });
        expect(snapshotTree(UNIT_DIR)).toEqual(hostUnitsBefore);
      },
    );

    it.skipIf(skipped)(
      "restart starts all 13 in dependency order; verify --json: every one active, listening, listener in its unit's cgroup, healthy",
      async () => {
        const r = await fleet.cli(["restart"]);
        timings.restart = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        expect(r.stdout).toMatch(/15\/15 verified/); // 13 services: main_app's two instances, the db_migrate oneshot

        const props = await fleet.show(names.map(unitOf));
        for (const p of props) expect(p, p.Id).toMatchObject({ ActiveState: "active", SubState: "running" });

        const { r: v, json } = await verifyJson();
        timings.verify = Math.round(v.durationMs);
        expect(v.exitCode, showRun(v)).toBe(0);
        expect(json.ok).toBe(true);
        expect(json.services.map((s) => s.name).sort()).toEqual(
          [...names.map(labelOf), ...oneshotsOf(manifest)].sort(),
        );
        for (const s of json.services) {
          expect(s.problems, s.name).toEqual([]);
          if (s.type === "oneshot") {
            // Type=oneshot, RemainAfterExit=yes: active (exited) with Result success
            expect(s, s.name).toMatchObject({ state: "EXITED", exitStatus: 0, ok: true });
            const [p] = await fleet.show([unitOf(s.name)], ["ActiveState", "SubState", "Result"]);
            expect(p).toEqual({ ActiveState: "active", SubState: "exited", Result: "success" });
            continue;
          }
          expect(s.state, s.name).toBe("RUNNING");
          const entry = { ...manifest.services[s.service], port: s.port };
          if (entry.port === undefined) continue;
          expect(s.owner, s.name).toMatchObject({ kind: "service" });
          // Independently of verify: the listener's PID (sandbox namespace) lives in THIS unit's cgroup.
          expect(await fleet.cgroupOf(s.owner.pid), `${s.name} listener pid ${s.owner.pid}`).toMatch(
            new RegExp(`/${unitOf(s.program).replace(/\./g, "\\.")}$`),
          );
          if (entry.health) expect(s.health, s.name).toMatchObject({ ok: true });
          // The network namespace is shared: the port answers on the host.
          expect(await tcpConnects(entry.port), `${s.name} port ${entry.port} from the host`).toBe(true);
        }
      },
    );

    it.skipIf(skipped)(
      "kill -9 of a MainPID: systemd restarts it (Restart=on-failure), NRestarts +1, verify passes again",
      async () => {
        const name = "trade_executor";
        const status = JSON.parse((await fleet.cli(["status", "--json"])).stdout) as {
          services: { name: string; pid?: number }[];
        };
        const before = status.services.find((s) => s.name === name)!;
        const [props] = await fleet.show([unitOf(name)]);
        expect(Number(props.MainPID)).toBe(before.pid);
        const restartsBefore = Number(props.NRestarts);

        const killed = await sandbox!.exec(["kill", "-9", String(before.pid)]);
        expect(killed.exitCode, killed.stderr).toBe(0);
        const started = performance.now();
        await waitFor(
          `${name} restarted by systemd`,
          async () => {
            const [p] = await fleet.show([unitOf(name)]);
            return p.ActiveState === "active" && Number(p.MainPID) > 0 && Number(p.MainPID) !== before.pid;
          },
          30_000,
        );
        timings.killToRestarted = Math.round(performance.now() - started);
        const verified = await untilVerified();
        timings.killToVerified = Math.round(performance.now() - started);
        expect(verified.exitCode).toBe(0);

        const [after] = await fleet.show([unitOf(name)]);
        expect(Number(after.NRestarts)).toBe(restartsBefore + 1);
        const status2 = JSON.parse((await fleet.cli(["status", "--json"])).stdout) as {
          services: { name: string; pid?: number; state: string }[];
        };
        const row = status2.services.find((s) => s.name === name)!;
        expect(row).toMatchObject({ state: "RUNNING", pid: Number(after.MainPID) });
        expect(row.pid).not.toBe(before.pid);
      },
    );

    it.skipIf(skipped)(
      "status --json after the kill -9: the unit's NRestarts, and the SIGKILL it restarted from as the last exit",
      async () => {
        const r = await fleet.cli(["status", "--json"]);
        const row = (JSON.parse(r.stdout) as { services: any[] }).services.find((s) => s.name === "trade_executor");
        const [props] = await fleet.show([unitOf("trade_executor")], ["NRestarts", "ExecMainCode"]);
        // NRestarts counts systemd's own restarts (Restart=on-failure) since the last manual start: the kill -9
        // above was one of them (a manual restart resets it, so this test runs before "restart ONE")
        expect(Number(props.NRestarts)).toBeGreaterThanOrEqual(1);
        expect(row.restarts, r.stdout).toBe(Number(props.NRestarts));
        // systemd has restarted it: `systemctl show` describes the new main process only (ExecMainCode 0), so the
        // exit it restarted from comes from the unit's own record (ExecStopPost=, run/exits/trade_executor.log)
        expect(Number(props.ExecMainCode)).toBe(0);
        expect(row.lastExit, r.stdout).toMatchObject({ signal: "SIGKILL", expected: false });
        expect(row.lastExit.ranSeconds, r.stdout).toBeGreaterThan(0);
        expect(Date.now() - row.lastExit.at).toBeLessThan(120_000);
      },
    );

    it.skipIf(skipped)("restart ONE service: its MainPID changes, every other MainPID is unchanged", async () => {
      const name = "trade_executor";
      const before = await fleet.mainPids(names);
      const r = await fleet.cli(["restart", name]);
      timings.restartOne = Math.round(r.durationMs);
      expect(r.exitCode, showRun(r)).toBe(0);
      const after = await fleet.mainPids(names);
      expect(after.get(name)).toBeGreaterThan(0);
      expect(after.get(name)).not.toBe(before.get(name));
      for (const n of names.filter((x) => x !== name)) expect(after.get(n), n).toBe(before.get(n));
    });

    it.skipIf(skipped)(
      "stop active_trade_supervisor refuses while main_app and auto_entry_supervisor run on it; --with-dependents stops them first; start main_app starts it again first",
      async () => {
        const before = await fleet.mainPids(names);
        const refused = await fleet.cli(["stop", "active_trade_supervisor"]);
        expect(refused.exitCode, showRun(refused)).toBe(1);
        expect(refused.stderr).toContain("depends on active_trade_supervisor");
        expect(refused.stderr).toMatch(/main_app(:\d)? is running/);
        expect(refused.stderr).toContain("auto_entry_supervisor is running");
        expect(refused.stderr).toContain('run "orchestrate stop active_trade_supervisor --with-dependents"');
        expect(await fleet.mainPids(names)).toEqual(before);

        const stopped = await fleet.cli(["stop", "active_trade_supervisor", "--with-dependents"]);
        expect(stopped.exitCode, showRun(stopped)).toBe(0);
        const down = ["main_app@0", "main_app@1", "auto_entry_supervisor", "active_trade_supervisor"];
        for (const p of await fleet.show(down.map(unitOf), ["Id", "ActiveState"]))
          expect(p.ActiveState, p.Id).toBe("inactive");
        const at = (text: string) => stopped.stdout.indexOf(text);
        expect(at("active_trade_supervisor: stopped")).toBeGreaterThan(at("auto_entry_supervisor: stopped"));
        // a stopped unit keeps its last exit (the program's answer to SIGTERM: its code or the signal), expected
        const status = JSON.parse((await fleet.cli(["status", "--json"])).stdout) as { services: any[] };
        const ats = status.services.find((x) => x.name === "active_trade_supervisor");
        expect(ats, JSON.stringify(ats)).toMatchObject({ state: "STOPPED", lastExit: { expected: true } });
        expect(ats.lastExit.signal ?? ats.lastExit.code, JSON.stringify(ats)).toBeDefined();
        const rest = await fleet.mainPids(names.filter((n) => !down.includes(n)));
        for (const [n, pid] of rest) expect(pid, n).toBe(before.get(n));

        const started = await fleet.cli(["start", "main_app"]);
        expect(started.exitCode, showRun(started)).toBe(0);
        expect(started.stdout).toContain("active_trade_supervisor is STOPPED: starting it first");
        for (const p of await fleet.show(["main_app@0", "main_app@1", "active_trade_supervisor"].map(unitOf), [
          "Id",
          "ActiveState",
        ]))
          expect(p.ActiveState, p.Id).toBe("active");
        const back = await fleet.cli(["start", "auto_entry_supervisor"]);
        expect(back.exitCode, showRun(back)).toBe(0);
        await untilVerified();
      },
    );

    it.skipIf(skipped)(
      "full restart restarts every service; so does `systemctl restart sbx.target` (PartOf=)",
      async () => {
        const before = await fleet.mainPids(names);
        const r = await fleet.cli(["restart"]);
        expect(r.exitCode, showRun(r)).toBe(0);
        const mid = await fleet.mainPids(names);
        for (const n of names) expect(mid.get(n), n).not.toBe(before.get(n));

        // The generated units' PartOf= carries a restart of the project target to every service.
        const target = await sandbox!.exec(["systemctl", "restart", `${PROJECT}.target`]);
        expect(target.exitCode, target.stderr).toBe(0);
        await waitFor(
          "every service running with a new MainPID after the target restart",
          async () => {
            const now = await fleet.mainPids(names);
            return names.every((n) => (now.get(n) ?? 0) > 0 && now.get(n) !== mid.get(n));
          },
          30_000,
        );
        await untilVerified();
      },
    );

    it.skipIf(skipped)(
      "remove-service of a leaf: exit 0, its unit file gone, unit stopped and unloaded, port free, the rest verified",
      async () => {
        const name = "kalshi_account_sync";
        expect(names.filter((n) => manifest.services[serviceOf(n)].dependsOn?.includes(name))).toEqual([]);
        const port = portOf(name);
        const others = names.filter((n) => n !== name);
        const pidsBefore = await fleet.mainPids(others);
        const r = await fleet.cli(["remove-service", name]);
        timings.removeService = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        expect(r.stdout).toContain(`removed ${name}`);
        expect(existsSync(join(fleet.unitDirOutside, unitOf(name)))).toBe(false);
        expect(existsSync(join(fleet.sandbox.dir, "units/systemd", unitOf(name)))).toBe(false);
        const [p] = await fleet.show([unitOf(name)]);
        expect(p).toMatchObject({ LoadState: "not-found", ActiveState: "inactive", MainPID: "0" });
        expect(await isPortFree(port)).toBe(true);
        expect(fleet.manifest().services[name]).toBeUndefined();
        // Nothing else was touched.
        expect(await fleet.mainPids(others)).toEqual(pidsBefore);
        const { r: v, json } = await verifyJson();
        expect(v.exitCode, showRun(v)).toBe(0);
        expect(json.services.map((s) => s.name).sort()).toEqual(
          [...others.map(labelOf), ...oneshotsOf(manifest)].sort(),
        );
        manifest = fleet.manifest();
        names = others;
      },
    );

    it.skipIf(skipped)(
      "add-service on the group's next free port: exit 0, unit file installed, running in its cgroup, verified",
      async () => {
        const name = "quotes";
        const used = new Set(Object.values(manifest.services).flatMap((s) => (s.port ? [s.port] : [])));
        let expected = WATCHDOG.low;
        while (used.has(expected) || !(await isPortFree(expected))) expected++;
        expect(expected).toBeLessThanOrEqual(WATCHDOG.high);
        const others = [...names];
        const pidsBefore = await fleet.mainPids(others);

        const r = await fleet.cli([
          "add-service",
          name,
          "--group",
          "watchdog",
          "--command",
          "/usr/bin/python3 services/http_service.py {name}",
          "--dir",
          fleet.manifest().services.db_poller.directory!,
          "--health",
          "/health",
        ]);
        timings.addService = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        const added = fleet.manifest().services[name];
        expect(added.port).toBe(expected);
        expect(existsSync(join(fleet.unitDirOutside, unitOf(name)))).toBe(true);
        expect(readFileSync(join(fleet.unitDirOutside, unitOf(name)), "utf8")).toContain(
          `Environment="PORT=${expected}"`,
        );
        const [p] = await fleet.show([unitOf(name)]);
        expect(p).toMatchObject({ LoadState: "loaded", ActiveState: "active", SubState: "running" });
        // The new unit is wanted by the target (re-enabled / reloaded), so a target restart includes it.
        const wants = await sandbox!.exec(["systemctl", "show", "-p", "Wants", "--value", `${PROJECT}.target`]);
        expect(wants.stdout.split(/\s+/)).toContain(unitOf(name));
        expect(await fleet.mainPids(others)).toEqual(pidsBefore);

        const { r: v, json } = await verifyJson();
        expect(v.exitCode, showRun(v)).toBe(0);
        const check = json.services.find((s) => s.name === name);
        expect(check).toMatchObject({
          state: "RUNNING",
          port: expected,
          owner: { kind: "service" },
          health: { ok: true },
        });
        expect(await fleet.cgroupOf(check.owner.pid)).toMatch(new RegExp(`/${unitOf(name).replace(/\./g, "\\.")}$`));
        manifest = fleet.manifest();
        names = programsOf(manifest);
      },
    );

    it.skipIf(skipped)(
      "add-service rollback: a command that exits at once → exit 1, manifest byte-identical, no unit file anywhere",
      async () => {
        const name = "dies_at_once";
        const text = fleet.manifestText();
        const pidsBefore = await fleet.mainPids(names);
        const r = await fleet.cli([
          "add-service",
          name,
          "--group",
          "watchdog",
          "--command",
          "/bin/false",
          "--dir",
          manifest.services.db_poller.directory!,
        ]);
        expect(r.exitCode, showRun(r)).toBe(1);
        expect(r.stderr).toMatch(/rolled back/);
        expect(fleet.manifestText()).toBe(text);
        expect(existsSync(join(fleet.unitDirOutside, unitOf(name)))).toBe(false);
        expect(existsSync(join(fleet.sandbox.dir, "units/systemd", unitOf(name)))).toBe(false);
        const [p] = await fleet.show([unitOf(name)]);
        expect(p.LoadState).toBe("not-found");
        expect(await fleet.mainPids(names)).toEqual(pidsBefore);
        await untilVerified();
      },
    );

    it.skipIf(skipped)(
      '"hardening": "strict" for the whole fleet: restart reloads every unit, the sandboxed services run and verify',
      async () => {
        const m = fleet.manifest();
        m.hardening = "strict";
        fleet.writeManifest(m);
        const before = await fleet.mainPids(names);
        const r = await fleet.cli(["restart"]);
        timings.restartStrict = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`${verifiedCount()}/${verifiedCount()} verified`));
        const after = await fleet.mainPids(names);
        for (const n of names) expect(after.get(n), n).not.toBe(before.get(n));
        const props = await fleet.show(names.map(unitOf), [
          "Id",
          "ActiveState",
          "ProtectSystem",
          "PrivateTmp",
          "NoNewPrivileges",
        ]);
        for (const p of props)
          expect(p, p.Id).toMatchObject({
            ActiveState: "active",
            ProtectSystem: "strict",
            PrivateTmp: "yes",
            NoNewPrivileges: "yes",
          });
        const { r: v, json } = await verifyJson();
        expect(v.exitCode, showRun(v)).toBe(0);
        for (const s of json.services.filter((x) => x.port !== undefined)) {
          expect(await fleet.cgroupOf(s.owner.pid), s.name).toMatch(
            new RegExp(`/${unitOf(s.program).replace(/\./g, "\\.")}$`),
          );
        }
        manifest = fleet.manifest();
      },
    );

    it.skipIf(skipped)(
      "recover --yes: stops the target, reinstalls, starts every service in order and verifies; --dry-run changes nothing",
      async () => {
        const before = await fleet.mainPids(names);
        const dry = await fleet.cli(["recover", "--dry-run"]);
        expect(dry.exitCode, showRun(dry)).toBe(0);
        expect(dry.stdout).toMatch(/would stop sbx\.target/);
        expect(await fleet.mainPids(names)).toEqual(before);
        const r = await fleet.cli(["recover", "--yes"]);
        timings.recover = Math.round(r.durationMs);
        expect(r.exitCode, showRun(r)).toBe(0);
        expect(r.stdout).toMatch(/\[6\/6\] verify/);
        expect(r.stdout).toMatch(new RegExp(`${verifiedCount()}/${verifiedCount()} verified`));
        const after = await fleet.mainPids(names);
        for (const n of names) expect(after.get(n), n).not.toBe(before.get(n));
      },
    );

    it.skipIf(skipped)("the host's /etc/systemd/system is untouched while the sandbox runs", () => {
      expect(snapshotTree(UNIT_DIR)).toEqual(hostUnitsBefore);
      for (const n of names) expect(existsSync(join(UNIT_DIR, unitFileOf(n))), n).toBe(false);
    });
  },
);

describe("--backend systemd on this host, outside the sandbox (PID 1 is not systemd)", { timeout: 60_000 }, () => {
  const hostHasSystemd = existsSync("/run/systemd/system");

  it.skipIf(skipped || hostHasSystemd)(
    'status and restart exit 1: "System has not been booted with systemd", naming --user and the supervisord backend',
    async () => {
      const text = fleet.manifestText();
      for (const command of ["status", "restart", "verify"]) {
        const r = await fleet.hostCli([command]);
        expect(r.exitCode, `${command}: ${showRun(r)}`).toBe(1);
        const out = r.stdout + r.stderr;
        expect(out, command).toMatch(/System has not been booted with systemd/);
        expect(out, command).toMatch(/--backend supervisor/);
        expect(out, command).toMatch(/--user/);
      }
      expect(fleet.manifestText()).toBe(text);
      expect(snapshotTree(UNIT_DIR)).toEqual(hostUnitsBefore);
    },
  );

  it.skipIf(skipped || hostHasSystemd)(
    "install --user refuses before writing a unit file (no user manager), naming the alternatives",
    async () => {
      // --user writes $XDG_CONFIG_HOME/systemd/user: a folder of ours, so a regression cannot touch the host's units.
      const config = join(fleet.sandbox.dir, "host-xdg-config");
      mkdirSync(config, { recursive: true });
      const r = await fleet.hostCli(["--user", "install"], { XDG_CONFIG_HOME: config });
      expect(r.exitCode, showRun(r)).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/--backend supervisor/);
      expect(r.stdout + r.stderr).toMatch(/--root DIR/);
      expect(existsSync(join(config, "systemd/user"))).toBe(false);
      expect(snapshotTree(UNIT_DIR)).toEqual(hostUnitsBefore);
    },
  );
});

describe("systemd-analyze security --offline=yes on the fleet's generated units", { timeout: 120_000 }, () => {
  it.skipIf(skipped)('default units as generated; strict units ("hardening": "strict") score ≤ 2.5', async () => {
    // A host-side copy of the fleet, generated only (nothing installed): default and strict.
    const scores: Record<string, Record<string, string>> = { default: {}, strict: {} };
    for (const profile of ["default", "strict"] as const) {
      const root = join(sandbox!.dir, `security-${profile}`);
      mkdirSync(root, { recursive: true });
      const m = structuredClone(manifest);
      if (profile === "strict") m.hardening = "strict";
      else delete m.hardening; // the fleet may have been switched to strict by an earlier test
      writeFileSync(join(root, "manifest.json"), JSON.stringify(m, null, 2) + "\n");
      const g = await run(
        process.execPath,
        [fleet.cliPath, "--backend", "systemd", "--manifest", join(root, "manifest.json"), "generate"],
        { timeoutMs: 60_000, extraEnv: { NO_COLOR: "1" } },
      );
      expect(g.exitCode, g.stderr).toBe(0);
      for (const n of Object.keys(m.services)) {
        let unit = join(root, "units/systemd", unitOf(n));
        if (m.services[n].instances) {
          // an instance is the template plus its drop-in (which holds ExecStart=): analyze instance 0 as one file
          const dir = join(root, "units/systemd");
          unit = join(root, `${PROJECT}-${n}@0.service`);
          writeFileSync(
            unit,
            readFileSync(join(dir, `${PROJECT}-${n}@.service`), "utf8") +
              "\n" +
              readFileSync(join(dir, `${PROJECT}-${n}@0.service.d`, "instance.conf"), "utf8"),
          );
        }
        if (profile === "strict") expect(readFileSync(unit, "utf8")).toContain("ProtectSystem=strict");
        const { score, verdict } = await securityScore(unit);
        scores[profile][n] = `${score} ${verdict}`;
        if (profile === "strict") expect(score, n).toBeLessThanOrEqual(2.5);
        else expect(score, n).toBeGreaterThan(2.5);
      }
    }
    console.info(`[systemd fleet e2e] systemd-analyze security --offline=yes:\n${JSON.stringify(scores, null, 2)}`);
  });
});
