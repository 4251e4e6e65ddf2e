/**
 * The one change pipeline: add-service, modify-service and remove-service only BUILD a {@link ChangePlan}
 * (./add-service.ts, ./modify-service.ts, ./remove-service.ts); {@link runChange} carries every plan through
 * the same skeleton — the manifest lock, the current manifest, the proposed one validated and rendered
 * (so a value the targets cannot represent is refused before anything is written), dry run, snapshot,
 * the manager's pre-check, then the plan's steps as one transaction, and the verified state remembered
 * as the last good one. As changesets splits assembleReleasePlan (pure) from applyReleasePlan (the writes).
 */
import { createTwoFilesPatch } from "diff";
import { isDeepStrictEqual } from "node:util";
import { createBackend } from "../backend";
import type { Backend } from "../backend/types";
import { reapTestStart } from "../fleet/test-start-record";
import { generateUnits, summarizePlan } from "../fleet/generate";
import { waitReady, waitStarted } from "../fleet/readiness";
import { requireHostUsers } from "../fleet/host-users";
import { rollOut } from "../fleet/rollout";
import { testStart } from "../fleet/test-start";
import { saveLastGood } from "../history/last-good";
import { scanServiceCode } from "../lint/service";
import { projectFromSource, type LoadedProject } from "../manifest";
import { editJsonText } from "../manifest/edit";
import { manifestPath, readManifestFile, type ManifestSource } from "../manifest/load";
import { findService } from "../model/lookup";
import type { Model, RenderedFile, Service } from "../model/types";
import type { Operation } from "../progress/operation";
import { subSteps, type Step, type StepRecord } from "../progress/steps";
import { counted } from "../progress/text";
import { renderAll } from "../render";
import { planDiff } from "../write/apply";
import { writeFileAtomicSync } from "../write/atomic";
import { withManifestLock } from "../write/lock";
import { planFiles } from "../write/plan";
import { verifyServices, type ServiceCheck } from "../verify/verify";
import { stillHeld } from "./port-checks";
import { takeSnapshot } from "./snapshot";
import { step, StepFailed, transact, type Rollback, type TransactionState } from "./transaction";

/** The manifest after a change, validated with the rest and rendered once. */
export type ProposedProject = LoadedProject & { rendered: RenderedFile[] };

/** One step of a change, in the order it runs. The pipeline knows how to run each kind. */
export type ChangeStep =
  /** a step that only reports what the plan decided (the port chosen, the changes, the dependents) */
  | { kind: "report"; title: string; details: string[]; summary: string }
  | { kind: "write-manifest"; title: string; summary?: string }
  /** hardcoded ports in the service's own files (warnings, never fatal) */
  | { kind: "scan-code"; service: string }
  | { kind: "generate"; title: string }
  /** run the service alone, as generated, before the manager is touched */
  | { kind: "test-start"; service: string; title: string; /** default instance 0 */ instance?: number }
  | { kind: "skip"; title: string; reason: string }
  /**
   * stop a running service's programs (remove-service: every instance; scale-down: `programs`, the
   * removed instances), to be started again on rollback
   */
  | { kind: "stop"; service: string; programs?: string[] }
  /** give the manager the new configuration and wait for `start` to be ready */
  | {
      kind: "apply";
      title: string;
      start: string[];
      /** only these programs of `start` (scale-up: the new instances); default every instance */
      startPrograms?: string[];
      /** programs to start again if the change is rolled back after this step */
      restartAfterRollback: string[];
      /** when the manager is not running: a warning or a skip, with this summary */
      whenDown: { status: "warn" | "skip"; summary: string };
    }
  /** verify every service; those in `focus` must pass, the others must not be newly broken */
  | {
      kind: "verify";
      title: string;
      focus: string[];
      /** ports the change gave up: each must be free now */
      released: { port: number; label: string }[];
      whenDown: string;
    };

/** A change, as a plan builder describes it. */
export interface ChangePlan {
  /** for the journal and messages, e.g. "add-service quotes" */
  command: string;
  before: LoadedProject;
  after: ProposedProject;
  /** human-readable changes for the journal, e.g. "port 8014 → 8021" */
  changes: string[];
  steps: ChangeStep[];
  /** the manager must answer before anything is written (false: the plan only writes files) */
  touchesManager: boolean;
  /** manager steps act only while this service is enabled (modify-service of a disabled service writes only) */
  requireEnabled?: string;
  /** lines shown before the diff with --dry-run, e.g. "port chosen: 8050" */
  dryRunNotes: string[];
  /** what a successful change prints, e.g. "added quotes on port 8050" */
  success: string;
  /** keep the result as the last good state (default true; false for add-service --no-start: nothing ran) */
  rememberGood?: boolean;
}

