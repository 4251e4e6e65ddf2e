/**
 * The machine's own supervisord, simulated as in ./system-supervisord.test.ts (a SECOND supervisord with its
 * own supervisord.conf — `%(here)s` in its socket and [include] — and another application's program in
 * conf.d, all in a temp folder, never /etc/supervisor):
 * - `install --supervisor-conf-dir DIR` finds the supervisord.conf whose [include] reads DIR and has that
 *   supervisord reread and update only this project's programs (added, changed, removed), leaving the other
 *   program — even with a changed file — as it was; with a supervisord that does not answer, or none found,
 *   the files are installed, exit 0, and the command to run is printed.
 * - `status`, `verify`, `check-ports` with `--server-url` show only this project's programs, through the full
 *   CLI and through the read bundle (a copy of dist/ without the full CLI proves the bundle answered); `logs`
 *   shows only ours. Ports 32100-32199.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/backend/supervisord/pids";
import { run } from "../../src/exec/run";
import {
  CLI_PATH,
  createProject,
  ensureBuilt,
  fixture,
  show,
  waitFor,
  type CliResult,
  type TestProject,
} from "../helpers/project";
import { portsOf } from "../helpers/ports";
import { SystemSupervisord, systemConfText } from "../helpers/system-supervisord";

let sup: SystemSupervisord;
let sys: string; // the "system" folder: supervisord.conf, conf.d/, log/
let conf: string;
let url: string;
let partial: string; // dist/ without orchestrate-cli.cjs
let project: TestProject;
let other: TestProject | undefined;
const port: Record<string, number> = {};
let supervisordPid = 0;

const ctl = (...args: string[]) => sup.ctl(...args);
/** PID of each program of the system supervisord (ours and the other one); each is tracked for cleanup. */
const sysPids = () => sup.pids(project);
/** The state supervisorctl shows for `name`, or undefined when that supervisord does not know it. */
const stateOf = (name: string) => sup.stateOf(name);

const service = (p: number, extra: object = {}) => ({
  port: p,
  command: `${process.execPath} ${fixture("binds-port.js")}`,
  health: "/health",
  startSecs: 1,
  ...extra,
});

function manifest(services: Record<string, object>) {
  return { project: "sysr", host: "127.0.0.1", services };
}

beforeAll(async () => {
  ensureBuilt();
  const ports = portsOf("system-supervisord-reads");
  for (const n of ["db", "api", "other", "worker", "lone"]) port[n] = await ports.take();
  sup = await SystemSupervisord.start({
    prefix: "o-sysr-",
    otherPort: port.other,
    otherEnv: 'SERVICE_NAME="other-app"',
    here: true,
    folders: ["loose", "down/conf.d"],
  });
  ({ dir: sys, conf, url, pid: supervisordPid } = sup);
  writeFileSync(join(sys, "down", "supervisord.conf"), systemConfText(sys, true)); // reads down/conf.d; never started
  project = createProject("sysr", manifest({ db: service(port.db), api: service(port.api, { dependsOn: ["db"] }) }));
  partial = mkdtempSync("/tmp/o-sysr-dist-");
  for (const f of ["cli.cjs", "orchestrate-read.cjs"]) copyFileSync(join(dirname(CLI_PATH), f), join(partial, f));
}, 60_000);

afterAll(async () => {
  await sup?.stop(project);
  await project?.cleanup();
  await other?.cleanup();
  if (partial && !process.env.KEEP_E2E) rmSync(partial, { recursive: true, force: true });
}, 60_000);

