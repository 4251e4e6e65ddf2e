/**
 * SupervisordBackend against a real supervisord (/usr/bin/supervisord, Debian 12's 4.2.5). Each test has
 * its own temp project, socket and programs on ports 21000-21999 (this file's block), bound to 127.0.0.1.
 * Cleanup shuts supervisord down and SIGKILLs exactly the PIDs this file saw, never by name.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { SupervisorFault } from "../../src/backend/supervisord/client";
import { isAlive, readPidfile } from "../../src/backend/supervisord/pids";
import { processInfo, type ProcessInfo } from "../../src/inspect/processes";
import { pollUntil } from "../../src/signal/poll";
import { signalProcess } from "../../src/signal/send";
import type { ProgramState, ProgramStatus } from "../../src/backend/types";
import { OperationError } from "../../src/errors";
import { DEFAULT_PATH } from "../../src/model/environment";
import type { ProjectPaths } from "../../src/model/types";
import { listener, makeProject, removeProgram, writeProgram } from "../helpers/supervisord-project";
import { itNeedsSupervisord } from "../helpers/supervisord-installed";

itNeedsSupervisord();

interface Fixture {
  paths: ProjectPaths;
  backend: SupervisordBackend;
}
const fixtures: Fixture[] = [];
/** Every process this file has seen (supervisord and programs), by pid and start time: the only ones cleanup may kill. */
const known = new Map<number, ProcessInfo>();
async function know(pid: number): Promise<void> {
  const info = await processInfo(pid);
  if (info && !known.has(pid)) known.set(pid, info);
}

function setup(): Fixture {
  const paths = makeProject();
  const backend = new SupervisordBackend(paths, { probeTimeoutMs: 1000, termTimeoutMs: 2000, exitTimeoutMs: 15_000 });
  const fixture = { paths, backend };
  fixtures.push(fixture);
  return fixture;
}

async function remember(statuses: ProgramStatus[], paths: ProjectPaths): Promise<void> {
  for (const s of statuses) if (s.pid) await know(s.pid);
  const pid = readPidfile(paths.pidfile);
  if (pid) await know(pid);
}

/** Polls status until `name` is in one of `states`; returns that status. */
async function waitState(f: Fixture, name: string, states: ProgramState[], timeoutMs = 15_000): Promise<ProgramStatus> {
  let last: ProgramStatus | undefined;
  const ok = await pollUntil(async () => {
    [last] = await f.backend.status([name]);
    await remember([last], f.paths);
    return states.includes(last.state);
  }, timeoutMs);
  if (!ok) throw new Error(`expected ${name} to reach ${states.join("/")}, found ${JSON.stringify(last)}`);
  return last!;
}

afterEach(async () => {
  for (const { paths, backend } of fixtures.splice(0)) {
    const pid = readPidfile(paths.pidfile);
    if (pid) await know(pid);
    await backend.stopDaemon().catch(() => undefined);
    rmSync(paths.root, { recursive: true, force: true });
  }
  for (const info of known.values()) await signalProcess(info, "SIGKILL"); // that process only, if still it
  known.clear();
});

