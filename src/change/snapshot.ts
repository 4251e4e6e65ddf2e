/**
 * What a change may touch, captured before it starts, so that a failure restores the manifest and
 * units/ byte for byte (and removes files the change added).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
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

/** Restores everything captured: the manifest text and each file (deleting those that did not exist). */
export function restoreSnapshot(paths: ProjectPaths, snap: Snapshot): void {
  writeFileAtomicSync(paths.manifest, snap.manifestText);
  for (const [p, state] of snap.files) {
    if (state === null) removeFile(join(paths.root, p));
    else writeFileAtomicSync(join(paths.root, p), state.content, state.mode);
  }
}
