/**
 * The one place that writes files. Every write is atomic: the whole content goes to a temp file in the same
 * folder (every byte written, short writes continued), fsync'd, its size checked, then renamed over the
 * target, and the folder fsync'd (rename(2), fsync(2)). A crash, kill -9 or full disk leaves the old file or
 * the whole new one, never a torn one. A symlink at the target is replaced, never written through (rename
 * replaces the link itself, POSIX rename(2)), and nothing is ever chmodded through a link.
 *
 * A full disk, exhausted quota or read-only file system is reported as {@link DiskError} (exit 1) naming
 * the path; the temp file is removed again.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { OperationError } from "../errors";
import { diskError } from "./disk-errors";
import { ensurePrivateDir } from "./folders";

export { diskError } from "./disk-errors";
export { ensurePrivateDir, refuseLinkedLogs, removeStaleTemps } from "./folders";

/** Name of the project's private state folder (socket, pidfile, journal, last-good): see src/model/paths.ts. */
const RUN_DIR = "run";

/**
 * Writes `content` to `path` atomically, creating parent folders. With `mode` the file gets exactly that
 * mode (rendered files); without, an existing file keeps its own (a 0600 manifest stays 0600; for a
 * symlink, the mode of what it points to), a new one gets 0o644. As root, an existing regular file keeps
 * its owner. A symlink at `path` is replaced by a regular file (never followed).
 * @throws DiskError (exit 1) for ENOSPC, EDQUOT, EROFS (the old file is left as it was).
 * @throws OperationError when the parent is a `run/` folder that is a symlink (see {@link ensureDir}).
 */
export function writeFileAtomicSync(path: string, content: string | Buffer, mode?: number): void {
  const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  const dir = dirname(path);
  ensureParent(dir);
  let wanted = mode;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const link = lstatSync(path);
    if (link.isFile()) owner = { uid: link.uid, gid: link.gid };
    if (wanted === undefined) wanted = (link.isSymbolicLink() ? statSync(path) : link).mode & 0o7777;
  } catch {
    /* no such file (or a dangling link): a new file */
  }
  wanted ??= 0o644;
  // at most 1 + 200 + 1 + 10 + 1 + 8 + 4 bytes: a temp name fits wherever the target's 255-byte name does
  const stem = Buffer.from(basename(path))
    .subarray(0, 200)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  const tmp = join(dir, `.${stem}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let done = 0;
    while (done < data.length) {
      const n = writeSync(fd, data, done, data.length - done, done);
      if (n <= 0) throw Object.assign(new Error(`short write to ${tmp}`), { code: "EIO" });
      done += n;
    }
    fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== data.length)
      throw Object.assign(new Error(`${tmp} holds ${size} bytes instead of ${data.length}`), { code: "EIO" });
    if (owner && process.getuid?.() === 0) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, wanted); // on the temp file's descriptor: never through a link
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failed */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw diskError(e, path);
  }
  syncDir(dir);
}

/** fsync(2) on a folder, so a rename in it survives a power loss; best effort (some file systems refuse). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function ensureParent(dir: string): void {
  if (basename(dir) === RUN_DIR) ensurePrivateDir(dir);
  else ensureDir(dir);
}

/**
 * Creates a folder (and parents) if missing. A folder named `run` (the project's private state folder:
 * supervisord's socket and pidfile, the journal, last-good) is handled by {@link ensurePrivateDir}: a real
 * folder, mode 0700, never a symlink, whoever creates it first.
 * @throws DiskError for ENOSPC, EDQUOT, EROFS; OperationError for a symlinked `run/`.
 */
export function ensureDir(path: string, mode = 0o755): void {
  if (basename(path) === RUN_DIR) return ensurePrivateDir(path);
  try {
    mkdirSync(path, { recursive: true, mode });
  } catch (e) {
    throw diskError(e, path);
  }
}

/** Removes a file if present (never a folder; a symlink itself, never what it points to). */
export function removeFile(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    throw diskError(e, path);
  }
}

/**
 * Removes a file if present, then its folder when the removal left it empty and the folder is one of
 * `ownFolders` (e.g. a drop-in folder `units/systemd/P-NAME@2.service.d/` of a removed instance). A
 * folder holding anything else is kept.
 */
export function removeOwnedFile(path: string, ownFolders: (folder: string) => boolean): void {
  removeFile(path);
  const folder = dirname(path);
  if (!ownFolders(folder)) return;
  try {
    if (readdirSync(folder).length === 0) rmdirSync(folder);
  } catch {
    /* already gone */
  }
}

/**
 * Appends one line to a file opened O_APPEND (a single small write is not interleaved with other appenders).
 * @throws DiskError for ENOSPC, EDQUOT, EROFS; OperationError when `path` is a symlink.
 */
export function appendLine(path: string, line: string, mode = 0o600): void {
  ensureParent(dirname(path));
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a link planted at the journal's place is refused (ELOOP), never appended through
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, mode);
    const data = Buffer.from(line.endsWith("\n") ? line : line + "\n", "utf8");
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP")
      throw new OperationError(`${path} is a symlink: refusing to append through it`, `remove it ("rm ${path}")`);
    throw diskError(e, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
