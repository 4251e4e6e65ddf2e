/**
 * Folders the writer must be able to trust: `run/` is a real 0700 folder (never a symlink), log files are
 * never symlinks, and temp files of a writer killed before its rename are cleaned up.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  unlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { OperationError } from "../errors";
import { diskError } from "./disk-errors";

/**
 * Makes `path` a real folder of mode 0700: created if missing, chmodded to 0700 if it is a folder with
 * other bits, refused if it is a symlink or anything else (socket, pidfile and last-good must never land
 * outside the project).
 * @throws OperationError (exit 1) for a symlink or a non-folder; DiskError for ENOSPC, EDQUOT, EROFS.
 */
export function ensurePrivateDir(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    try {
      mkdirSync(dirname(path), { recursive: true });
      mkdirSync(path, { mode: 0o700 });
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw diskError(e, path);
      st = lstatSync(path);
    }
  }
  if (st.isSymbolicLink())
    throw new OperationError(
      `${path} is a symlink: refusing to put supervisord's socket, pidfile, the journal and last-good through it`,
      `run/ must be a real folder of the project: remove the link ("rm ${path}"); orchestrate creates it with mode 0700`,
    );
  if (!st.isDirectory())
    throw new OperationError(`${path} is not a folder`, `remove it; orchestrate creates run/ with mode 0700`);
  if ((st.mode & 0o777) !== 0o700) {
    try {
      chmodNoFollow(path, 0o700); // O_NOFOLLOW: a link swapped in after lstat is not followed
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPERM" || code === "ELOOP")
        throw new OperationError(
          `${path} has mode ${(st.mode & 0o777).toString(8)} and cannot be made 0700 (${code}): it holds supervisord's socket and the journal`,
          `run orchestrate as the folder's owner (uid ${st.uid}), or "chmod 700 ${path}"`,
        );
      throw diskError(e, path);
    }
  }
}

function chmodNoFollow(path: string, mode: number): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses log files that are symlinks in `logs` (a symlinked `logs/` folder itself is fine: a deliberate
 * choice, e.g. a bigger disk). supervisord and systemd (`append:`) open the log paths and would append a
 * program's output to whatever a planted link points to (/etc/passwd under a root supervisord).
 * @throws OperationError (exit 1) listing every `*.log` / `*.log.N` entry that is a symlink.
 */
export function refuseLinkedLogs(logs: string): void {
  let names: string[];
  try {
    names = readdirSync(logs);
  } catch {
    return; // not there yet
  }
  const linked = names
    .filter((n) => /\.log(\.\d+)?$/.test(n))
    .filter((n) => {
      try {
        return lstatSync(join(logs, n)).isSymbolicLink();
      } catch {
        return false;
      }
    })
    .sort();
  if (linked.length)
    throw new OperationError(
      `log file${linked.length === 1 ? "" : "s"} in ${logs} ${linked.length === 1 ? "is a symlink" : "are symlinks"}: ${linked
        .map((n) => `${n} → ${readlinkSync(join(logs, n))}`)
        .join(
          ", ",
        )}; supervisord and systemd would append program output through ${linked.length === 1 ? "it" : "them"}`,
      `remove ${linked.length === 1 ? "it" : "them"} (a symlinked logs/ folder is allowed; a single log file is not)`,
    );
}

/** Name of a temp file of writeFileAtomicSync (./atomic.ts): `.NAME.PID.RANDOM.tmp`. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes temp files of writeFileAtomicSync (./atomic.ts) in `dir` whose writer is gone (a kill -9 between
 * open and rename leaves one; the target itself was never touched). A live writer's temp file is kept.
 */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    if (lstatSync(dir).isSymbolicLink()) return; // never clean where a link points
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // alive (or not ours to signal): leave it
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") continue;
    }
    try {
      if (lstatSync(join(dir, name)).isFile()) unlinkSync(join(dir, name));
    } catch {
      /* gone already */
    }
  }
}