/** The text diffs a dry run shows. */
export interface DryRun {
  notes: string[];
  manifestDiff: string;
  /** unified diff of units/, or "units/: no change" */
  unitsDiff: string;
}

/** What {@link runChange} returns. `ok` false means rolled back (see `rollback`). */
export interface ChangeResult {
  ok: boolean;
  steps: StepRecord[];
  /** set with --dry-run: nothing was written */
  dryRun?: DryRun;
  rollback?: Rollback;
  /** the plan's success line when ok */
  summary?: string;
}

/**
 * Opens a change: takes the manifest lock for the whole change, reads the current (valid) manifest and
 * stops a test-start child a killed orchestrate left running; then `build` makes the plan and the
 * pipeline runs it (or, with `dryRun`, only shows it).
 * @throws ManifestError (exit 2) when the current manifest is invalid: fix it before changing it; whatever
 *   `build` throws (UsageError: bad input, nothing written).
 */
export async function runChange(
  op: Operation,
  build: (before: LoadedProject, manager: { label: string }) => Promise<ChangePlan>,
  options: { dryRun?: boolean } = {},
): Promise<ChangeResult> {
  const path = manifestPath(op.manifest);
  return withManifestLock(path, async () => {
    const before = projectFromSource(readManifestFile(path));
    for (const note of await reapTestStart(before.model.paths))
      op.progress.emit({ type: "note", level: "notice", text: note });
    const probe = createBackend(before.model, op.backend);
    probe.close();
    const plan = await build(before, { label: probe.label });
    if (options.dryRun) return { ok: true, steps: [], dryRun: dryRunOf(plan) };
    return execute(op, path, plan);
  });
}

/**
 * The manifest after the change, validated with the rest and rendered once. Only what changed is rewritten
 * (the user's formatting stays); a full rewrite only if editing went astray.
 * @throws ManifestError / UsageError (exit 2): nothing has been written yet.
 */
export function proposedProject(before: LoadedProject, raw: unknown): ProposedProject {
  let text = editJsonText(before.source.text, before.source.raw, raw);
  if (!isDeepStrictEqual(JSON.parse(text), raw)) text = JSON.stringify(raw, null, 2) + "\n";
  const source: ManifestSource = { path: before.source.path, text, raw };
  const project = projectFromSource(source);
  return { ...project, rendered: renderAll(project.model) };
}

function dryRunOf(plan: ChangePlan): DryRun {
  const manifestDiff = createTwoFilesPatch(
    "a/manifest.json",
    "b/manifest.json",
    plan.before.source.text,
    plan.after.source.text,
    undefined,
    undefined,
    { context: 3 },
  ).replace(/^=+\n/, "");
  const files = planFiles(plan.after.model.paths.root, plan.after.rendered);
  return {
    notes: plan.dryRunNotes,
    manifestDiff,
    unitsDiff: files.changes.length ? planDiff(files) : "units/: no change\n",
  };
}

async function execute(op: Operation, path: string, plan: ChangePlan): Promise<ChangeResult> {
  const { after, before } = plan;
  // before anything is written: a user= this host lacks makes supervisord refuse the whole config
  await requireHostUsers(after.model);
  const snapshot = takeSnapshot(
    after.model.paths,
    before.source.text,
    after.rendered.map((f) => f.path),
  );
  // the files as they were: a rollout brings an instance that fails back on these
  const previous: RenderedFile[] = [...snapshot.files].flatMap(([path, f]) =>
    f === null ? [] : [{ path, content: f.content, mode: f.mode }],
  );
  const backend = createBackend(after.model, op.backend);
  try {
    // a manager that cannot be driven is bad news before anything is written, not a "starts with the fleet" later
    if (plan.touchesManager) await backend.requireReachable();
    const gate = plan.requireEnabled === undefined || findService(after.model, plan.requireEnabled).enabled;
    const running = plan.touchesManager && gate && (await backend.isRunning());
    let baseline: Set<string> | undefined;
    const result = await transact(
      op.progress,
      { command: plan.command, paths: after.model.paths, snapshot, changes: plan.changes, total: plan.steps.length },
      async (state) => {
        for (const s of plan.steps) {
          if ((s.kind === "stop" || s.kind === "apply") && running && baseline === undefined)
            baseline = await failingNow(before.model, backend);
          await runStep(state, s, { path, plan, backend, running, baseline: baseline ?? new Set(), previous });
        }
        if (plan.rememberGood !== false) saveLastGood(after.model.paths, after.source.text, after.rendered);
      },
    );
    return { ...result, summary: result.ok ? plan.success : undefined };
  } finally {
    backend.close();
  }
}

