/**
 * `orchestrate recover` end to end: the built CLI against a real private supervisord started by
 * `orchestrate restart`, fixture services, and foreign listeners this test starts itself. Each test has
 * its own project under /tmp; ports 27200-27499 only; traffic to 127.0.0.1/::1 only. Cleanup shuts each
 * private supervisord down and SIGKILLs exactly the PIDs the test recorded (same start time), never by name.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, readPidfile } from "../../src/backend/supervisord/pids";
import { pollUntil } from "../../src/signal/poll";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { spawnService } from "../../src/exec/run";
import { acceptsConnections } from "../../src/inspect/port-probe";
import {
  FIXTURES,
  Seen,
  fixture,
  makeCliProject,
  orchestrate,
  programPids,
  type TestProject,
} from "../helpers/cli-project";
import { listen, stopAll } from "../helpers/listeners";
import { itNeedsSupervisord } from "../helpers/supervisord-installed";

itNeedsSupervisord();
const seen = new Seen();

afterEach(async () => {
  await stopAll();
  await seen.cleanup();
});

/** Starts the fleet with `orchestrate restart` and records every PID. */
async function up(
  prefix: string,
  manifest: Record<string, unknown>,
): Promise<{ project: TestProject; daemon: number; pids: Map<string, number> }> {
  const project = seen.project(makeCliProject(prefix, manifest));
  const restart = await orchestrate(project, "restart");
  expect(restart.exitCode, restart.stdout + restart.stderr).toBe(0);
  const pids = await programPids(project);
  const daemon = readPidfile(project.paths.pidfile)!;
  await seen.add(daemon, ...pids.values());
  return { project, daemon, pids };
}

/**
 * Another "project"'s orphan running byte-for-byte api's command (same node, same fixture) from another
 * folder with another PORT: its parent shell exits at once, so it is adopted (PPID 1 or a subreaper) and
 * its session leader is gone — only folder, PORT and environment tell it apart. Returns its PID.
 */
async function orphanedTwin(port: number): Promise<number> {
  const script = `cd /tmp && PORT=${port} SERVICE_NAME=api ${process.execPath} ${FIXTURES}/binds-port.js >/dev/null 2>&1 & echo "pid $!"`;
  const shell = await spawnService(["/bin/sh", "-c", script], { cwd: "/tmp", env: { PATH: "/usr/bin:/bin" } });
  await shell.exited;
  const pid = Number(/pid (\d+)/.exec(shell.output())?.[1]);
  expect(await pollUntil(() => acceptsConnections(port), 5000)).toBe(true);
  return pid;
}

async function killDaemon(daemon: number): Promise<void> {
  process.kill(daemon, "SIGKILL");
  expect(await pollUntil(() => !isAlive(daemon), 5000)).toBe(true);
}

/** Content hash of every file under the project except logs/ (programs and supervisord append there). */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (path === join(root, "logs")) continue;
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else
        files.set(
          path,
          st.isSocket() ? `socket ${st.ino}` : createHash("sha256").update(readFileSync(path)).digest("hex"),
        );
    }
  };
  walk(root);
  return files;
}

const fleet = (base: number) => ({
  project: "rc",
  services: {
    api: fixture("binds-port.js", base + 1, { health: "/health" }),
    stubborn: fixture("ignores-sigterm.js", base + 2, { stopTimeout: 2 }),
    wrapped: {
      ...fixture("binds-port.js", base + 3, { dependsOn: ["api"] }),
      command: ["/bin/sh", join(__dirname, "../fixtures/services/shell-wrapper.sh")],
      env: { NODE: process.execPath },
    },
  },
});

