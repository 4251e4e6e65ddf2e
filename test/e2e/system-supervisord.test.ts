/**
 * The machine's own supervisord, simulated: a SECOND supervisord started as a system one would be (its own
 * supervisord.conf with [unix_http_server], [include] files = conf.d/*.conf, and another application's
 * program in conf.d), all inside a temp folder — never /etc/supervisor. After `orchestrate install
 * --supervisor-conf-dir` and `supervisorctl update`, status/verify/check-ports/start/stop/logs with
 * `--server-url unix://…` drive this project's programs there and leave the other program alone; what
 * orchestrate does not do to a supervisord that is not its own (apply, shutdown) is refused, naming
 * supervisorctl. Ports 34600-34699.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/backend/supervisord/pids";
import { createProject, ensureBuilt, fixture, show, waitFor, type TestProject } from "../helpers/project";
import { portsOf } from "../helpers/ports";

const SUPERVISORD = "/usr/bin/supervisord";
let sys: string; // the "system" folder
let conf: string;
let url: string;
let project: TestProject;
const port: Record<string, number> = {};
let supervisordPid = 0;

const ctl = (...args: string[]) =>
  spawnSync("supervisorctl", ["-c", conf, ...args], { encoding: "utf8", timeout: 30_000 });

beforeAll(async () => {
  ensureBuilt();
  const ports = portsOf("system-supervisord");
  for (const n of ["db", "api", "other"]) port[n] = await ports.take();
  sys = mkdtempSync("/tmp/o-sys-");
  mkdirSync(join(sys, "conf.d"));
  mkdirSync(join(sys, "log"));
  conf = join(sys, "supervisord.conf");
  url = `unix://${join(sys, "supervisor.sock")}`;
  writeFileSync(
    conf,
    `[unix_http_server]
file=${join(sys, "supervisor.sock")}
chmod=0700

[supervisord]
logfile=${join(sys, "log", "supervisord.log")}
pidfile=${join(sys, "supervisord.pid")}
childlogdir=${join(sys, "log")}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=${url}

[include]
files = conf.d/*.conf
`,
  );
  writeFileSync(
    join(sys, "conf.d", "other.conf"),
    `[program:other]\ncommand=${process.execPath} ${fixture("binds-port.js")}\nenvironment=PORT="${port.other}"\nstartsecs=1\n`,
  );
  const started = spawnSync(SUPERVISORD, ["-c", conf], { encoding: "utf8" }); // daemonizes like the system one
  expect(started.status, started.stderr).toBe(0);
  await waitFor(
    "the system supervisord to answer",
    () => ctl("status").status !== 4 && /other/.test(ctl("status").stdout),
    20_000,
  );
  supervisordPid = Number(readFileSync(join(sys, "supervisord.pid"), "utf8"));
  project = createProject("sysv", {
    project: "sysv",
    host: "127.0.0.1",
    services: {
      db: { port: port.db, command: `${process.execPath} ${fixture("binds-port.js")}`, startSecs: 1 },
      api: {
        port: port.api,
        command: `${process.execPath} ${fixture("binds-port.js")}`,
        health: "/health",
        dependsOn: ["db"],
        startSecs: 1,
      },
    },
  });
  const install = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
  expect(install.exitCode, show(install)).toBe(0);
  const update = ctl("update");
  expect(update.status, update.stdout + update.stderr).toBe(0);
  await waitFor(
    "db and api RUNNING under the system supervisord",
    () => /api\s+RUNNING[\s\S]*db\s+RUNNING/.test(ctl("status").stdout),
    20_000,
  );
}, 60_000);

afterAll(async () => {
  if (conf) ctl("shutdown");
  if (supervisordPid)
    await waitFor("the system supervisord to exit", () => !isAlive(supervisordPid), 20_000).catch(() =>
      process.kill(supervisordPid, "SIGKILL"),
    );
  await project?.cleanup();
  if (sys && !process.env.KEEP_E2E) rmSync(sys, { recursive: true, force: true });
}, 60_000);

describe("--server-url: the machine's own supervisord", { timeout: 60_000 }, () => {
  it("status and verify show only this project's programs there, RUNNING, ports ours", async () => {
    const s = await project.cli(["--server-url", url, "status", "--json"]);
    expect(s.exitCode, show(s)).toBe(0);
    const rows = JSON.parse(s.stdout).services;
    expect(rows.map((r: { name: string }) => r.name)).toEqual(["db", "api"]);
    expect(rows.every((r: { state: string }) => r.state === "RUNNING")).toBe(true);
    const v = await project.cli(["--server-url", url, "verify"]);
    expect(v.exitCode, show(v)).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`api\\s+RUNNING\\s+\\d+\\s+${port.api}\\s+ours`));
    const c = await project.cli(["--server-url", url, "check-ports"]);
    expect(c.exitCode, show(c)).toBe(0);
  });

  it("stop/start with dependencies drive the programs there; the other application's program keeps its PID", async () => {
    const otherBefore = /other\s+RUNNING\s+pid (\d+)/.exec(ctl("status").stdout)![1];
    const refused = await project.cli(["--server-url", url, "stop", "db"]);
    expect(refused.exitCode, show(refused)).toBe(1);
    expect(refused.stderr).toContain("api is running and depends on db");
    const stop = await project.cli(["--server-url", url, "stop", "db", "--with-dependents"]);
    expect(stop.exitCode, show(stop)).toBe(0);
    expect(ctl("status").stdout).toMatch(/db\s+STOPPED/);
    const start = await project.cli(["--server-url", url, "start", "api"]);
    expect(start.exitCode, show(start)).toBe(0);
    expect(start.stdout).toContain("db is STOPPED: starting it first (api depends on it)");
    // ready (port, health 2xx) comes before supervisord's RUNNING (startsecs 1)
    await waitFor("api RUNNING", () => /api\s+RUNNING/.test(ctl("status").stdout), 10_000);
    expect(/other\s+RUNNING\s+pid (\d+)/.exec(ctl("status").stdout)![1]).toBe(otherBefore);
  });

  it("what belongs to that supervisord's own tools is refused: shutdown names supervisorctl; the fleet keeps running", async () => {
    const r = await project.cli(["--server-url", url, "shutdown"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stderr).toMatch(/not orchestrate's own[\s\S]*supervisorctl reread && supervisorctl update/);
    expect(ctl("status").stdout).toMatch(/db\s+RUNNING/);
    const bad = await project.cli(["--server-url", "http://127.0.0.1:9001", "status"]);
    expect(bad.exitCode).toBe(2);
  });
});
