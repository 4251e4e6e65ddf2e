/** Steps shared by add-service, modify-service and remove-service. */
import { createTwoFilesPatch } from "diff";
import type { Context } from "../cli/context";
import type { Backend } from "../backend/types";
import { ManifestError } from "../errors";
import { saveLastGood } from "../history/last-good";
import { projectFromSource, type LoadedProject } from "../manifest";
import { manifestPath, readManifestFile, type ManifestSource } from "../manifest/load";
import { editJsonText } from "../manifest/edit";
import { isDeepStrictEqual } from "node:util";
import { withManifestLock } from "../write/lock";
import { reapTestStart } from "./test-start-record";
import type { Model, Service } from "../model/types";
import { renderAll } from "../render";
import { planDiff } from "../write/apply";
import { planFiles } from "../write/plan";
import { verifyServices, type ServiceCheck } from "../verify/verify";
import { waitReady, waitStarted } from "./readiness";
import { StepFailed, type TransactionState } from "./transaction";
import { printChecks } from "./verify-table";
import type { Step } from "./report";

/**
 * Opens a change: takes the manifest lock for the whole change, reads the current (valid) manifest and
 * stops a test-start child a killed orchestrate left running. `body` gets the manifest path and the project.
 * @throws ManifestError (exit 2) when the current manifest is invalid: fix it before changing it.
 */
export async function withChange(
  ctx: Context,
  body: (path: string, before: LoadedProject) => Promise<number>,
): Promise<number> {
  const path = manifestPath(ctx.manifest);
  return withManifestLock(path, async () => {
    const before = currentProject(path);
    for (const note of await reapTestStart(before.model.paths)) ctx.stderr.write(`note: ${note}\n`);
    return body(path, before);
  });
}

/** The manifest as it is now; it must be valid before a change (fix it first otherwise). */
export function currentProject(path: string): LoadedProject {
  return projectFromSource(readManifestFile(path));
}

/**
 * The manifest after the change, validated with the rest and rendered once (so a value the targets cannot
 * represent is refused now, before anything is written).
 * @throws ManifestError / UsageError (exit 2): nothing has been written yet.
 */
export function proposedProject(
  before: LoadedProject,
  raw: unknown,
): LoadedProject & { rendered: ReturnType<typeof renderAll> } {
  const path = before.source.path;
  // only what changed is rewritten (the user's formatting stays); a full rewrite only if editing went astray
  let text = editJsonText(before.source.text, before.source.raw, raw);
  if (!isDeepStrictEqual(JSON.parse(text), raw)) text = JSON.stringify(raw, null, 2) + "\n";
  const source: ManifestSource = { path, text, raw };
  const project = projectFromSource(source);
  return { ...project, rendered: renderAll(project.model) };
}

/** `--dry-run`: the manifest diff and the units/ diff, nothing written. */
export function printDryRun(
  ctx: Context,
  before: LoadedProject,
  after: LoadedProject & { rendered: ReturnType<typeof renderAll> },
): void {
  ctx.stdout.write(
    createTwoFilesPatch(
      "a/manifest.json",
      "b/manifest.json",
      before.source.text,
      after.source.text,
      undefined,
      undefined,
      { context: 3 },
    ).replace(/^=+\n/, ""),
  );
  const plan = planFiles(after.model.paths.root, after.rendered);
  ctx.stdout.write(plan.changes.length ? planDiff(plan) : "units/: no change\n");
  ctx.stdout.write("dry run: nothing written\n");
}

/** Services verified before the change that fail now (pre-existing failures are not the change's fault). */
export async function verifyAfterChange(
  ctx: Context,
  s: Step,
  model: Model,
  backend: Backend,
  baseline: Set<string>,
  focus: string[],
): Promise<ServiceCheck[]> {
  const checks = await verifyServices(model, backend, model.services);
  printChecks(ctx, checks, (line) => s.detail(line));
  const broken = checks.filter((c) => !c.ok && (focus.includes(c.name) || !baseline.has(c.name)));
  if (broken.length) throw new StepFailed(broken.map((c) => `${c.name}: ${c.problems.join("; ")}`).join(" · "));
  return checks;
}

/** Names of services failing verification now (the baseline before a change). */
export async function failingNow(model: Model, backend: Backend): Promise<Set<string>> {
  const checks = await verifyServices(model, backend, model.services, { usage: false });
  return new Set(checks.filter((c) => !c.ok).map((c) => c.name));
}

/** Applies the new configuration, starts `start` and waits for each to be ready and past its startSecs. */
export async function applyAndWait(
  state: TransactionState,
  s: Step,
  backend: Backend,
  start: Service[],
): Promise<string> {
  state.backendTouched = backend;
  const applied = await backend.apply();
  s.detail(
    `added ${applied.added.join(" ") || "none"}, changed ${applied.changed.join(" ") || "none"}, removed ${applied.removed.join(" ") || "none"}`,
  );
  for (const service of start) {
    await backend.start(service.name);
    const r = await waitReady(backend, service);
    if (!r.ok)
      throw new StepFailed(
        `${service.name}: ${r.reason}${r.logTail ? `\n${r.logTail.replace(/^/gm, "        | ")}` : ""}`,
      );
    s.detail(`${service.name} ready in ${Math.round(r.ms)} ms`);
  }
  await waitStarted(backend, start); // port up is not yet RUNNING: verify wants RUNNING past startsecs
  return [...applied.added, ...applied.changed, ...applied.removed].join(", ") || "no program changed";
}

/** Remembers the verified state as the last good one. */
export function rememberGood(project: LoadedProject & { rendered: ReturnType<typeof renderAll> }): void {
  saveLastGood(project.model.paths, project.source.text, project.rendered);
}

export { ManifestError };