interface StepContext {
  path: string;
  plan: ChangePlan;
  backend: Backend;
  running: boolean;
  /** services failing verification before the change (not its fault) */
  baseline: Set<string>;
  /** the generated files before the change (the snapshot), for a rollout's failed instance */
  previous: RenderedFile[];
}

async function runStep(state: TransactionState, s: ChangeStep, c: StepContext): Promise<void> {
  const { after } = c.plan;
  const model = after.model;
  switch (s.kind) {
    case "report":
      return step(
        state,
        s.title,
        async (st) => s.details.forEach((d) => st.detail(d)),
        () => s.summary,
      );
    case "skip":
      state.report.begin(s.title).skip(s.reason);
      return;
    case "write-manifest":
      return step(
        state,
        s.title,
        async () => writeFileAtomicSync(c.path, after.source.text),
        () => s.summary,
      );
    case "scan-code":
      await step(
        state,
        "scan the service's code for hardcoded ports",
        async (st) => {
          const findings = await scanServiceCode(model, findService(model, s.service));
          for (const f of findings) st.detail(`warning ${f.file}:${f.line}: ${f.text} — ${f.fix}`);
          return findings.length;
        },
        (n) => (n ? `${counted(n, "warning")} (not fatal)` : "no hardcoded port"),
      );
      return;
    case "generate":
      await step(
        state,
        s.title,
        async () => summarizePlan(generateUnits(model, { write: true })),
        (x) => x,
      );
      return;
    case "test-start":
      await step(
        state,
        s.title,
        async (st) => {
          const service = findService(model, s.service);
          const result = await testStart(model, service, subSteps(st), service.instances[s.instance ?? 0]);
          if (!result.ok) {
            const tail = result.output.trimEnd().split("\n").slice(-10).join("\n");
            throw new StepFailed(`${result.failure}${tail ? `\n${tail.replace(/^/gm, "        | ")}` : ""}`);
          }
        },
        () => "passed",
      );
      return;
    case "stop": {
      const old = c.plan.before.model.services.find((x) => x.name === s.service);
      const programs = s.programs ?? old?.instances.map((i) => i.program) ?? [s.service];
      const title = `stop ${s.programs ? programs.join(" ") : s.service}`;
      const enabled = old?.enabled ?? false;
      if (!c.running) return state.report.begin(title).skip("the process manager is not running");
      if (!enabled) return state.report.begin(title).skip("disabled: not running");
      await step(
        state,
        title,
        async () => {
          state.backendTouched = c.backend;
          state.restartAfterRollback.push(...programs);
          await Promise.all(programs.map((p) => c.backend.stop(p)));
        },
        () => "stopped",
      );
      return;
    }
    case "apply": {
      if (!c.running) {
        const begun = state.report.begin("apply");
        if (s.whenDown.status === "warn") begun.warn(s.whenDown.summary);
        else begun.skip(s.whenDown.summary);
        return;
      }
      state.restartAfterRollback.push(...s.restartAfterRollback);
      const start = s.start.map((n) => findService(model, n));
      const only = s.startPrograms ? new Set(s.startPrograms) : undefined;
      // a running service with instances whose programs change is rolled, one instance at a time (not a scale-only change)
      const rolled = only
        ? []
        : start.filter(
            (x) =>
              x.type === "service" &&
              x.autostart &&
              x.instances.length >= 2 &&
              c.plan.before.model.services.some((b) => b.name === x.name && b.enabled && b.autostart),
          );
      await step(state, s.title, (st) => applyAndWait(state, st, c.backend, model, start, only, rolled, c));
      return;
    }
    case "verify": {
      if (!c.running) return state.report.begin("verify").skip(s.whenDown);
      await step(
        state,
        s.title,
        async (st) => {
          const checks = await verifyAfterChange(st, model, c.backend, c.baseline, s.focus);
          for (const { port, label } of s.released) {
            const holder = await stillHeld(port);
            if (holder) throw new StepFailed(`${label} ${port} is still held by ${holder}`);
            st.detail(`${label} ${port} released`);
          }
          return checks;
        },
        (checks) => `${checks.filter((x) => x.ok).length}/${checks.length} verified`,
      );
      return;
    }
  }
}

