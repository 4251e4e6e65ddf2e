/**
 * The one place that writes files. Every write is atomic (temp file in the same folder, fsync,
 * rename: write-file-atomic), so a crash or kill -9 leaves the old file or the new one, never a torn one.
 */
import { appendFileSync, mkdirSync, readdirSync, rmdirSync, rmSync, chmodSync, statSync } from "node:fs";
import { dirname } from "node:path";
import writeFileAtomic from "write-file-atomic";

/**
 * Writes `content` to `path` atomically, creating parent folders. With `mode` the file gets exactly that
 * mode (rendered files); without, an existing file keeps its own (a 0600 manifest stays 0600), a new one
 * gets 0o644.
 */
export function writeFileAtomicSync(path: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  let wanted = mode;
  if (wanted === undefined) {
    try {
      wanted = statSync(path).mode & 0o7777;
    } catch {
      wanted = 0o644;
    }
  }
  writeFileAtomic.sync(path, content, { mode: wanted, fsync: true });
  chmodSync(path, wanted); // write-file-atomic keeps an existing file's mode; the rendered mode wins
}

/** Creates a folder (and parents) if missing. */
export function ensureDir(path: string, mode = 0o755): void {
  mkdirSync(path, { recursive: true, mode });
}

/** Removes a file if present (never a folder). */
export function removeFile(path: string): void {
  rmSync(path, { force: true });
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

/** Appends one line to a file opened O_APPEND (a single small write is not interleaved with other appenders). */
export function appendLine(path: string, line: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, line.endsWith("\n") ? line : line + "\n", { mode });
}
