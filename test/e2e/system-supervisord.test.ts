/**
 * The machine's own supervisord, simulated: a SECOND supervisord started as a system one would be (its own
 * supervisord.conf with [unix_http_server], [include] files = conf.d/*.conf, and another application's
 * program in conf.d), all inside a temp folder — never /etc/supervisor. After `orchestrate install
 * --supervisor-conf-dir` (which has that supervisord update this project's programs), status/verify/check-ports/start/stop/logs with
 * `--server-url unix://…` drive this project's programs there and leave the other program alone; restart,
 * add/modify/remove-service (and a rolled-back change), recover and shutdown install into the recorded
 * include folder and update only this project's programs there: the other program keeps its PID throughout,
 * and that supervisord is never started or stopped by orchestrate. Ports 29900-29999.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/backend/supervisord/pids";
import { createProject, ensureBuilt, fixture, show, waitFor, type TestProject } from "../helpers/project";
import { portsOf } from "../helpers/ports";
import { SystemSupervisord } from "../helpers/system-supervisord";

let sup: SystemSupervisord;
let sys: string; // the "system" folder
let url: string;
let project: TestProject;
const port: Record<string, number> = {};
let supervisordPid = 0;

const ctl = (...args: string[]) => sup.ctl(...args);
/** PID of each program of the system supervisord (ours and the other one); each is tracked for cleanup. */
const sysPids = () => sup.pids(project);
/** The state supervisorctl shows for `name`, or undefined when that supervisord does not know it. */
const stateOf = (name: string) => sup.stateOf(name);

beforeAll(async () => {
  ensureBuilt();
  const ports = portsOf("system-supervisord");
  for (const n of ["db", "api", "other", "worker", "lone"]) port[n] = await ports.take();
  sup = await SystemSupervisord.start({ prefix: "o-sys-", otherPort: port.other });
  ({ dir: sys, url, pid: supervisordPid } = sup);
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
  // install found supervisord.conf (its [include] reads conf.d) and had it reread and update ours
  expect(install.stdout, show(install)).toContain("added api db, changed none, removed none");
  await waitFor(
    "db and api RUNNING under the system supervisord",
    () => /api\s+RUNNING[\s\S]*db\s+RUNNING/.test(ctl("status").stdout),
    20_000,
  );
}, 60_000);