describe("install --supervisor-conf-dir tells the supervisord that reads the folder", { timeout: 60_000 }, () => {
  it("finds the supervisord.conf whose [include] reads it and adds only this project's programs there", async () => {
    const otherPid = (await sysPids()).get("other");
    // the other application changed its file and has not updated yet: that stays its own business
    writeFileSync(
      join(sys, "conf.d", "other.conf"),
      readFileSync(join(sys, "conf.d", "other.conf"), "utf8") + "startretries=5\n",
    );
    const r = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain(`the supervisord at ${url} (${conf}) reread its configuration`);
    expect(r.stdout).toContain("added api db, changed none, removed none; its other programs were not touched");
    await waitFor(
      "db and api RUNNING under the system supervisord",
      () => stateOf("db") === "RUNNING" && stateOf("api") === "RUNNING",
      20_000,
    );
    expect((await sysPids()).get("other")).toBe(otherPid);
    expect(ctl("reread").stdout).toMatch(/^other: changed$/m);
    expect(isAlive(supervisordPid)).toBe(true);
  });

  it("a second install updates what changed, adds and removes only ours", async () => {
    const before = await sysPids();
    project.writeManifest(
      manifest({
        db: service(port.db),
        api: service(port.api, { dependsOn: ["db"], startSecs: 2 }),
        worker: service(port.worker),
      }),
    );
    const r = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("added worker, changed api, removed none");
    await waitFor(
      "api and worker RUNNING",
      () => stateOf("api") === "RUNNING" && stateOf("worker") === "RUNNING",
      20_000,
    );
    const mid = await sysPids();
    expect(mid.get("api")).not.toBe(before.get("api"));
    expect(mid.get("db")).toBe(before.get("db"));
    expect(mid.get("other")).toBe(before.get("other"));

    project.writeManifest(
      manifest({ db: service(port.db), api: service(port.api, { dependsOn: ["db"], startSecs: 2 }) }),
    );
    // first with a --server-url that does not answer: worker.conf is removed, the running supervisord not told
    const nobody = `unix://${join(sys, "nobody.sock")}`;
    const untold = await project.cli(["--server-url", nobody, "install", "--supervisor-conf-dir", join(sys, "conf.d")]);
    expect(untold.exitCode, show(untold)).toBe(0);
    expect(untold.stdout).toContain(`removed   ${join(sys, "conf.d", "worker.conf")}`);
    expect(untold.stdout).toContain("does not answer");
    expect(existsSync(join(sys, "conf.d", "worker.conf"))).toBe(false);
    expect(stateOf("worker")).toBe("RUNNING");
    // the next install that reaches it still removes worker: it stays ours until removed there
    const gone = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
    expect(gone.exitCode, show(gone)).toBe(0);
    expect(gone.stdout).toContain("0 installed, 2 unchanged, 0 removed");
    expect(gone.stdout).toContain("added none, changed none, removed worker");
    expect(existsSync(join(project.paths.run, "supervisor-unloaded.json"))).toBe(false);
    expect(stateOf("worker")).toBeUndefined();
    await waitFor(`worker's PID ${mid.get("worker")} to exit`, () => !isAlive(mid.get("worker")!), 10_000);
    const after = await sysPids();
    expect(after.get("other")).toBe(before.get("other"));
    expect(after.get("api")).toBe(mid.get("api"));
    expect(ctl("reread").stdout).toMatch(/^other: changed$/m);
  });

  it("a reread that supervisord refuses (another file there is broken): exit 1, our files put back, nothing restarted", async () => {
    const before = await sysPids();
    const apiConf = readFileSync(join(sys, "conf.d", "api.conf"), "utf8");
    const good = project.readManifest();
    writeFileSync(join(sys, "conf.d", "broken.conf"), "[program:broken]\nautostart=false\n"); // no command=
    try {
      project.writeManifest(
        manifest({ db: service(port.db), api: service(port.api, { dependsOn: ["db"], startSecs: 3 }) }),
      );
      const r = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stderr).toContain("supervisord cannot read its configuration");
      expect(r.stderr).toContain("broken");
      expect(r.stderr).toContain(`this project's files in ${join(sys, "conf.d")} were put back as they were`);
      expect(readFileSync(join(sys, "conf.d", "api.conf"), "utf8")).toBe(apiConf);
      expect(await sysPids()).toEqual(before);
    } finally {
      rmSync(join(sys, "conf.d", "broken.conf"));
      project.writeManifest(good);
    }
    const again = await project.cli(["install", "--supervisor-conf-dir", join(sys, "conf.d")]);
    expect(again.exitCode, show(again)).toBe(0);
    expect(again.stdout).toContain("0 installed, 2 unchanged, 0 removed");
    expect(again.stdout).toContain("added none, changed none, removed none");
    expect(await sysPids()).toEqual(before);
  });

  it("a supervisord that does not answer, or none that reads the folder: files installed, exit 0, the command named", async () => {
    other = createProject("sysq", {
      project: "sysq",
      host: "127.0.0.1",
      services: { lone: service(port.lone) },
    });
    const nobody = `unix://${join(sys, "nobody.sock")}`;
    const given = await other.cli([
      "--server-url",
      nobody,
      "install",
      "--supervisor-conf-dir",
      join(sys, "down", "conf.d"),
    ]);
    expect(given.exitCode, show(given)).toBe(0);
    expect(existsSync(join(sys, "down", "conf.d", "lone.conf"))).toBe(true);
    expect(given.stdout).toContain(
      `the supervisord at ${nobody} (--server-url) does not answer on ${join(sys, "nobody.sock")}`,
    );
    expect(given.stdout).toContain(
      `load them with: orchestrate --server-url ${nobody} install --supervisor-conf-dir ${join(sys, "down", "conf.d")}`,
    );

    // found through down/supervisord.conf, whose supervisord is not running
    const downUrl = `unix://${join(sys, "down", "supervisor.sock")}`;
    const found = await other.cli(["install", "--supervisor-conf-dir", join(sys, "down", "conf.d")]);
    expect(found.exitCode, show(found)).toBe(0);
    expect(found.stdout).toContain(
      `the supervisord at ${downUrl} (${join(sys, "down", "supervisord.conf")}) does not answer`,
    );
    expect(found.stdout).toContain(`orchestrate --server-url ${downUrl} install --supervisor-conf-dir`);

    // sys/supervisord.conf is next to loose/ but reads conf.d/ only
    const loose = await other.cli(["install", "--supervisor-conf-dir", join(sys, "loose")]);
    expect(loose.exitCode, show(loose)).toBe(0);
    expect(existsSync(join(sys, "loose", "lone.conf"))).toBe(true);
    expect(loose.stdout).toContain(`no supervisord.conf found whose [include] files= reads ${join(sys, "loose")}`);
    expect(loose.stdout).toContain(
      `orchestrate --server-url unix:///PATH.sock install --supervisor-conf-dir ${join(sys, "loose")}`,
    );
    expect(stateOf("lone")).toBeUndefined();
  });

  it("--server-url of a supervisord that does not read the folder: exit 1 naming it; nothing of its own touched", async () => {
    const before = await sysPids();
    const r = await other!.cli(["--server-url", url, "install", "--supervisor-conf-dir", join(sys, "loose")]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stderr).toContain(`the supervisord at ${url} did not load lone from ${join(sys, "loose")}`);
    expect(stateOf("lone")).toBeUndefined();
    expect(await sysPids()).toEqual(before);
    const bad = await other!.cli([
      "--server-url",
      "http://127.0.0.1:9001",
      "install",
      "--supervisor-conf-dir",
      join(sys, "loose"),
    ]);
    expect(bad.exitCode, show(bad)).toBe(2);
  });
});

