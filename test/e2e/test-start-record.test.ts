/** A test-start child left by a killed orchestrate is stopped by the next command; a reused PID never is. */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnService, type SpawnedProcess } from "../../src/exec/run";
import { isAlive, processInfo } from "../../src/inspect/processes";
import { reapTestStart, recordTestStart } from "../../src/procedure/test-start-record";

const started: SpawnedProcess[] = [];
afterAll(() => started.forEach((c) => c.signalGroup("SIGKILL")));

async function sleeper(): Promise<SpawnedProcess> {
  const child = await spawnService([process.execPath, "-e", "setInterval(() => {}, 1000)"], { cwd: tmpdir(), env: { PATH: "/usr/bin:/bin" } });
  started.push(child);
  return child;
}

describe("test-start record", () => {
  const paths = { run: mkdtempSync(join(tmpdir(), "orch-ts-")) };

  it("the next command stops a recorded child and forgets it", async () => {
    const child = await sleeper();
    await recordTestStart(paths, "quotes", child.pid);
    expect(existsSync(join(paths.run, "test-start.json"))).toBe(true);
    const note = await reapTestStart(paths);
    expect(note).toMatch(new RegExp(`stopped quotes \\(pid ${child.pid}\\)`));
    expect(isAlive(child.pid)).toBe(false);
    expect(existsSync(join(paths.run, "test-start.json"))).toBe(false);
    expect(await reapTestStart(paths)).toBeUndefined();
  });

  it("never signals a PID that now belongs to another process (start time differs)", async () => {
    const child = await sleeper();
    const info = (await processInfo(child.pid))!;
    writeFileSync(join(paths.run, "test-start.json"), JSON.stringify({ service: "quotes", pid: child.pid, startTime: info.startTime - 1 }));
    expect(await reapTestStart(paths)).toBeUndefined();
    expect(isAlive(child.pid)).toBe(true);
    expect(existsSync(join(paths.run, "test-start.json"))).toBe(false);
  });
});
