/**
 * The manifest lock left by a killed command: the next command says whose lock it waits for (PID, alive or
 * dead, its command) and takes a dead holder's lock over at once instead of waiting for it to go stale.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { cliPath, makeCliProject, orchestrate, type TestProject } from "../helpers/cli-project";
import { rmSync } from "node:fs";

const made: TestProject[] = [];
afterEach(() => {
  for (const p of made.splice(0)) rmSync(p.root, { recursive: true, force: true });
});

function project(): TestProject {
  const p = makeCliProject("orch-lock-", {
    project: "lock",
    services: { api: { command: "/usr/bin/python3 api.py", port: 30190 } },
  });
  made.push(p);
  return p;
}

/** Plants the lock of `pid` as a killed orchestrate would leave it (fresh, so not yet stale). */
function plantLock(p: TestProject, pid: number, startTime?: number): void {
  mkdirSync(`${p.manifest}.lock`);
  writeFileSync(
    join(p.paths.run, "manifest-lock.json"),
    JSON.stringify({ pid, startTime, command: "add-service quotes --port 8050", since: "2026-12-02T06:00:00.000Z" }),
  );
}

/** Start time of `pid` (proc(5) stat field 22). */
function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

describe("a stale manifest lock", () => {
  it("of a dead holder is taken over at once, naming its PID", async () => {
    await cliPath();
    const gone = await run("/bin/sh", ["-c", "echo $$"]);
    const pid = Number(gone.stdout.trim());
    const p = project();
    plantLock(p, pid, 12345);
    const r = await orchestrate(p, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `the manifest lock was held by PID ${pid} (dead: orchestrate add-service quotes --port 8050, since 2026-12-02T06:00:00.000Z); taken over`,
    );
    expect(existsSync(join(p.paths.units, "supervisord.conf"))).toBe(true);
    expect(existsSync(`${p.manifest}.lock`)).toBe(false);
    expect(existsSync(join(p.paths.run, "manifest-lock.json"))).toBe(false);
  });

  it("of a PID now used by another process (start time differs) counts as dead", async () => {
    const p = project();
    plantLock(p, process.pid, startTime(process.pid) + 1);
    const r = await orchestrate(p, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`held by PID ${process.pid} (dead:`);
  });

  it("of a live holder is waited for, saying so, and taken over only once stale", async () => {
    const p = project();
    const holder = spawn("/bin/sleep", ["60"], { stdio: "ignore" });
    try {
      plantLock(p, holder.pid!, startTime(holder.pid!));
      const r = await orchestrate(p, "generate");
      expect(r.stderr).toContain(
        `waiting for the manifest lock held by PID ${holder.pid} (alive: orchestrate add-service quotes`,
      );
      expect(r.exitCode, r.stderr).toBe(0); // proper-lockfile takes over after 10 s without a refresh
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