describe("SupervisordBackend with a real supervisord", () => {
  it("ensureRunning starts it clean and polls until ready; a second call is a no-op", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "env", code: `console.log(JSON.stringify(process.env)),setInterval(()=>{},1e6)` });
    expect(await f.backend.isRunning()).toBe(false);
    const t0 = performance.now();
    expect(await f.backend.ensureRunning()).toEqual({ started: true });
    const startMs = performance.now() - t0;
    expect(await f.backend.isRunning()).toBe(true);
    expect(await f.backend.ensureRunning()).toEqual({ started: false });
    const running = await waitState(f, "env", ["RUNNING"]);
    expect(running.pid).toBeGreaterThan(0);
    expect(running.uptimeSeconds).toBeGreaterThanOrEqual(0);
    // The program inherits exactly the clean base environment (plus supervisord's SUPERVISOR_* variables).
    const env = JSON.parse((await f.backend.tailLog("env", "stdout", 100_000)).trim()) as Record<string, string>;
    expect(env.PATH).toBe(DEFAULT_PATH);
    expect(
      Object.keys(env)
        .filter((k) => !k.startsWith("SUPERVISOR_"))
        .sort(),
    ).toEqual(Object.keys({ PATH: 1, LANG: 1, ...pick(process.env, ["HOME", "USER", "LOGNAME", "TZ"]) }).sort());
    // Warm RPC round trips over the keep-alive connection.
    const n = 200;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await f.backend.rpc.call("supervisor.getState");
    const rpcMs = (performance.now() - t1) / n;
    console.log(`ensureRunning (cold start) ${startMs.toFixed(0)} ms; warm getState ${rpcMs.toFixed(3)} ms/call`);
    expect(await f.backend.status(["nope"])).toEqual([{ name: "nope", state: "ABSENT" }]);
    const multi = await f.backend.rpc.multicall([
      { method: "supervisor.getState" },
      { method: "supervisor.startProcess", params: ["nope", false] },
    ]);
    expect(multi[0]).toEqual({ ok: true, value: { statecode: 1, statename: "RUNNING" } });
    expect(multi[1]).toMatchObject({ ok: false, fault: { code: 10, faultName: "BAD_NAME" } });
  });

  it("recovers from a stale pidfile and socket after kill -9 of supervisord", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "web", code: listener(), args: ["21001"] });
    await f.backend.ensureRunning();
    const first = await waitState(f, "web", ["RUNNING"]);
    const daemonPid = readPidfile(f.paths.pidfile)!;
    process.kill(daemonPid, "SIGKILL");
    await pollUntil(() => !isAlive(daemonPid), 5000);
    expect(existsSync(f.paths.socket) && existsSync(f.paths.pidfile)).toBe(true);
    expect(isAlive(first.pid!)).toBe(true); // the orphan keeps running and keeps its port
    process.kill(first.pid!, "SIGKILL");
    expect(await f.backend.isRunning()).toBe(false);
    expect(await f.backend.ensureRunning()).toEqual({ started: true });
    const second = await waitState(f, "web", ["RUNNING"]);
    expect(second.pid).not.toBe(first.pid);
  });

  it("removes a pidfile naming a live process that is not supervisord", async () => {
    const f = setup();
    writeFileSync(f.paths.pidfile, `${process.pid}\n`);
    expect(await f.backend.ensureRunning()).toEqual({ started: true });
    expect(readPidfile(f.paths.pidfile)).not.toBe(process.pid);
  });

  it("fails with supervisord's message when the configuration is broken", async () => {
    const f = setup();
    writeFileSync(
      f.paths.supervisordConf,
      readFileSync(f.paths.supervisordConf, "utf8") + "\n[supervisord]\nminfds=100%\n",
    );
    await expect(f.backend.ensureRunning()).rejects.toThrow(/supervisord -c .*exited with 2: .*format/s);
  });

  it("apply adds, changes and removes programs; an unchanged program keeps its PID", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "a", code: listener(), args: ["21011"] });
    writeProgram(f.paths, { name: "b", code: listener("b1"), args: ["21012"] });
    writeProgram(f.paths, { name: "c", code: listener(), args: ["21013"] });
    await f.backend.ensureRunning();
    const a = await waitState(f, "a", ["RUNNING"]);
    const b = await waitState(f, "b", ["RUNNING"]);
    const c = await waitState(f, "c", ["RUNNING"]);
    expect(await f.backend.apply()).toEqual({ added: [], changed: [], removed: [] });

    writeProgram(f.paths, { name: "b", code: listener("b2"), args: ["21012"] });
    removeProgram(f.paths, "c");
    writeProgram(f.paths, { name: "d", code: listener(), args: ["21014"] });
    expect(await f.backend.apply()).toEqual({ added: ["d"], changed: ["b"], removed: ["c"] });
    expect(isAlive(c.pid!)).toBe(false);
    expect(isAlive(b.pid!)).toBe(false);
    const [d] = await f.backend.status(["d"]);
    expect(["STARTING", "RUNNING"]).toContain(d.state); // supervisord starts added programs (autostart)
    const b2 = await waitState(f, "b", ["RUNNING"]);
    await waitState(f, "d", ["RUNNING"]);
    expect(b2.pid).not.toBe(b.pid);
    expect((await f.backend.status(["a", "c"])).map((s) => [s.name, s.state, s.pid])).toEqual([
      ["a", "RUNNING", a.pid],
      ["c", "ABSENT", undefined],
    ]);
    expect(await f.backend.tailLog("b", "stdout", 100)).toContain("b2");
  });

  it("apply reports a configuration supervisord cannot read and touches nothing", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "a", code: listener(), args: ["21021"] });
    await f.backend.ensureRunning();
    const a = await waitState(f, "a", ["RUNNING"]);
    writeFileSync(`${f.paths.supervisorDir}/bad.conf`, "[program:bad]\ndirectory=/tmp\n");
    const error = await f.backend.apply().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toMatch(/cannot read units\/supervisord\.conf .*bad.*command/);
    expect((await f.backend.status(["a"]))[0].pid).toBe(a.pid);
  });

  it("status shows RUNNING and FATAL with the spawn error and exit status", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "ok", code: listener(), args: ["21031"] });
    writeProgram(f.paths, { name: "crash", code: `console.error('boom'),process.exit(3)`, startretries: 1 });
    writeProgram(f.paths, { name: "late", code: `setTimeout(()=>process.exit(4),1300)`, autorestart: false });
    await f.backend.ensureRunning();
    const crash = await waitState(f, "crash", ["FATAL"]);
    expect(crash).toMatchObject({ state: "FATAL", spawnError: expect.stringMatching(/Exited too quickly/) });
    // supervisord discards the status of a program that exits before startsecs; one that ran longer keeps it.
    expect(crash.exitStatus).toBeUndefined();
    expect(crash.pid).toBeUndefined();
    expect(await waitState(f, "late", ["EXITED"])).toMatchObject({ exitStatus: 4 });
    const ok = await waitState(f, "ok", ["RUNNING"]);
    expect(ok.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect((await f.backend.status()).map((s) => s.name).sort()).toEqual(["crash", "late", "ok"]);
    expect(await f.backend.tailLog("crash", "stderr", 1000)).toContain("boom");
  });

  it("start, stop and restart; stop escalates to SIGKILL for a program ignoring SIGTERM", async () => {
    const f = setup();
    const code = `process.on('SIGTERM',()=>console.log('ignored TERM'));${listener()}`;
    writeProgram(f.paths, { name: "stubborn", code, args: ["21041"], stopwaitsecs: 1 });
    await f.backend.ensureRunning();
    const first = await waitState(f, "stubborn", ["RUNNING"]);
    await f.backend.start("stubborn"); // ALREADY_STARTED is fine
    const t0 = performance.now();
    await f.backend.stop("stubborn");
    const stopMs = performance.now() - t0;
    expect(stopMs).toBeGreaterThanOrEqual(900);
    expect(stopMs).toBeLessThan(5000);
    expect(isAlive(first.pid!)).toBe(false);
    expect((await f.backend.status(["stubborn"]))[0].state).toBe("STOPPED");
    await f.backend.stop("stubborn"); // NOT_RUNNING is fine
    await f.backend.restart("stubborn");
    const second = await waitState(f, "stubborn", ["RUNNING"]);
    expect(second.pid).not.toBe(first.pid);
    expect(await f.backend.tailLog("stubborn", "stdout", 1000)).toContain("ignored TERM");
    await expect(f.backend.start("ghost")).rejects.toThrow(
      /no program "ghost" \(expected units\/supervisor\/ghost\.conf/,
    );
    await expect(f.backend.rpc.call("supervisor.startProcess", "ghost")).rejects.toMatchObject({
      code: 10,
      faultName: "BAD_NAME",
    });
    await expect(f.backend.rpc.call("supervisor.startProcess", "ghost")).rejects.toBeInstanceOf(SupervisorFault);
  });

  it("tailLog reads through RPC and falls back to the file when supervisord is down", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "talk", code: `console.log('x'.repeat(5000)+'END-é'),setInterval(()=>{},1e6)` });
    await f.backend.ensureRunning();
    await waitState(f, "talk", ["RUNNING"]);
    await pollUntil(async () => (await f.backend.tailLog("talk", "stdout", 20)).includes("END"), 5000);
    expect(await f.backend.tailLog("talk", "stdout", 10)).toBe("xxxEND-é\n"); // bytes, é is two
    // 2 bytes cut "é" in half: supervisord cannot decode that, the file fallback drops the partial character.
    expect(await f.backend.tailLog("talk", "stdout", 2)).toBe("\n");
    await f.backend.shutdown();
    expect(await f.backend.tailLog("talk", "stdout", 8)).toBe("xEND-é\n");
    await expect(f.backend.tailLog("never", "stderr", 10)).rejects.toThrow(
      /cannot read the stderr log of "never".*logs\/never\.err\.log/s,
    );
  });

  it("shutdown waits until supervisord and its programs are gone", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "web", code: listener(), args: ["21051"] });
    await f.backend.ensureRunning();
    const web = await waitState(f, "web", ["RUNNING"]);
    const daemonPid = readPidfile(f.paths.pidfile)!;
    const report = await f.backend.stopDaemon();
    expect(report).toMatchObject({ wasRunning: true, pid: daemonPid, escalation: "rpc", orphansStopped: [] });
    expect(isAlive(daemonPid)).toBe(false);
    expect(isAlive(web.pid!)).toBe(false);
    expect(existsSync(f.paths.socket) || existsSync(f.paths.pidfile)).toBe(false);
    expect(await f.backend.isRunning()).toBe(false);
    expect(await f.backend.stopDaemon()).toMatchObject({ wasRunning: false, escalation: "none" });
  });

  it("a hung (SIGSTOPped) supervisord is escalated to SIGKILL and its programs are stopped", async () => {
    const f = setup();
    writeProgram(f.paths, { name: "web", code: listener(), args: ["21061"] });
    await f.backend.ensureRunning();
    const web = await waitState(f, "web", ["RUNNING"]);
    const daemonPid = readPidfile(f.paths.pidfile)!;
    process.kill(daemonPid, "SIGSTOP");
    await expect(f.backend.ensureRunning()).rejects.toThrow(
      /does not answer on run\/supervisord\.sock.*no answer within/,
    );
    const t0 = performance.now();
    const report = await f.backend.stopDaemon();
    const ms = performance.now() - t0;
    expect(report).toMatchObject({ wasRunning: true, pid: daemonPid, escalation: "KILL", orphansStopped: [web.pid] });
    expect(ms).toBeLessThan(1000 + 2000 + 2000 + 1000); // probe + TERM wait + orphan TERM wait + slack
    expect(isAlive(daemonPid)).toBe(false);
    expect(isAlive(web.pid!)).toBe(false);
    expect(existsSync(f.paths.socket) || existsSync(f.paths.pidfile)).toBe(false);
  });
});

function pick(env: NodeJS.ProcessEnv, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => env[k]).map((k) => [k, env[k]!]));
}
