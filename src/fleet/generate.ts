/** generate: render units/ from the model, plan against the disk, and (unless told not to) write. */
import type { Model } from "../model/types";
import { renderAll } from "../render";
import { applyPlan } from "../write/apply";
import { planFiles, type Plan } from "../write/plan";

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
