/** Applies a plan: atomic writes, removal of files an earlier generate owned, then the state file. */
import { createTwoFilesPatch } from "diff";
import { lstatSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { OperationError } from "../errors";
import type { Plan } from "./plan";
import { readState, sha256, STATE_FILE } from "./plan";
import { ensureDir, refuseLinkedLogs, removeOwnedFile, removeStaleTemps, writeFileAtomicSync } from "./atomic";
import type { ProjectPaths } from "../model/types";

/**
 * Writes every added/changed file atomically, removes files that were ours and are no longer rendered,
 * creates logs/ and run/ (refusing symlinked log files and a symlinked run/), and records the rendered set in units/.generated.json (written last, so a crash
 * before it leaves the old record: the next generate finishes the job).
 */
export function applyPlan(plan: Plan, paths: Pick<ProjectPaths, "logs" | "run">): void {
  refuseLinkedFolders(plan);
  ensureDir(paths.logs);
  refuseLinkedLogs(paths.logs);
  ensureDir(paths.run, 0o700);
  // first record old and new files as ours, so a file added just before a kill -9 is still removable later
  const before = readState(plan.root).files;
  const rendered: Record<string, string> = {};
  for (const f of plan.rendered) rendered[f.path] = sha256(f.content);
  if (plan.changes.some((c) => c.kind === "added")) writeState(plan.root, { ...before, ...rendered });
  // temp files of a writer killed before its rename: the old files are whole, the temps are litter
  for (const dir of new Set([plan.root, ...plan.rendered.map((f) => dirname(join(plan.root, f.path)))]))
    removeStaleTemps(dir);
  const generatedFolders = new Set(
    Object.keys(before)
      .map((f) => dirname(join(plan.root, f)))
      .filter((folder) => folder.endsWith(".service.d")),
  );
  for (const change of plan.changes) {
    const path = join(plan.root, change.path);
    // a folder only generated files were in (a removed instance's drop-in folder) goes with its last file
    if (change.kind === "removed") removeOwnedFile(path, (folder) => generatedFolders.has(folder));
    else writeFileAtomicSync(path, change.after!, change.mode);
  }
  writeState(plan.root, rendered);
}

/**
 * Refuses a plan whose files lie below a symlinked folder of the project (units/, units/supervisor/, …):
 * program files, env files with secrets and removals would land where the link points.
 * @throws OperationError naming each such folder and its target.
 */
function refuseLinkedFolders(plan: Plan): void {
  const folders = new Set<string>();
  for (const c of plan.changes) {
    const parts = c.path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
  }
  const linked = [...folders].sort().filter((f) => {
    try {
      return lstatSync(join(plan.root, f)).isSymbolicLink();
    } catch {
      return false;
    }
  });
  if (linked.length)
    throw new OperationError(
      `${linked.map((f) => `${join(plan.root, f)} is a symlink to ${readlinkSync(join(plan.root, f))}`).join("; ")}: generated files (and env files with secrets) would be written and removed through it`,
      `make ${linked.length === 1 ? "it a real folder" : "them real folders"} (rm the link; generate recreates it)`,
    );
}

function writeState(root: string, files: Record<string, string>): void {
  writeFileAtomicSync(
    join(root, STATE_FILE),
    JSON.stringify({ $comment: "files written by orchestrate generate; only these are ever removed", files }, null, 2) +
      "\n",
    0o644,
  );
}

/** A unified diff of the plan (what `generate --dry-run` prints). */
export function planDiff(plan: Plan): string {
  return plan.changes
    .map((c) => {
      if (c.kind === "mode") return `mode of ${c.path} → ${c.mode!.toString(8)}\n`;
      const from = c.kind === "added" ? "/dev/null" : `a/${c.path}`;
      const to = c.kind === "removed" ? "/dev/null" : `b/${c.path}`;
      return createTwoFilesPatch(from, to, c.before ?? "", c.after ?? "", undefined, undefined, { context: 3 }).replace(
        /^=+\n/,
        "",
      );
    })
    .join("");
}
