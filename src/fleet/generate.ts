/** generate: render units/ from the model, plan against the disk, and (unless told not to) write. */
import { lstatSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import type { Model } from "../model/types";
import { renderAll } from "../render";
import { applyPlan } from "../write/apply";
import { planFiles, readState, STATE_FILE, type Plan } from "../write/plan";

/** Renders and plans; writes only when `write` is true. Throws UsageError for values a target cannot represent. */
export function generateUnits(model: Model, options: { write: boolean }): Plan {
  const plan = planFiles(model.paths.root, renderAll(model));
  if (options.write) applyPlan(plan, model.paths);
  return plan;
}

/** "2 added, 1 changed, 1 removed" or "up to date". */
export function summarizePlan(plan: Plan): string {
  const count = (kind: string) => plan.changes.filter((c) => c.kind === kind).length;
  const parts = (["added", "changed", "removed", "mode"] as const)
    .map((k) => [k, count(k)] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k === "mode" ? "mode changed" : k}`);
  return parts.length ? parts.join(", ") : "up to date";
}

/**
 * Files under units/ that orchestrate neither renders now nor recorded as written earlier (those are
 * "stale" in the plan): e.g. an `intruder.conf` dropped into units/supervisor/. The private supervisord
 * does not load them (its [include] lists the generated programs only), but `generate --check` names them.
 * Relative paths, sorted; symlinks are listed, never followed.
 */
export function strangers(model: Model, plan: Plan): string[] {
  const known = new Set([
    ...plan.rendered.map((f) => f.path),
    ...Object.keys(readState(model.paths.root).files),
    STATE_FILE,
  ]);
  const found: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const rel = relative(model.paths.root, path);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (!known.has(rel) && !/^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name)) found.push(rel);
    }
  };
  walk(join(model.paths.root, "units"));
  return found.sort();
}
