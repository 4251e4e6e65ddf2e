/**
 * The example fleet (the repo's manifest.json: 11 HTTP services — main_app with two instances —, 2 workers and
 * the db_migrate oneshot, 4 dependency levels) under
 * a REAL private supervisord, driven by the BUILT CLI. Every port is remapped into this file's block
 * (24100-24199; core 24100-24149, watchdog 24150-24199), never the fleet's real ports; commands run the
 * repo's services/ through `directory` = the repo root. One supervisord for the whole file, in order:
 * restart → verify/status → kill -9 → a foreign listener → a changed env → generate --check → logs.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/backend/supervisord/pids";
import { loadProject } from "../../src/manifest";
import { generateUnits } from "../../src/fleet/generate";
import {
  createProject,
  ensureBuilt,
  REPO_ROOT,
  show,
  waitFor,
  type CliResult,
  type TestProject,
} from "../helpers/project";
import { portsOf } from "../helpers/ports";

const CORE = { low: 24100, high: 24149 };
const WATCHDOG = { low: 24150, high: 24199 };
const SUPERVISORD = "/usr/bin/supervisord";
/** The service killed with -9 (nothing depends on it). */
const VICTIM = "trade_executor";

interface ServiceEntry {
  group?: string;
  port?: number;
  command: string;
  directory?: string;
  env?: Record<string, string>;
  health?: string;
  dependsOn?: string[];
  startSecs?: number;
  instances?: number;
  ports?: number[];
  type?: string;
}
interface Manifest {
  ports?: object;
  groups: Record<string, { range: unknown; description?: string }>;
  services: Record<string, ServiceEntry>;
  [key: string]: unknown;
}

let project: TestProject;
let manifest: Manifest;
/** One row per instance (NAME, or NAME:I with `instances`), as status and verify report them. */
interface Row {
  label: string;
  program: string;
  service: string;
  port?: number;
  oneshot: boolean;
}
let rows: Row[];
/** Programs that run (not the oneshot), as supervisord names them. */
let programs: string[];

function rowsOf(m: Manifest): Row[] {
  return Object.entries(m.services).flatMap(([name, s]) => {
    const n = Number(s.instances ?? 1);
    return Array.from({ length: n }, (_, i) => ({
      label: s.instances === undefined ? name : `${name}:${i}`,
      program: s.instances === undefined ? name : `${name}@${i}`,
      service: name,
      port: s.ports ? s.ports[i] : s.port === undefined ? undefined : s.port + i,
      oneshot: s.type === "oneshot",
    }));
  });
}
const portOf: Record<string, number> = {};
let proxyPort = 0;

/** The repo's manifest with ports in this file's block and services run from the repo's folder. */
async function fleetManifest(): Promise<Manifest> {
  const m = JSON.parse(readFileSync(join(REPO_ROOT, "manifest.json"), "utf8")) as Manifest;
  delete m.$schema;
  m.ports = { allowed: [`${CORE.low}-${WATCHDOG.high}`] };
  m.groups.core.range = `${CORE.low}-${CORE.high}`;
  m.groups.watchdog.range = `${WATCHDOG.low}-${WATCHDOG.high}`;
  const allocators = { core: portsOf("procedure-fleet", CORE), watchdog: portsOf("procedure-fleet", WATCHDOG) };
  for (const [name, s] of Object.entries(m.services)) {
    s.directory = REPO_ROOT;
    if (name === VICTIM) s.startSecs = 4; // a wide STARTING window after kill -9, for the verify that must see it
    if (s.port === undefined) continue;
    const allocator = allocators[s.group as "core" | "watchdog"];
    s.port = await allocator.take();
    portOf[name] = s.port;
    // instance i listens on port + i: take those too, else write them down as "ports"
    const more = await allocator.takeMany(Number(s.instances ?? 1) - 1);
    if (more.some((p, i) => p !== s.port! + 1 + i)) {
      s.ports = [s.port, ...more];
      delete s.port;
    }
  }
  // the fleet's proxy (127.0.0.1:8000 in the repo) on a port of this block
  proxyPort = await allocators.watchdog.take();
  m.proxy = { listen: `127.0.0.1:${proxyPort}` };
  return m;
}

