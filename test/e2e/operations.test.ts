/**
 * Day-to-day operations against a REAL private supervisord with the BUILT CLI (ports 29800-29899):
 * start as a graph with fail fast (a crash and a hardcoded port are named at once, not after readyTimeout),
 * failure tails with stdout and stderr together and retries folded, check-ports naming a service on
 * another port, logs of many services, crash history after kill -9, status exit 3, stop refusing while
 * dependents run and --with-dependents, start pulling in a stopped dependency, restart's port pre-check
 * (a foreign holder: exit 1, nothing stopped), and `restart UNKNOWN` failing before step 1.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createProject,
  ensureBuilt,
  fixture,
  show,
  waitFor,
  type CliResult,
  type TestProject,
} from "../helpers/project";
import { portsOf } from "../helpers/ports";

const SUPERVISORD = "/usr/bin/supervisord";
const FAST = { startSecs: 1, readyTimeout: 20, stopTimeout: 2 };
const TRACEBACK = [
  "/usr/bin/python3",
  "-c",
  "import sys; print('crash: loading settings', flush=True); raise ValueError('DATABASE_URL is not set')",
];

let project: TestProject;
const port: Record<string, number> = {};
let wrongActual: number;

beforeAll(async () => {
  expect(existsSync(SUPERVISORD), `these tests need ${SUPERVISORD}: apt-get install -y supervisor`).toBe(true);
  ensureBuilt();
  const ports = portsOf("operations");
  for (const name of ["db", "api", "web", "wrong"]) port[name] = await ports.take();
  wrongActual = await ports.take();
  project = createProject("ops", {
    project: "ops",
    host: "127.0.0.1",
    services: {
      db: { port: port.db, command: `node ${fixture("binds-port.js")}`, ...FAST },
      api: {
        port: port.api,
        command: `node ${fixture("binds-port.js")}`,
        health: "/health",
        dependsOn: ["db"],
        ...FAST,
      },
      web: { port: port.web, command: `node ${fixture("binds-port.js")}`, dependsOn: ["api"], ...FAST },
      wrong: {
        port: port.wrong,
        command: `node ${fixture("wrong-port.js")}`,
        env: { WRONG_PORT: String(wrongActual) },
        ...FAST,
      },
      crash: { command: TRACEBACK, startRetries: 2, ...FAST },
    },
  });
});

afterAll(async () => {
  await project?.cleanup();
}, 60_000);

describe("operations under a real supervisord", { timeout: 120_000 }, () => {
  let fleet: CliResult;
  beforeAll(async () => {
    fleet = await project.cli(["restart"]);
    await project.trackAll();
  }, 90_000);

  it("restart: the hardcoded port and the crash are named at once, not after readyTimeout; the chain is ready", () => {
    expect(fleet.exitCode, show(fleet)).toBe(1);
    expect(fleet.stdout).toContain(
      `✗ level 0: wrong: listens on ${wrongActual}, expected ${port.wrong}: hardcoded port? (read PORT from the environment)`,
    );
    expect(fleet.stdout).toMatch(/✗ level 0: crash: (BACKOFF|FATAL|EXITED)/);
    expect(fleet.stdout).not.toMatch(/(wrong|crash): .*readyTimeout/);
    for (const n of ["db", "api", "web"])
      expect(fleet.stdout, show(fleet)).toMatch(new RegExp(`✓ level \\d: ${n} ready in `));
    // the crash's tail: its stdout line and its traceback together
    const tail = fleet.stdout.split("✗ level 0: crash:")[1] ?? "";
    expect(tail).toContain("| crash: loading settings");
    expect(tail).toContain("| ValueError: DATABASE_URL is not set");
  });

  it("verify after supervisord gave up: the tail folds the traceback of every retry into one with a count", async () => {
    await waitFor(
      "crash to be FATAL",
      async () => (await project.backend.status(["crash"]))[0].state === "FATAL",
      30_000,
    );
    const v = await project.cli(["verify", "crash"]);
    expect(v.exitCode, show(v)).toBe(1);
    expect(v.stdout.match(/ValueError: DATABASE_URL is not set/g), show(v)).toHaveLength(1);
    expect(v.stdout).toMatch(/repeated 3 times \(once per start attempt\)/);
  });

  it("check-ports names the service that listens on another port than its own, and exits 1", async () => {
    const r = await project.cli(["check-ports"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stdout).toContain(
      `port ${port.wrong} of wrong is free: wrong listens on ${wrongActual} instead, expected ${port.wrong}: hardcoded port?`,
    );
  });

  it("logs with no name: every service's lines, prefixed and in time order; -n per service; --since", async () => {
    const r = await project.cli(["logs", "-n", "1", "--no-color"]);
    expect(r.exitCode, show(r)).toBe(0);
    for (const n of ["db", "api", "web", "wrong"])
      expect(r.stdout).toMatch(new RegExp(`^${n}\\s+\\| ${n} listening on 127\\.0\\.0\\.1:\\d+`, "m"));
    expect(r.stdout).toMatch(/^crash \(err\)\s+\| ValueError: DATABASE_URL is not set$/m);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("db ")).length).toBe(1);
    const two = await project.cli(["logs", "db", "web"]);
    expect(two.stdout).not.toMatch(/^api /m);
    const none = await project.cli(["logs", "db", "--since", "0s"]);
    expect(none.stdout).toMatch(/no lines in that time/);
    const bad = await project.cli(["logs", "--since", "soon"]);
    expect(bad.exitCode).toBe(2);
  });

  it("status exits 3 while an enabled service is not running (crash is FATAL), like supervisorctl status", async () => {
    const r = await project.cli(["status"]);
    expect(r.exitCode, show(r)).toBe(3);
    expect(r.stdout).toMatch(/RESTARTS\s+LAST EXIT/);
  });

  it("crash history: kill -9 of db counts one restart, with SIGKILL as its last exit and how long it had run", async () => {
    const before = (await project.pids()).get("db")!;
    process.kill(before, "SIGKILL");
    await waitFor("db to run again", async () => {
      const [s] = await project.backend.status(["db"]);
      return s.state === "RUNNING" && s.pid !== before;
    });
    await project.trackAll();
    const r = await project.cli(["status", "--json"]);
    const db = JSON.parse(r.stdout).services.find((s: { name: string }) => s.name === "db");
    expect(db.restarts, r.stdout).toBe(1);
    expect(db.lastExit).toMatchObject({ signal: "SIGKILL", expected: false });
    expect(db.lastExit.ranSeconds).toBeGreaterThan(0);
    const crash = JSON.parse(r.stdout).services.find((s: { name: string }) => s.name === "crash");
    expect(crash.restarts).toBe(2); // startretries 2: two respawns after the first exit
    expect(crash.lastExit).toMatchObject({ code: 1, expected: false });
    const text = await project.cli(["status"]);
    expect(text.stdout).toMatch(/\ndb\s+RUNNING\s+\d+\s+\d+\s+\d+ s\s+1\s+SIGKILL, \d+ s ago after/);
  });

  it("stop db refuses while api and web run on it (exit 1, nothing stopped); --with-dependents stops web, api, db", async () => {
    const before = await project.pids();
    const r = await project.cli(["stop", "db"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stderr).toContain("api is running and depends on db");
    expect(r.stderr).toContain("web is running and depends on db");
    expect(r.stderr).toContain('run "orchestrate stop db --with-dependents"');
    expect(await project.pids()).toEqual(before);
    const w = await project.cli(["stop", "db", "--with-dependents"]);
    expect(w.exitCode, show(w)).toBe(0);
    expect(w.stdout).toBe("web: stopped (depends on db)\napi: stopped (depends on db)\ndb: stopped\n");
    const states = await project.backend.status(["db", "api", "web", "wrong"]);
    expect(states.map((s) => s.state)).toEqual(["STOPPED", "STOPPED", "STOPPED", "RUNNING"]);
  });

  it("start web starts db then api first, saying so, and waits for each", async () => {
    const r = await project.cli(["start", "web"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("db is STOPPED: starting it first (web depends on it)");
    expect(r.stdout).toContain("api is STOPPED: starting it first (web depends on it)");
    const at = (s: string) => r.stdout.indexOf(s);
    expect(at("db (dependency): ready in")).toBeGreaterThan(-1);
    expect(at("db (dependency): ready in")).toBeLessThan(at("api (dependency): ready in"));
    expect(at("api (dependency): ready in")).toBeLessThan(at("web: ready in"));
    await project.trackAll();
  });

  it("restart with a foreign process on api's port: exit 1 at once naming PID, command and user; nothing stopped", async () => {
    const w = await project.cli(["stop", "api", "--with-dependents"]);
    expect(w.exitCode, show(w)).toBe(0);
    const intruder = await project.startListener(port.api);
    try {
      const before = await project.pids();
      const r = await project.cli(["restart"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stdout).toMatch(/\[2\/7\] check the ports of 5 services/);
      expect(r.stdout).toContain(`port ${port.api} of api is held by PID ${intruder.pid} (${process.execPath} -e`);
      expect(r.stdout).toMatch(/user \w+/);
      expect(r.stdout).toContain("nothing was stopped");
      expect(r.stdout).not.toContain("[3/7]");
      expect(await project.pids()).toEqual(before);
    } finally {
      await project.stopListener(intruder);
    }
  });

  it("restart UNKNOWN fails with exit 2 before step 1 is printed", async () => {
    const r = await project.cli(["restart", "dbb"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/dbb/);
    expect(r.stdout).not.toContain("[1/");
  });
});
