/**
 * A test-start child is ours until it is stopped. If orchestrate is killed while a service runs alone
 * (test-start, or step 5 of add-service), the child would keep running outside any manager and keep its
 * port. So test-start records it in run/test-start/NAME.json together with the orchestrate process that
 * started it, and the next command that changes or starts the fleet stops it — only when that orchestrate
 * is gone (a test-start still running in another terminal is left alone) and only when the child's PID
 * still has the recorded start time (a reused PID is never signalled).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processInfo } from "../inspect/processes";
import { waitForExit } from "../signal/poll";
import { signalProcess } from "../signal/send";
import type { ProjectPaths } from "../model/types";
import { removeFile, writeFileAtomicSync } from "../write/atomic";

/** One record: the child and the orchestrate that owns it, each as PID + /proc start time (clock ticks). */
interface TestStartRecord {
  service: string;
  pid: number;
  startTime: number;
  ownerPid: number;
  ownerStartTime: number;
}

function recordDir(paths: Pick<ProjectPaths, "run">): string {
  return join(paths.run, "test-start");
}

function recordPath(paths: Pick<ProjectPaths, "run">, service: string): string {
  return join(recordDir(paths), `${service}.json`);
}

/** Records the running test-start child of `service`, owned by this process. */
export async function recordTestStart(paths: Pick<ProjectPaths, "run">, service: string, pid: number): Promise<void> {
  const [child, owner] = await Promise.all([processInfo(pid), processInfo(process.pid)]);
  if (!child || !owner) return;
  const record: TestStartRecord = {
    service,
    pid,
    startTime: child.startTime,
    ownerPid: process.pid,
    ownerStartTime: owner.startTime,
  };
  writeFileAtomicSync(recordPath(paths, service), JSON.stringify(record) + "\n", 0o600);
}

/** Forgets the record of `service` (test-start stopped its child itself). */
export function clearTestStart(paths: Pick<ProjectPaths, "run">, service: string): void {
  removeFile(recordPath(paths, service));
}

/**
 * Stops every test-start child whose orchestrate is gone (SIGKILL to its process group) and removes those
 * records. @returns one sentence per child stopped (empty when there was nothing to do).
 */
export async function reapTestStart(paths: Pick<ProjectPaths, "run">): Promise<string[]> {
  let files: string[];
  try {
    files = readdirSync(recordDir(paths)).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const notes: string[] = [];
  for (const file of files) {
    const path = join(recordDir(paths), file);
    let record: TestStartRecord;
    try {
      record = JSON.parse(readFileSync(path, "utf8")) as TestStartRecord;
    } catch {
      removeFile(path); // torn by a crash while it was being written: nothing to trust in it
      continue;
    }
    if (isAlive(record.ownerPid, record.ownerStartTime)) continue; // that test-start is still running
    // test-start made it the leader of its own group: KILL reaches what it forked too
    if ((await signalProcess(record, "SIGKILL", { group: true })) === "sent") {
      await waitForExit(record.pid, 2000, record.startTime);
      notes.push(`stopped ${record.service} (pid ${record.pid}), left running alone by an interrupted test-start`);
    }
    removeFile(path);
  }
  return notes;
}