afterAll(async () => {
  await sup?.stop(project);
  await project?.cleanup();
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

  it("restart installs into the recorded conf.d, restarts only this project's programs and verifies", async () => {
    const before = await sysPids();
    const r = await project.cli(["--server-url", url, "restart"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/\[7\/7\] verify[\s\S]*✓ ok — 2\/2 verified/);
    const after = await sysPids();
    expect(after.get("other")).toBe(before.get("other"));
    expect(after.get("db")).not.toBe(before.get("db"));
    expect(after.get("api")).not.toBe(before.get("api"));
    const installed = readFileSync(join(sys, "conf.d", "db.conf"), "utf8");
    expect(installed).toMatch(/\nautostart=true\n/);
    expect(installed).not.toContain("started by orchestrate in dependency order");
    expect(readFileSync(join(sys, "supervisord.pid"), "utf8").trim()).toBe(String(supervisordPid));
  });

  it("add-service: its program appears in conf.d and runs there; remove-service: conf gone, process stopped", async () => {
    const other = (await sysPids()).get("other");
    const add = await project.cli([
      "--server-url",
      url,
      "add-service",
      "worker",
      "--command",
      `${process.execPath} ${fixture("binds-port.js")}`,
      "--port",
      String(port.worker),
      "--health",
      "/health",
    ]);
    expect(add.exitCode, show(add)).toBe(0);
    expect(readFileSync(join(sys, "conf.d", "worker.conf"), "utf8")).toContain("[program:worker]");
    await waitFor("worker RUNNING", () => stateOf("worker") === "RUNNING", 10_000);
    const worker = (await sysPids()).get("worker")!;
    expect(isAlive(worker)).toBe(true);
    expect((await sysPids()).get("other")).toBe(other);

    const remove = await project.cli(["--server-url", url, "remove-service", "worker"]);
    expect(remove.exitCode, show(remove)).toBe(0);
    expect(existsSync(join(sys, "conf.d", "worker.conf"))).toBe(false);
    expect(stateOf("worker")).toBeUndefined();
    await waitFor(`worker's PID ${worker} to exit`, () => !isAlive(worker), 10_000);
    expect((await sysPids()).get("other")).toBe(other);
    expect(stateOf("api")).toBe("RUNNING");
  });

  it("a change that fails under that supervisord rolls back: the previous program file is back in conf.d and runs", async () => {
    const other = (await sysPids()).get("other");
    const apiConf = readFileSync(join(sys, "conf.d", "api.conf"), "utf8");
    const dir = join(project.root, "svc");
    mkdirSync(dir, { recursive: true });
    // supervisord sets SUPERVISOR_ENABLED=1 in its children (supervisor/process.py); test-start alone passes
    writeFileSync(
      join(dir, "alone-only.js"),
      `if (process.env.SUPERVISOR_ENABLED) { console.error("refusing to run under supervisord"); process.exit(3); }\nrequire(${JSON.stringify(fixture("binds-port.js"))});\n`,
    );
    const r = await project.cli([
      "--server-url",
      url,
      "modify-service",
      "api",
      "--command",
      `${process.execPath} ${join(dir, "alone-only.js")}`,
    ]);
    await sysPids();
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stderr).toContain("rolled back: manifest and units/ restored byte for byte");
    expect(r.stderr).toContain("supervisord re-applied to the old configuration");
    expect(readFileSync(join(sys, "conf.d", "api.conf"), "utf8")).toBe(apiConf);
    await waitFor("api RUNNING again", () => stateOf("api") === "RUNNING", 15_000);
    expect((await sysPids()).get("other")).toBe(other);
    const v = await project.cli(["--server-url", url, "verify"]);
    expect(v.exitCode, show(v)).toBe(0);
  });

  it("recover stops and starts only this project's programs there; the daemon and the other program keep running", async () => {
    const before = await sysPids();
    const r = await project.cli(["--server-url", url, "recover", "--yes"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/stop the programs of sysv\n\s+✓ ok — stopped api db; the supervisord at unix:/);
    const after = await sysPids();
    expect(after.get("other")).toBe(before.get("other"));
    expect(after.get("db")).not.toBe(before.get("db"));
    expect(isAlive(supervisordPid)).toBe(true);
    expect(stateOf("api")).toBe("RUNNING");
  });

  it("shutdown stops only this project's programs: the daemon and the other program keep running", async () => {
    const other = (await sysPids()).get("other");
    const r = await project.cli(["--server-url", url, "shutdown"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("the programs of sysv stopped");
    expect(stateOf("db")).toBe("STOPPED");
    expect(stateOf("api")).toBe("STOPPED");
    expect(stateOf("other")).toBe("RUNNING");
    expect((await sysPids()).get("other")).toBe(other);
    expect(isAlive(supervisordPid)).toBe(true);
  });

  it("without an install record, or a supervisord that does not answer: exit 1 naming the fix; a non-unix URL: exit 2", async () => {
    const lone = createProject("sysn", {
      project: "sysn",
      host: "127.0.0.1",
      services: { lone: { port: port.lone, command: `${process.execPath} ${fixture("binds-port.js")}` } },
    });
    try {
      const r = await lone.cli(["--server-url", url, "restart"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stderr).toContain("orchestrate install --supervisor-conf-dir DIR");
      expect(stateOf("lone")).toBeUndefined();
      const sock = join(sys, "nobody.sock");
      const down = await lone.cli(["--server-url", `unix://${sock}`, "restart"]);
      expect(down.exitCode, show(down)).toBe(1);
      expect(down.stderr).toContain(sock);
      expect(down.stderr).toContain("systemctl start supervisor");
    } finally {
      await lone.cleanup();
    }
    const bad = await project.cli(["--server-url", "http://127.0.0.1:9001", "status"]);
    expect(bad.exitCode).toBe(2);
  });
});
