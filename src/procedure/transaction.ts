/**
 * A change as one transaction (seed 002's checklists): numbered steps with timings; the first failing
 * step stops it and everything is put back — manifest and units/ byte for byte, the process manager
 * re-applied to the old configuration — and the output says which step failed, why, and that nothing
 * changed. Every outcome goes to the journal.
 */
import type { Context } from "../cli/context";
import { paint } from "../cli/context";
import type { Backend } from "../backend/types";
import { recordChange } from "../history/journal";
import type { ProjectPaths } from "../model/types";
import { StepReporter, type Step } from "./report";
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
 * Runs `body` as a transaction. Returns 0 when it completes; 1 after a rollback. Errors that are not
 * StepFailed (bugs, bad input found late) also roll back, then propagate.
 */
export async function transact(
  ctx: Context,
  options: { command: string; paths: ProjectPaths; snapshot: Snapshot; changes: string[]; total: number },
  body: (state: TransactionState) => Promise<void>,
): Promise<number> {
  const state: TransactionState = { report: new StepReporter(ctx, options.total), restartAfterRollback: [] };
  try {
    await body(state);
  } catch (e) {
    const failedStep = state.report.records.find((r) => r.status === "failed");
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
        await state.backendTouched.apply();
        for (const name of state.restartAfterRollback) await state.backendTouched.start(name);
        backendNote = `, ${state.backendTouched.kind === "supervisor" ? "supervisord" : "systemd"} re-applied to the old configuration`;
      } catch (rollbackError) {
        backendNote = `; re-applying the old configuration failed: ${(rollbackError as Error).message} — run "orchestrate restart"`;
        restored = false;
      }
    }
    state.report.rolledBack(state.report.records.filter((r) => r.status === "ok").map((r) => r.number));
    ctx.stderr.write(
      `${paint(ctx, "red", "✗")} ${options.command}: step ${failedStep ? `${failedStep.number} (${failedStep.title})` : "?"} failed: ${reason}\n` +
        `  rolled back: ${filesNote}${backendNote}.${restored ? " Nothing changed." : ""}\n`,
    );
    try {
      recordChange(options.paths, {
        command: options.command,
        changes: options.changes,
        outcome: "rolled back",
        reason,
      });
    } catch {
      /* a full disk must not hide the step's own error */
    }
    if (!(e instanceof StepFailed)) throw e;
    return 1;
  }
  recordChange(options.paths, { command: options.command, changes: options.changes, outcome: "applied" });
  return 0;
}