describe("recover against a real supervisord", () => {
  it("after kill -9 of supervisord: stops exactly its leftovers (KILL after stopTimeout for one ignoring TERM), leaves foreign processes alive and reports them, brings the fleet back verified", async () => {
    const { project, daemon, pids } = await up("orch-rc1-", fleet(27200));
    const unmanaged = await listen("127.0.0.1:27210");
    const onManaged = await listen("::1:27201"); // api holds 127.0.0.1:27201; this holds [::1]:27201
    const decoy = await orphanedTwin(27211);
    await seen.add(unmanaged.pid, onManaged.pid, decoy);
    await killDaemon(daemon);
    const orphans = [...pids.values()];
    for (const pid of orphans) expect(isAlive(pid), `orphan ${pid}`).toBe(true);

    const t0 = performance.now();
    const result = await orchestrate(project, "recover", "--yes");
    const out = result.stdout;
    expect(result.exitCode, out + result.stderr).toBe(0);
    for (const pid of orphans) expect(isAlive(pid), `leftover ${pid} must be gone`).toBe(false);
    expect(isAlive(unmanaged.pid)).toBe(true);
    expect(isAlive(onManaged.pid)).toBe(true);
    expect(isAlive(decoy), "an orphaned byte-identical copy of api's command from another folder must survive").toBe(
      true,
    );
    expect(out).not.toContain(`PID ${decoy}`);
    for (const [name, pid] of pids) expect(out).toMatch(new RegExp(`PID ${pid} ${name} \\(`));
    expect(out).toMatch(
      new RegExp(`PID ${pids.get("stubborn")}: ignored TERM for 2 s \\(stopTimeout\\): killed with KILL`),
    );
    expect(out).toContain(`port 27201 (api): FOREIGN PID ${onManaged.pid} (`);
    expect(out).toContain("user root) on ::1");
    expect(out).toContain("orchestrate recover --kill-foreign 27201");
    expect(out).not.toContain(`PID ${unmanaged.pid}`); // not on a managed port: not even mentioned
    expect(out).toMatch(/\[6\/6\] verify\n[\s\S]*✓ ok — 3\/3 verified/);
    const after = await programPids(project);
    await seen.add(readPidfile(project.paths.pidfile), ...after.values());
    for (const [name, pid] of after) expect(pid, name).not.toBe(pids.get(name));
    expect(after.size).toBe(3);
    console.log(`recover after kill -9: ${Math.round(performance.now() - t0)} ms\n${out}`);
  });

  it("stale socket and pidfile (the pidfile names a live process that is not supervisord): removed, that process untouched; --kill-foreign frees a managed port deliberately", async () => {
    const project = seen.project(
      makeCliProject("orch-rc2-", { project: "rc", services: { solo: fixture("binds-port.js", 27231) } }),
    );
    const bystander = await listen("127.0.0.1:27239");
    const squatter = await listen("127.0.0.1:27231");
    await seen.add(bystander.pid, squatter.pid);
    writeFileSync(project.paths.pidfile, `${bystander.pid}\n`);
    const ghost = await spawnService(
      [
        process.execPath,
        "-e",
        `require("net").createServer().listen(${JSON.stringify(project.paths.socket)}, () => console.log("ready"))`,
      ],
      { cwd: project.root, env: {} },
    );
    await pollUntil(() => ghost.output().includes("ready"), 5000);
    ghost.signalGroup("SIGKILL");
    await ghost.exited;
    expect(statSync(project.paths.socket).isSocket()).toBe(true);

    const bad = await orchestrate(project, "recover", "--yes", "--kill-foreign", "27239");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--kill-foreign 27239: expected a managed port of this project");

    const result = await orchestrate(project, "recover", "--yes", "--kill-foreign", "27231");
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`run/supervisord.pid names PID ${bystander.pid}, which is another program`);
    expect(result.stdout).toContain("removed the stale run/supervisord.pid");
    expect(result.stdout).toContain("removed the stale run/supervisord.sock");
    expect(result.stdout).toContain(`port 27231 (solo): FOREIGN PID ${squatter.pid}`);
    expect(result.stdout).toMatch(new RegExp(`PID ${squatter.pid}: exited \\d+ ms after TERM`));
    expect(isAlive(bystander.pid)).toBe(true);
    expect(isAlive(squatter.pid)).toBe(false);
    await seen.add(readPidfile(project.paths.pidfile), ...(await programPids(project)).values());
  });

  it("a hung supervisord (SIGSTOP) does not answer: TERM + CONT, then KILL if needed; the fleet comes back", async () => {
    const { project, daemon, pids } = await up("orch-rc3-", {
      project: "rc",
      services: { solo: fixture("binds-port.js", 27241) },
    });
    process.kill(daemon, "SIGSTOP");
    const result = await orchestrate(project, "recover", "--yes");
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`found supervisord PID ${daemon} .*NOT answering .* — it is stopped \\(state T`),
    );
    expect(result.stdout).toContain(`sent TERM + CONT to PID ${daemon}`);
    expect(isAlive(daemon)).toBe(false);
    expect(isAlive(pids.get("solo")!)).toBe(false);
    await seen.add(readPidfile(project.paths.pidfile), ...(await programPids(project)).values());
  });

  it("a corrupted manifest.json: recover says so and runs the last good manifest and units; manifest.json is left as is", async () => {
    const { project, daemon } = await up("orch-rc4-", {
      project: "rc",
      services: { solo: fixture("binds-port.js", 27251) },
    });
    const broken = readFileSync(project.manifest, "utf8").replace('"services"', '"services" "oops"');
    writeFileSync(project.manifest, broken);
    await killDaemon(daemon);
    const result = await orchestrate(project, "recover", "--yes");
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("JSON syntax error at line");
    expect(result.stdout).toMatch(
      /is invalid .*; using the LAST GOOD manifest and units saved .* in run\/last-good\.json/,
    );
    expect(result.stdout).toContain("1/1 verified");
    expect(readFileSync(project.manifest, "utf8")).toBe(broken);
    const backend = new SupervisordBackend(project.paths); // status --json needs a valid manifest: ask supervisord
    const [solo] = await backend.status(["solo"]);
    backend.rpc.close();
    expect(solo).toMatchObject({ state: "RUNNING" });
    await seen.add(readPidfile(project.paths.pidfile), solo.pid);
  });

  it("--dry-run prints which PIDs it would signal and why, and changes nothing", async () => {
    const { project, daemon, pids } = await up("orch-rc5-", fleet(27260));
    await killDaemon(daemon);
    const squatter = await listen("::1:27261");
    await seen.add(squatter.pid);
    const before = snapshot(project.root);
    const result = await orchestrate(project, "recover", "--dry-run", "--kill-foreign", "27261");
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    for (const [name, pid] of pids) {
      expect(result.stdout).toMatch(
        new RegExp(
          `PID ${pid} ${name} \\(.*\\) .*— its environment names this project's supervisord .*; would send TERM, KILL after \\d+ s`,
        ),
      );
      expect(isAlive(pid), `${name} ${pid}`).toBe(true);
    }
    expect(result.stdout).toContain(`would remove the stale run/supervisord.pid`);
    expect(result.stdout).toContain(`FOREIGN PID ${squatter.pid}`);
    expect(result.stdout).toContain("would stop it as asked (--kill-foreign 27261)");
    expect(isAlive(squatter.pid)).toBe(true);
    expect(snapshot(project.root)).toEqual(before);
  });
});