/** The two ways a read command is answered: the full CLI (no stamp: it validates) or the read bundle alone. */
const modes: [string, (args: string[]) => Promise<CliResult>][] = [
  [
    "the full CLI",
    (args) => {
      rmSync(join(project.paths.run, ".manifest-validated"), { force: true });
      return project.cli(args);
    },
  ],
  [
    "the read bundle",
    async (args) => {
      expect(existsSync(join(project.paths.run, ".manifest-validated"))).toBe(true);
      const r = await run(process.execPath, [join(partial, "cli.cjs"), "--manifest", project.manifestPath, ...args], {
        cwd: project.root,
        extraEnv: { NO_COLOR: "1" },
        timeoutMs: 60_000,
      });
      return { ...r, output: r.stdout + r.stderr, durationMs: 0 };
    },
  ],
];

describe.each(modes)("--server-url reads through %s", { timeout: 60_000 }, (_mode, cli) => {
  it("status shows only this project's programs there", async () => {
    const text = await cli(["--server-url", url, "status"]);
    expect(text.exitCode, show(text)).toBe(0);
    expect(text.stdout).toMatch(/db\s+RUNNING/);
    expect(text.stdout).toMatch(/api\s+RUNNING/);
    expect(text.stdout).not.toMatch(/other/);
    const json = await cli(["--server-url", url, "status", "--json"]);
    expect(json.exitCode, show(json)).toBe(0);
    expect(JSON.parse(json.stdout).services.map((s: { name: string }) => s.name)).toEqual(["db", "api"]);
    expect(json.stdout).not.toContain(String(port.other));
  });

  it("verify checks only ours, port owners ours; the other program is no service to verify", async () => {
    const v = await cli(["--server-url", url, "verify"]);
    expect(v.exitCode, show(v)).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`api\\s+RUNNING\\s+\\d+\\s+${port.api}\\s+ours`));
    expect(v.stdout).not.toMatch(/other/);
    const json = JSON.parse((await cli(["--server-url", url, "verify", "--json"])).stdout);
    expect(json.services.map((c: { service: string }) => c.service).sort()).toEqual(["api", "db"]);
    const named = await cli(["--server-url", url, "verify", "other"]);
    expect(named.exitCode, show(named)).toBe(2);
  });

  it("check-ports: only this project's ports, all ours", async () => {
    const c = await cli(["--server-url", url, "check-ports", "--json"]);
    expect(c.exitCode, show(c)).toBe(0);
    expect(c.stdout).not.toContain(String(port.other));
    const t = await cli(["--server-url", url, "check-ports"]);
    expect(t.exitCode, show(t)).toBe(0);
    expect(t.stdout).toContain(String(port.api));
    expect(t.stdout).not.toMatch(/other/);
  });

  it("a --server-url that is not unix://: exit 2", async () => {
    const bad = await cli(["--server-url", "http://127.0.0.1:9001", "status"]);
    expect(bad.exitCode, show(bad)).toBe(2);
    expect(bad.stderr).toContain("--server-url expects unix:///PATH");
  });
});

describe("logs --server-url", { timeout: 60_000 }, () => {
  it("shows only this project's programs' logs; the other program is no service", async () => {
    const l = await project.cli(["--server-url", url, "logs", "-n", "50"]);
    expect(l.exitCode, show(l)).toBe(0);
    expect(l.stdout).toMatch(/db\s+\|.*listening on 127\.0\.0\.1/);
    expect(l.stdout).toMatch(/api\s+\|.*listening on 127\.0\.0\.1/);
    expect(l.stdout).not.toContain("other-app");
    expect(l.stdout).not.toContain(String(port.other));
    const named = await project.cli(["--server-url", url, "logs", "other"]);
    expect(named.exitCode, show(named)).toBe(2);
    expect(ctl("status").stdout).toMatch(/other\s+RUNNING/);
  });
});
