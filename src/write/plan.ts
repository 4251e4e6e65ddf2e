/**
 * Plan before acting (as changesets splits assembleReleasePlan from applyReleasePlan): compare rendered files with what is on disk and with
 * what an earlier generate recorded as its own. `--dry-run` prints the plan's diff, `--check` its
 * file list, and applyPlan (./apply.ts) holds every write.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { RenderedFile } from "../model/types";

/** Records which files generate wrote, so that only those are ever removed (never by name pattern). */
export const STATE_FILE = "units/.generated.json";

/** Contents of {@link STATE_FILE}. */
export interface GeneratedState {
  /** Paths relative to the project root, with the SHA-256 of the content written. */
  files: Record<string, string>;
}

/** One file that differs from what is on disk; paths relative to the project root. */
export interface FileChange {
  path: string;
  /** "mode": same content, different permissions */
  kind: "added" | "changed" | "removed" | "mode";
  /** content on disk now; absent for "added" */
  before?: string;
  /** content to write; absent for "removed" */
  after?: string;
  /** permissions to write, e.g. 0o644 */
  mode?: number;
}

/** Result of {@link planFiles}: what generate would change under `root` (absolute). */
export interface Plan {
  root: string;
  changes: FileChange[];
  /** relative paths already identical in content and mode */
  unchanged: string[];
  /** every rendered file, changed or not */
  rendered: RenderedFile[];
}

/** Hex SHA-256 of `text` (UTF-8), as recorded in {@link STATE_FILE}. */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Reads the state file; a missing or unreadable one means "nothing is ours yet". */
export function readState(root: string): GeneratedState {
  try {
    const parsed = JSON.parse(readFileSync(join(root, STATE_FILE), "utf8")) as GeneratedState;
    if (!parsed || typeof parsed.files !== "object") return { files: {} };
    // only paths inside units/ are ever ours: a damaged state file must not make generate delete elsewhere
    const files: Record<string, string> = {};
    for (const [path, hash] of Object.entries(parsed.files)) if (isUnitsPath(path)) files[path] = hash;
    return { files };
  } catch {
    return { files: {} };
  }
}

/** `units/…` without `..`, `.` or empty segments: the only paths generate ever writes or removes. */
export function isUnitsPath(path: string): boolean {
  const parts = path.split("/");
  return parts[0] === "units" && parts.length > 1 && parts.every((p) => p !== "" && p !== "." && p !== "..");
}

/**
 * Content and mode of a file; undefined when absent. A symlink is never read through (a link planted at
 * units/ports.env → /etc/shadow must not land in a --dry-run diff): it reads as a placeholder text, which
 * differs from every rendered file, so the plan replaces the link.
 */
function readIfPresent(path: string): { content: string; mode: number } | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink())
      return { content: `(a symlink to ${readlinkSync(path)}: replaced, never followed)\n`, mode: 0 };
    return { content: readFileSync(path, "utf8"), mode: st.mode & 0o777 };
  } catch {
    return undefined;
  }
}

/** Compares `rendered` with the files under `root`. Pure apart from reading. */
export function planFiles(root: string, rendered: RenderedFile[]): Plan {
  const changes: FileChange[] = [];
  const unchanged: string[] = [];
  const wanted = new Set(rendered.map((f) => f.path));
  for (const file of rendered) {
    const current = readIfPresent(join(root, file.path));
    if (!current) changes.push({ path: file.path, kind: "added", after: file.content, mode: file.mode });
    else if (current.content !== file.content)
      changes.push({ path: file.path, kind: "changed", before: current.content, after: file.content, mode: file.mode });
    else if (current.mode !== file.mode)
      changes.push({ path: file.path, kind: "mode", before: current.content, after: file.content, mode: file.mode });
    else unchanged.push(file.path);
  }
  for (const path of Object.keys(readState(root).files).sort()) {
    if (wanted.has(path)) continue;
    const current = readIfPresent(join(root, path));
    if (current) changes.push({ path, kind: "removed", before: current.content });
  }
  return { root, changes, unchanged, rendered };
}