/** verify --json, parsed. */
async function verifyJson(...args: string[]): Promise<{ r: CliResult; json: { ok: boolean; services: any[] } }> {
  const r = await project.cli(["verify", "--json", ...args]);
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`expected verify --json to print JSON; ${show(r)}`);
  }
  return { r, json };
}

/** Polls `verify` (the CLI) until it exits 0; returns that run. */
async function untilVerified(timeoutMs = 30_000): Promise<CliResult> {
  let last: CliResult | undefined;
  await waitFor(
    "verify to exit 0",
    async () => (last = await project.cli(["verify"])).exitCode === 0,
    timeoutMs,
    () => (last ? show(last) : "no run"),
  );
  return last!;
}

beforeAll(async () => {
  expect(
    existsSync(SUPERVISORD),
    `these tests need a real supervisord at ${SUPERVISORD}: apt-get install -y supervisor`,
  ).toBe(true);
  ensureBuilt();
  manifest = await fleetManifest();
  rows = rowsOf(manifest);
  programs = rows.filter((r) => !r.oneshot).map((r) => r.program);
  project = createProject("fleet", manifest);
});

afterAll(async () => {
  await project?.cleanup();
}, 60_000);

describe("the example fleet under a real supervisord", { timeout: 120_000 }, () => {
  let first: CliResult;

  beforeAll(async () => {
    first = await project.cli(["restart"]);
    await project.trackAll();
  }, 120_000);

  it("restart exits 0 with every service RUNNING, listening itself and healthy", () => {
    expect(first.exitCode, show(first)).toBe(0);
    expect(first.stdout).toContain(`✓ ok — ${rows.length}/${rows.length} verified`);
    expect(first.stdout).toContain("started (run/supervisord.sock)");
    for (const row of rows) {
      const s = manifest.services[row.service];
      const state = row.oneshot ? "EXITED \\(exit 0\\)" : "RUNNING";
      const line = first.stdout.split("\n").find((l) => new RegExp(`^\\s*${row.label}\\s+${state}\\s`).test(l));
      expect(line, `${row.label} ${state} in\n${first.stdout}`).toBeDefined();
      expect(line!).toMatch(/\sok$/);
      if (row.port !== undefined)
        expect(line!).toMatch(new RegExp(`\\s${row.port}\\s+ours \\(\\d+\\)\\s+${s.health ? "200" : "-"}\\s`));
    }
    // dependency order: main_app (level 3) only after its dependencies were ready (every instance; the oneshot ran)
    const at = (n: string) =>
      Math.max(
        ...[`: ${n} ready in `, `: ${n} ran in `, `: ${n}:0 ready in `, `: ${n}:1 ready in `].map((t) =>
          first.stdout.indexOf(t),
        ),
      );
    for (const [name, s] of Object.entries(manifest.services))
      for (const dep of s.dependsOn ?? []) expect(at(dep), `${dep} before ${name}`).toBeLessThan(at(name));
  });

  it("restart brings up the proxy after the services and prints its URLs, each verified through it", () => {
    expect(first.stdout).toMatch(/bring up the proxy \(nginx\)/);
    for (const [path, service] of [
      ["/", "main_app"],
      ["/api/trades/", "trade_executor"],
      ["/api/v1/monitoring/", "btc_price_watchdog"],
    ]) {
      const line = first.stdout.split("\n").find((l) => l.includes(`http://127.0.0.1:${proxyPort}${path} `));
      expect(line, first.stdout).toMatch(new RegExp(`→ ${service}\\s+ok \\d{3} from 127\\.0\\.0\\.1:(\\d+)`));
      const port = Number(/from 127\.0\.0\.1:(\d+)/.exec(line!)![1]);
      const own = service === "main_app" ? [portOf.main_app, portOf.main_app + 1] : [portOf[service]];
      expect(own).toContain(port);
    }
    // the verify table holds the proxy's rows
    expect(first.stdout).toMatch(/^\s*proxy\s+RUNNING\s+\d+\s+\d+\s+ours/m);
    expect(first.stdout).toMatch(/^\s*proxy \/api\/trades\/\s+RUNNING/m);
  });

  it("verify --json exits 0 and reports state, owner, health and usage per service", async () => {
    const { r, json } = await verifyJson();
    expect(r.exitCode, show(r)).toBe(0);
    expect(json.ok).toBe(true);
    expect(json.services.map((s) => s.name).sort()).toEqual(rows.map((r) => r.label).sort());
    for (const c of json.services) {
      const row = rows.find((r) => r.label === c.name)!;
      const s = manifest.services[row.service];
      expect(c.service).toBe(row.service);
      if (row.oneshot) {
        expect(c, c.name).toMatchObject({ state: "EXITED", exitStatus: 0, type: "oneshot", ok: true, problems: [] });
        expect(c.port).toBeUndefined();
        continue;
      }
      expect(c, c.name).toMatchObject({ state: "RUNNING", ok: true, problems: [] });
      expect(c.pid).toBeGreaterThan(0);
      expect(c.usage.memoryBytes, c.name).toBeGreaterThan(1024 * 1024);
      expect(typeof c.usage.cpu).toBe("number");
      if (row.port !== undefined) {
        expect(c.port).toBe(row.port);
        expect(c.owner.kind, c.name).toBe("service");
      } else expect(c.owner).toBeUndefined();
      if (s.health) expect(c.health, c.name).toMatchObject({ ok: true, status: 200 });
    }
  });

  it("status --json lists every service RUNNING with its pid and port", async () => {
    const r = await project.cli(["status", "--json"]);
    expect(r.exitCode, show(r)).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.manager).toBe("running");
    const pids = await project.pids();
    for (const row of report.services) {
      const expected = rows.find((r) => r.label === row.name)!;
      expect(row, row.name).toMatchObject(
        expected.oneshot
          ? { state: "EXITED", exitStatus: 0, enabled: true, problems: [] }
          : { state: "RUNNING", enabled: true, pid: pids.get(expected.program), problems: [] },
      );
      if (!expected.oneshot) expect(row.pid).toBeGreaterThan(0);
      expect(row.port).toBe(expected.port);
    }
    expect(report.services).toHaveLength(rows.length);
  });

  it("kill -9 of a service: verify exits 1 naming it, supervisord brings it back, verify exits 0 again", async () => {
    const victim = VICTIM;
    const before = (await project.pids()).get(victim)!;
    process.kill(before, "SIGKILL");
    await waitFor(`pid ${before} to die`, () => !isAlive(before), 5000);
    const r = await project.cli(["verify"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stdout, show(r)).toMatch(
      new RegExp(`✗ ${victim}: (STARTING|BACKOFF|EXITED|RUNNING for only|nothing listens on port ${portOf[victim]})`),
    );
    expect(r.stdout).toMatch(/✗ .*\n?/);
    expect(
      r.stdout
        .split("\n")
        .filter((l) => l.includes("✗"))
        .every(
          (l) => l.includes(`${victim}:`) || l.includes(`(→ ${victim}): nginx answered 502: no instance of ${victim}`),
        ),
      show(r),
    ).toBe(true); // nobody else is blamed: its route, if requested before it listens again, names it as the cause
    const again = await untilVerified();
    expect(again.stdout).toMatch(new RegExp(`${victim}\\s+RUNNING\\s+\\d+\\s+${portOf[victim]}\\s+ours`));
    const after = (await project.pids()).get(victim)!;
    expect(after).not.toBe(before); // autorestart: a new process
  });

  it("a foreign process on a managed port: verify exits 1 naming the foreign PID", async () => {
    const victim = "kalshi_account_sync"; // nothing depends on it
    const stop = await project.cli(["stop", victim]);
    expect(stop.exitCode, show(stop)).toBe(0);
    const intruder = await project.startListener(portOf[victim]);
    try {
      const r = await project.cli(["verify"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stdout).toContain(
        `✗ ${victim}: port ${portOf[victim]} is held by PID ${intruder.pid} (${process.execPath} -e`,
      );
      expect(r.stdout).toMatch(
        new RegExp(`${victim}\\s+STOPPED\\s+-\\s+${portOf[victim]}\\s+FOREIGN ${intruder.pid}\\s.*FAIL`),
      );
      const { json } = await verifyJson(victim);
      expect(json.services[0].owner).toMatchObject({ kind: "foreign", pid: intruder.pid });
    } finally {
      await project.stopListener(intruder);
    }
    const start = await project.cli(["start", victim]);
    expect(start.exitCode, show(start)).toBe(0);
    expect(start.stdout).toMatch(new RegExp(`${victim}: ready in \\d+ ms`));
    await untilVerified();
  });

  it("a changed env restarts only that program: `restart NAME` and apply (like `update`) keep every other PID", async () => {
    const before = await project.pids();
    // 1. through the CLI: change trade_executor's env, restart it
    manifest.services.trade_executor.env = { ...manifest.services.trade_executor.env, LOG_LEVEL: "debug" };
    project.writeManifest(manifest);
    const r = await project.cli(["restart", "trade_executor"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("added none, changed trade_executor, removed none");
    const mid = await project.pids();
    expect(mid.get("trade_executor")).not.toBe(before.get("trade_executor"));
    for (const name of programs.filter((n) => n !== "trade_executor")) {
      expect(mid.get(name), name).toBeGreaterThan(0);
      expect(mid.get(name), name).toBe(before.get(name));
    }
    const env = await project.cli(["env", "trade_executor"]);
    expect(env.stdout).toContain("LOG_LEVEL=debug");
    expect(readFileSync(`/proc/${mid.get("trade_executor")}/environ`, "utf8").split("\0")).toContain("LOG_LEVEL=debug");

    // 2. in-process, the apply step alone (reloadConfig → added/changed/removed): only db_poller restarts
    manifest.services.db_poller.env = { POLL_SECONDS: "7" };
    project.writeManifest(manifest);
    const { model } = loadProject(project.manifestPath);
    generateUnits(model, { write: true });
    expect(await project.backend.apply()).toEqual({ added: [], changed: ["db_poller"], removed: [] });
    // programs have autostart=false: apply reloads, the caller starts (as restart's start step does)
    await project.backend.start("db_poller");
    await waitFor(
      "db_poller RUNNING again",
      async () => (await project.backend.status(["db_poller"]))[0].state === "RUNNING",
      20_000,
    );
    const after = await project.pids();
    expect(after.get("db_poller")).not.toBe(mid.get("db_poller"));
    for (const name of programs.filter((n) => n !== "db_poller")) {
      expect(after.get(name), name).toBeGreaterThan(0);
      expect(after.get(name), name).toBe(mid.get(name));
    }
    await untilVerified();
  });

  it("generate --check: exit 0 after restart, exit 1 naming a hand-edited units/ file", async () => {
    const ok = await project.cli(["generate", "--check"]);
    expect(ok.exitCode, show(ok)).toBe(0);
    expect(ok.stdout).toContain("units/ matches");
    const edited = join(project.paths.supervisorDir, "db_poller.conf");
    appendFileSync(edited, "; a hand edit\n");
    const drift = await project.cli(["generate", "--check"]);
    expect(drift.exitCode, show(drift)).toBe(1);
    expect(drift.stderr).toMatch(/drift: 1 file\b/);
    expect(drift.stderr).toMatch(/differs\s+units\/supervisor\/db_poller\.conf/);
    const fix = await project.cli(["generate"]);
    expect(fix.exitCode, show(fix)).toBe(0);
    expect((await project.cli(["generate", "--check"])).exitCode).toBe(0);
  });

  it("logs NAME -n 5 shows its start line", async () => {
    const r = await project.cli(["logs", "btc_price_watchdog", "-n", "5"]);
    expect(r.exitCode, show(r)).toBe(0);
    // one stream: each line prefixed with the service ("(err)" for stderr), at most 5 per log
    expect(r.stdout).toMatch(
      new RegExp(
        `^btc_price_watchdog\\s+\\| btc_price_watchdog listening on 127\\.0\\.0\\.1:${portOf.btc_price_watchdog}`,
        "m",
      ),
    );
    const out = r.stdout.split("\n").filter((l) => /^btc_price_watchdog\s+\|/.test(l));
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThanOrEqual(5);
  });
});