/** Services verified before the change that fail now (pre-existing failures are not the change's fault). */
async function verifyAfterChange(
  s: Step,
  model: Model,
  backend: Backend,
  baseline: Set<string>,
  focus: string[],
): Promise<ServiceCheck[]> {
  const checks = await verifyServices(model, backend, model.services);
  s.checks(checks);
  const broken = checks.filter((c) => !c.ok && (focus.includes(c.service) || !baseline.has(c.name)));
  if (broken.length) throw new StepFailed(broken.map((c) => `${c.name}: ${c.problems.join("; ")}`).join(" · "));
  return checks;
}

/** Names of services failing verification now (the baseline before a change). */
async function failingNow(model: Model, backend: Backend): Promise<Set<string>> {
  const checks = await verifyServices(model, backend, model.services, { usage: false });
  return new Set(checks.filter((c) => !c.ok).map((c) => c.name));
}

/**
 * Applies the new configuration, starts every instance of `start` (or only the programs in `only`) and every
 * program apply added or changed, in dependency order, and waits for each to be ready and past its
 * startSecs. A service with `autostart: false` is not started.
 */
async function applyAndWait(
  state: TransactionState,
  s: Step,
  backend: Backend,
  model: Model,
  start: Service[],
  only: Set<string> | undefined,
  rolled: Service[],
  c: StepContext,
): Promise<string> {
  state.backendTouched = backend;
  const held = new Set(rolled.flatMap((x) => x.instances.map((i) => i.program)));
  const applied = await backend.apply(held.size ? { select: (p) => !held.has(p) } : undefined);
  s.detail(
    `added ${applied.added.join(" ") || "none"}, changed ${applied.changed.join(" ") || "none"}, removed ${applied.removed.join(" ") || "none"}`,
  );
  // programs have autostart=false (src/render/supervisord/programs.ts): every program apply added or changed (e.g. a
  // dependent whose {url:NAME} moved) is started here too, in dependency order, not only the changed service
  const touched = new Set([...applied.added, ...applied.changed]);
  const names = new Set([
    ...start.map((x) => x.name),
    ...model.services.filter((x) => x.instances.some((i) => touched.has(i.program))).map((x) => x.name),
  ]);
  const ordered = model.levels
    .flat()
    .filter((n) => names.has(n))
    .map((n) => findService(model, n))
    .filter((x) => x.enabled);
  for (const service of ordered.filter((x) => !x.autostart))
    s.detail(`${service.name}: not started (autostart: false; "orchestrate start ${service.name}" starts it)`);
  for (const service of ordered.filter((x) => x.autostart)) {
    if (rolled.includes(service)) {
      s.detail(`rolling restart of ${service.name}: ${service.instances.map((i) => i.label).join(" ")}`);
      const r = await rollOut(c.plan.after.model, backend, service, {
        previous: c.previous,
        onLine: (l) => s.detail(`  ${l}`),
      });
      if (!r.ok) {
        const f = r.failed!;
        throw new StepFailed(
          `${f.name}: ${f.reason} (rollout stopped: ${f.restored ? "back on its previous configuration" : "not ready on its previous configuration either"}${r.replaced.length ? `; ${r.replaced.join(" ")} had the new one` : ""}${r.notReplaced.length ? `; not replaced: ${r.notReplaced.join(" ")}` : ""})${f.logTail ? `\n${f.logTail.replace(/^/gm, "        | ")}` : ""}`,
        );
      }
      continue;
    }
    const asked = start.some((x) => x.name === service.name);
    const instances = service.instances.filter((i) => (asked ? !only || only.has(i.program) : touched.has(i.program)));
    await Promise.all(instances.map((i) => backend.start(i.program)));
    for (const instance of instances) {
      const r = await waitReady(backend, service, { instance });
      if (!r.ok)
        throw new StepFailed(`${r.name}: ${r.reason}${r.logTail ? `\n${r.logTail.replace(/^/gm, "        | ")}` : ""}`);
      s.detail(`${r.name} ready in ${Math.round(r.ms)} ms${r.port ? ` (port ${r.port})` : ""}`);
    }
  }
  await waitStarted(
    backend,
    ordered.filter((x) => x.autostart),
  ); // port up is not yet RUNNING: verify wants RUNNING past startsecs
  return (
    [...applied.added, ...applied.changed, ...applied.removed, ...(applied.held ?? [])].join(", ") ||
    "no program changed"
  );
}
