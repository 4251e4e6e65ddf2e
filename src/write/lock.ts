/**
 * The inter-process lock around every change of the manifest: two add-service calls never read the same
 * manifest and never allocate the same port. proper-lockfile (a `manifest.json.lock` folder, mkdir being
 * atomic; 3 processes × 200 locked read-modify-writes gave exactly 600; a lock not refreshed for 10 s is
 * stale and taken over).
 *
 * The holder also records itself in `run/manifest-lock.json` (PID, process start time, command), so a
 * waiting command says whose lock it waits for, and takes over at once the lock of a holder that is dead
 * (kill -9) instead of waiting for it to go stale.
 */
import { readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import lockfile from "proper-lockfile";
import { OperationError } from "../errors";
import { removeFile, writeFileAtomicSync } from "./atomic";

/** How long a waiting command retries before giving up (ms). Long enough for another transaction to finish. */
const WAIT_MS = 180_000;
/** A lock not refreshed for this long (ms) belongs to a dead or hung process. */
const STALE_MS = 10_000;

/** What the holder of the manifest lock records about itself. */
export interface LockOwner {
  pid: number;
  /** Start time of the process in clock ticks since boot (proc(5) /proc/PID/stat field 22); guards against PID reuse. */
  startTime?: number;
  /** The orchestrate command line, e.g. "add-service quotes --port 8050". */
  command: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** Path of the owner record of the lock on `manifestPath`. */
export function lockOwnerPath(manifestPath: string): string {
  return join(dirname(manifestPath), "run", "manifest-lock.json");
}

/** Start time of `pid` (proc(5) stat field 22), or undefined where /proc cannot tell. */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]); // field 22 overall; fields[0] is field 3 (state)
  } catch {
    return undefined;
  }
}

/** true when `owner` is still the running process it was (same PID and start time). */
export function ownerAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const now = startTimeOf(owner.pid);
  return owner.startTime === undefined || now === undefined || now === owner.startTime;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as LockOwner;
    return Number.isInteger(o.pid) && o.pid > 0 ? o : undefined;
  } catch {
    return undefined;
  }
}

/** "PID 1234 (alive: orchestrate add-service quotes, since 2026-…)". */
function describeOwner(o: LockOwner, alive: boolean): string {
  return `PID ${o.pid} (${alive ? "alive" : "dead"}: orchestrate ${o.command || "?"}, since ${o.since})`;
}

/**
 * Runs `body` while holding the lock on `manifestPath` (a `manifest.json.lock` folder beside it).
 * `options.waitMs`: how long to wait for another command to finish (default 180000 ms). `options.onWait`
 * receives one line when the lock is held by another command (default: written to stderr): whose lock it
 * is (PID, alive or dead, its command), and whether it was taken over.
 * @throws OperationError when the lock cannot be had in time, naming the holder.
 */
export async function withManifestLock<T>(
  manifestPath: string,
  body: () => Promise<T>,
  options: { waitMs?: number; onWait?: (line: string) => void } = {},
): Promise<T> {
  const say = options.onWait ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const ownerPath = lockOwnerPath(manifestPath);
  const attempt = (retries: number) =>
    lockfile.lock(manifestPath, {
      stale: STALE_MS,
      realpath: false,
      retries: { retries, factor: 1, minTimeout: 50, maxTimeout: 250, randomize: true },
    });
  let release: () => Promise<void>;
  try {
    release = await attempt(0);
  } catch (first) {
    if ((first as NodeJS.ErrnoException).code !== "ELOCKED") throw lockError(manifestPath, first, undefined);
    const owner = readOwner(ownerPath);
    const alive = owner ? ownerAlive(owner) : true;
    if (owner && !alive && takeOver(manifestPath, ownerPath, owner)) {
      say(`orchestrate: the manifest lock was held by ${describeOwner(owner, false)}; taken over`);
    } else {
      say(
        owner
          ? `orchestrate: waiting for the manifest lock held by ${describeOwner(owner, alive)}`
          : `orchestrate: waiting for the manifest lock (${manifestPath}.lock; holder unknown, taken over once not refreshed for ${STALE_MS / 1000} s)`,
      );
    }
    try {
      release = await attempt(Math.ceil((options.waitMs ?? WAIT_MS) / 250));
    } catch (e) {
      throw lockError(manifestPath, e, readOwner(ownerPath));
    }
  }
  try {
    const self: LockOwner = {
      pid: process.pid,
      startTime: startTimeOf(process.pid),
      command: process.argv.slice(2).join(" "),
      since: new Date().toISOString(),
    };
    writeFileAtomicSync(ownerPath, JSON.stringify(self) + "\n", 0o600);
  } catch {
    /* the record only improves messages: a read-only run/ must not stop the change */
  }
  try {
    return await body();
  } finally {
    try {
      if (readOwner(ownerPath)?.pid === process.pid) removeFile(ownerPath);
    } catch {
      /* best effort */
    }
    await release().catch(() => undefined);
  }
}

/**
 * Removes the lock of a dead holder. Only one of several waiting commands wins: each first renames the
 * owner record away (rename is atomic; the losers get ENOENT and wait as usual).
 */
function takeOver(manifestPath: string, ownerPath: string, dead: LockOwner): boolean {
  const claimed = `${ownerPath}.${process.pid}.taken`;
  try {
    renameSync(ownerPath, claimed);
  } catch {
    return false;
  }
  const got = readOwner(claimed);
  if (got?.pid !== dead.pid || got.since !== dead.since) {
    // a new holder recorded itself between our read and the rename: give its record back, wait for it
    try {
      renameSync(claimed, ownerPath);
    } catch {
      /* it is gone again */
    }
    return false;
  }
  try {
    rmSync(`${manifestPath}.lock`, { recursive: true, force: true });
  } finally {
    rmSync(claimed, { force: true });
  }
  return true;
}

function lockError(manifestPath: string, e: unknown, owner: LockOwner | undefined): OperationError {
  return new OperationError(
    `cannot lock ${manifestPath}: ${(e as Error).message}${owner ? `; held by ${describeOwner(owner, ownerAlive(owner))}` : ""}`,
    "another orchestrate command is changing the fleet; wait for it, or remove manifest.json.lock if no orchestrate runs",
  );
}
