/**
 * startDaemon's wait for a supervisord that is starting (issue 11, item 7): the limit is on the time WITHOUT
 * progress, not a fixed total. A first start of hundreds of programs keeps supervisord answering "not RUNNING
 * yet" (or spawning children) for longer than the limit; that must not fail. One that makes no progress at all
 * fails after the limit, naming it. A scripted RPC (no supervisord): the states are supervisor's getState codes
 * (supervisord docs, "supervisor.getState").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDaemon } from "../../src/backend/supervisord/daemon";
import { SupervisorConnectionError, type SupervisorRpc } from "../../src/backend/supervisord/client";
import { SupervisorStates } from "../../src/backend/supervisord/states";
import { projectPaths } from "../../src/model/paths";

const root = mkdtempSync(join(tmpdir(), "orch-daemon-wait-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const paths = projectPaths(join(root, "manifest.json"));

/** An RPC whose getState answers `script(elapsed ms)`: a state code, or "down" (connection refused). */
function scripted(script: (ms: number) => number | "down"): SupervisorRpc & { calls: number } {
  const t0 = performance.now();
  const rpc = {
    calls: 0,
    async request<T>(method: string): Promise<T> {
      rpc.calls++;
      const answer = script(performance.now() - t0);
      if (answer === "down") throw new SupervisorConnectionError("refused", paths.socket, method, "connection refused");
      return { statecode: answer } as T;
    },
  };
  return rpc as unknown as SupervisorRpc & { calls: number };
}

describe("startDaemon waits on progress, not a fixed time", () => {
  it("a supervisord that answers RESTARTING for 3× the limit, then RUNNING, is waited for", async () => {
    const limit = 200;
    const rpc = scripted((ms) => (ms < 3 * limit ? SupervisorStates.RESTARTING : SupervisorStates.RUNNING));
    const t0 = performance.now();
    await expect(startDaemon(paths, rpc, { startTimeoutMs: limit, probeTimeoutMs: 100 })).resolves.toEqual({
      started: false,
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * limit - 20);
  });

  it("one that answers once, then nothing and starts no program, fails after the limit, naming it", async () => {
    const limit = 200;
    const rpc = scripted((ms) => (ms < 5 ? SupervisorStates.RESTARTING : "down"));
    await expect(startDaemon(paths, rpc, { startTimeoutMs: limit, probeTimeoutMs: 100 })).rejects.toThrow(
      /made no progress \(no answer, no program started\) for 0\.2 s/,
    );
    // well before the 20 × limit bound: the stall ended the wait, not the total
    expect(rpc.calls).toBeGreaterThan(1);
  });
});
