/**
 * A test-start child is ours until it is stopped. If orchestrate is killed while a service runs alone
 * (test-start, or step 5 of add-service), the child would keep running outside any manager and keep its
 * port. So test-start records it in run/test-start.json, and the next command that changes or starts the
 * fleet stops it (matching PID and start time, so a reused PID is never signalled).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processInfo, waitForExit } from "../inspect/processes";
import type { ProjectPaths } from "../model/types";
import { removeFile, writeFileAtomicSync } from "../write/atomic";

interface Record {
  service: string;
  pid: number;
  /** /proc start time of the child (clock ticks since boot) */
  startTime: number;
}

function recordPath(paths: Pick<ProjectPaths, "run">): string {
  return join(paths.run, "test-start.json");
}

/** Records the running test-start child. */
export async function recordTestStart(paths: Pick<ProjectPaths, "run">, service: string, pid: number): Promise<void> {
  const info = await processInfo(pid);
  if (info) writeFileAtomicSync(recordPath(paths), JSON.stringify({ service, pid, startTime: info.startTime } satisfies Record) + "\n", 0o600);
}

/** Forgets the record (the child was stopped by test-start itself). */
export function clearTestStart(paths: Pick<ProjectPaths, "run">): void {
  removeFile(recordPath(paths));
}

/**
 * Stops a test-start child left behind by a killed orchestrate (SIGKILL to its process group) and removes
 * the record. @returns a sentence saying what was stopped, or undefined when there was nothing.
 */
export async function reapTestStart(paths: Pick<ProjectPaths, "run">): Promise<string | undefined> {
  let record: Record;
  try {
    record = JSON.parse(readFileSync(recordPath(paths), "utf8")) as Record;
  } catch {
    return undefined;
  }
  let note: string | undefined;
  if (isAlive(record.pid, record.startTime)) {
    try {
      process.kill(-record.pid, "SIGKILL"); // test-start made it the leader of its own group
    } catch {
      process.kill(record.pid, "SIGKILL");
    }
    await waitForExit(record.pid, 2000, record.startTime);
    note = `stopped ${record.service} (pid ${record.pid}), left running alone by an interrupted test-start`;
  }
  clearTestStart(paths);
  return note;
}
