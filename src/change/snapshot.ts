/**
 * What a change may touch, captured before it starts, so that a failure restores the manifest and
 * units/ byte for byte (and removes files the change added).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DiskError, OperationError } from "../errors";
import type { ProjectPaths } from "../model/types";
import { readState, STATE_FILE } from "../write/plan";
import { removeFile, writeFileAtomicSync } from "../write/atomic";

/** Everything a change may touch, as it was before the change. */
export interface Snapshot {
  /** manifest.json byte for byte */
  manifestText: string;
  /** project-relative path → content and mode, or null when the file did not exist */
  files: Map<string, { content: string; mode: number } | null>;
}

function read(path: string): { content: string; mode: number } | null {
  try {
    return { content: readFileSync(path, "utf8"), mode: statSync(path).mode & 0o777 };
  } catch {
    return null;
  }
}

/** Captures the manifest and every generated file, plus `extra` paths a change may create. */
export function takeSnapshot(paths: ProjectPaths, manifestText: string, extra: Iterable<string> = []): Snapshot {
  const files = new Map<string, { content: string; mode: number } | null>();
  for (const p of [STATE_FILE, ...Object.keys(readState(paths.root).files), ...extra])
    if (!files.has(p)) files.set(p, read(join(paths.root, p)));
  return { manifestText, files };
}

/**
 * Restores everything captured: files the change added are deleted first (freeing space), then each
 * changed file is written back, then the manifest text;
 * files already as captured are not written again (on a full disk, every write avoided is one that cannot fail).
 * Every write is atomic, so a failing one (a full disk) leaves that file as the change left it, whole;
 * the others are still restored.
 * @throws OperationError (a DiskError when that was the only cause) naming every path that could not be
 * restored, after trying them all.
 */
export function restoreSnapshot(paths: ProjectPaths, snap: Snapshot): void {
  const failed: Array<{ path: string; error: unknown }> = [];
  const attempt = (path: string, body: () => void) => {
    try {
      body();
    } catch (error) {
      failed.push({ path, error });
    }
  };
  // removals first: on a full disk they free the space the rewrites' temp files need
  const files = [...snap.files].sort(([, a], [, b]) => Number(a !== null) - Number(b !== null));
  for (const [p, state] of files) {
    const path = join(paths.root, p);
    const now = read(path);
    if (state === null ? now === null : now?.content === state.content && now.mode === state.mode) continue; // untouched
    attempt(path, () => (state === null ? removeFile(path) : writeFileAtomicSync(path, state.content, state.mode)));
  }
  if (read(paths.manifest)?.content !== snap.manifestText)
    attempt(paths.manifest, () => writeFileAtomicSync(paths.manifest, snap.manifestText));
  if (failed.length === 0) return;
  if (failed.length === 1 && failed[0].error instanceof DiskError) throw failed[0].error;
  throw new OperationError(
    `could not restore ${failed.length} file${failed.length === 1 ? "" : "s"}: ${failed
      .map((f) =>
        f.error instanceof DiskError ? `${f.path} (${f.error.reason})` : `${f.path} (${(f.error as Error).message})`,
      )
      .join(", ")}`,
    'each of them is whole (the old or the new version); free space, then run "orchestrate generate" (units/) and check manifest.json',
  );
}
