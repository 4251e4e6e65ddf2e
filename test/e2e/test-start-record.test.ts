/**
 * A test-start child left by a killed orchestrate is stopped by the next command; a child whose
 * orchestrate still runs (another terminal) is left alone; a reused PID is never signalled.
 */
import { existsSync, mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnService, type SpawnedProcess } from "../../src/exec/run";
import { isAlive, processInfo } from "../../src/inspect/processes";
import { reapTestStart, recordTestStart } from "../../src/fleet/test-start-record";

const started: SpawnedProcess[] = [];
afterAll(() => started.forEach((c) => c.signalGroup("SIGKILL")));

async function sleeper(): Promise<SpawnedProcess> {
  const child = await spawnService([process.execPath, "-e", "setInterval(() => {}, 1000)"], {
    cwd: tmpdir(),
    env: { PATH: "/usr/bin:/bin" },
  });
  started.push(child);
  return child;
}

describe("test-start records", () => {
  const paths = { run: mkdtempSync(join(tmpdir(), "orch-ts-")) };
  const file = (service: string) => join(paths.run, "test-start", `${service}.json`);

  it("leaves alone a child whose orchestrate is still running (a test-start in another terminal)", async () => {
    const child = await sleeper();
    await recordTestStart(paths, "busy", child.pid); // owned by this very (live) test process
    expect(await reapTestStart(paths)).toEqual([]);
    expect(isAlive(child.pid)).toBe(true);
    expect(existsSync(file("busy"))).toBe(true);
  });

  it("stops a child whose orchestrate is gone, and forgets it", async () => {
    const child = await sleeper();
    const owner = await sleeper();
    const [c, o] = [(await processInfo(child.pid))!, (await processInfo(owner.pid))!];
    mkdirSync(join(paths.run, "test-start"), { recursive: true });
    writeFileSync(
      file("quotes"),
      JSON.stringify({
        service: "quotes",
        pid: child.pid,
        startTime: c.startTime,
        ownerPid: owner.pid,
        ownerStartTime: o.startTime,
      }),
    );
    owner.signalGroup("SIGKILL"); // the orchestrate that ran test-start is killed
    await owner.exited;
    const notes = await reapTestStart(paths);
    expect(notes).toEqual([`stopped quotes (pid ${child.pid}), left running alone by an interrupted test-start`]);
    expect(isAlive(child.pid)).toBe(false);
    expect(existsSync(file("quotes"))).toBe(false);
  });

  it("never signals a PID that now belongs to another process (start time differs)", async () => {
    const child = await sleeper();
    const info = (await processInfo(child.pid))!;
    writeFileSync(
      file("reused"),
      JSON.stringify({
        service: "reused",
        pid: child.pid,
        startTime: info.startTime - 1,
        ownerPid: 999999,
        ownerStartTime: 1,
      }),
    );
    expect(await reapTestStart(paths)).toEqual([]);
    expect(isAlive(child.pid)).toBe(true);
    expect(existsSync(file("reused"))).toBe(false);
  });
});
