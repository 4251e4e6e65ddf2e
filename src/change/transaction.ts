/**
 * A change as one transaction: numbered steps with timings; the first failing step stops it and
 * everything is put back — manifest and units/ byte for byte, the process manager re-applied to the old
 * configuration — and the result says which step failed, why, and whether nothing changed. Every
 * outcome goes to the journal.
 */
import type { Backend } from "../backend/types";
import { recordChange } from "../history/journal";
import type { ProjectPaths } from "../model/types";
import type { Progress } from "../progress/progress";
import { StepReporter, type Step, type StepRecord } from "../progress/steps";
import { restoreSnapshot, type Snapshot } from "./snapshot";

/** Thrown inside a step to fail it with a reason the user reads. */
export class StepFailed extends Error {}

/** What a running transaction has done so far, for its steps and its rollback. */
export interface TransactionState {
  report: StepReporter;
  /** set once the process manager was given the new configuration: rollback must re-apply */
  backendTouched?: Backend;
  /** programs to start again after the rollback re-applied the old configuration (e.g. a removed one) */
  restartAfterRollback: string[];
}

/** How a rolled-back transaction ended, for the caller to show. */
export interface Rollback {
  /** the step that failed, when one had begun */
  step?: Pick<StepRecord, "number" | "title">;
  reason: string;
  /** what happened to the files: "manifest and units/ restored byte for byte", or why restoring failed */
  filesNote: string;
  /** what happened to the process manager, e.g. ", supervisord re-applied to the old configuration" */
  backendNote: string;
  /** false when re-applying the old configuration failed too: something did change */
  restored: boolean;
}

/** What {@link transact} returns: every step, and the rollback when one happened. */
export interface TransactionResult {
  ok: boolean;
  steps: StepRecord[];
  rollback?: Rollback;
}

/** Runs one step: body returns a summary (or nothing); StepFailed marks it failed and propagates. */
export async function step<T>(
  state: TransactionState,
  title: string,
  body: (s: Step) => Promise<T>,
  summary?: (value: T) => string | undefined,
): Promise<T> {
  const s = state.report.begin(title);
  try {
    const value = await body(s);
    s.ok(summary?.(value));
    return value;
  } catch (e) {
    s.fail(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

/**
 * Runs `body` as a transaction, its steps reported to `progress`. Errors that are not StepFailed (bugs,
 * bad input found late) also roll back, then propagate.
 */
export async function transact(
  progress: Progress,
  options: { command: string; paths: ProjectPaths; snapshot: Snapshot; changes: string[]; total: number },
  body: (state: TransactionState) => Promise<void>,
): Promise<TransactionResult> {
  const state: TransactionState = { report: new StepReporter(progress, options.total), restartAfterRollback: [] };
  // before the first write: a change killed half-way (SIGKILL) still shows in `history`, as interrupted
  const id = `${process.pid}-${Date.now().toString(36)}`;
  recordChange(options.paths, { command: options.command, changes: options.changes, outcome: "begun", id });
  try {
    await body(state);
  } catch (e) {
    const failed = state.report.failed();
    const reason = e instanceof Error ? e.message : String(e);
    let backendNote = "";
    let restored = true;
    let filesNote = "manifest and units/ restored byte for byte";
    try {
      restoreSnapshot(options.paths, options.snapshot);
    } catch (restoreError) {
      filesNote = `restoring failed: ${(restoreError as Error).message} (every file is whole: the old or the new version)`;
      restored = false;
    }
    if (state.backendTouched) {
      try {
        const reapplied = await state.backendTouched.apply();
        // programs have autostart=false: what the old configuration brings back (changed, added) is started here
        const again = [...reapplied.changed, ...reapplied.added].map((p) => p.replace(/@\d+$/, ""));
        for (const name of new Set([...state.restartAfterRollback, ...again])) await state.backendTouched.start(name);
        backendNote = `, ${state.backendTouched.label} re-applied to the old configuration`;
      } catch (rollbackError) {
        backendNote = `; re-applying the old configuration failed: ${(rollbackError as Error).message} — run "orchestrate restart"`;
        restored = false;
      }
    }
    state.report.rolledBack(state.report.records.filter((r) => r.status === "ok").map((r) => r.number));
    try {
      recordChange(options.paths, {
        command: options.command,
        changes: options.changes,
        outcome: "rolled back",
        reason,
        id,
      });
    } catch {
      /* a full disk must not hide the step's own error */
    }
    const rollback: Rollback = {
      step: failed && { number: failed.number, title: failed.title },
      reason,
      filesNote,
      backendNote,
      restored,
    };
    progress.emit({ type: "rolled-back", command: options.command, ...rollback });
    if (!(e instanceof StepFailed)) throw e;
    return { ok: false, steps: state.report.records, rollback };
  }
  try {
    recordChange(options.paths, { command: options.command, changes: options.changes, outcome: "applied", id });
  } catch {
    // the change is done and verified: a full disk at its journal line must not make it exit 1 (history
    // then shows it as interrupted, which the begun line says)
  }
  return { ok: true, steps: state.report.records };
}
