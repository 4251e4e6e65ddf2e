/**
 * How a procedure tells whoever watches it what it is doing: numbered steps that begin, carry detail lines
 * and end with an outcome and a duration. Procedures emit these events and return their results; they never
 * print. The CLI renders the events (src/cli/present/progress.ts); tests record them ({@link RecordedProgress}).
 * The shape follows docker compose's progress events (pkg/progress): the command layer decides what a user sees.
 */
import type { ServiceCheck } from "../verify/verify";

/** Outcome of a step; "rolled back" replaces "ok" once a later failure undid it. */
export type StepStatus = "ok" | "failed" | "skipped" | "warning" | "rolled back";

/** A finished step as kept for --json and the journal. */
export interface StepRecord {
  /** 1-based, in the order begun */
  number: number;
  title: string;
  status: StepStatus;
  summary: string;
  details: string[];
  /** duration in ms */
  ms: number;
}

/** One event of a running procedure. `number` is the step's 1-based number. */
export type ProgressEvent =
  | { type: "step-began"; number: number; total?: number; title: string }
  | { type: "detail"; number: number; line: string }
  /** verification results of a step (the CLI renders them as the verify table) */
  | { type: "checks"; number: number; checks: ServiceCheck[] }
  | { type: "step-ended"; record: StepRecord }
  /** a change failed at a step and everything it had done was put back */
  | {
      type: "rolled-back";
      command: string;
      /** the step that failed, when one had begun */
      step?: { number: number; title: string };
      reason: string;
      /** what happened to the files: "manifest and units/ restored byte for byte", or why restoring failed */
      filesNote: string;
      /** what happened to the process manager, e.g. ", supervisord re-applied to the old configuration" */
      backendNote: string;
      /** false when re-applying the old configuration failed too */
      restored: boolean;
    }
  /** a line outside the numbered steps: "info" goes with the output, "notice" and "error" to the error stream */
  | { type: "note"; level: "info" | "notice" | "error"; text: string };

/** The sink of a procedure's events. */
export interface Progress {
  emit(event: ProgressEvent): void;
}

/** Drops every event (a procedure run for its result only). */
export const silentProgress: Progress = { emit: () => undefined };

/** Keeps every event in order: for tests, and for callers that render afterwards. */
export class RecordedProgress implements Progress {
  readonly events: ProgressEvent[] = [];

  emit(event: ProgressEvent): void {
    this.events.push(event);
  }

  /** The finished steps, in the order they ended. */
  steps(): StepRecord[] {
    return this.events.flatMap((e) => (e.type === "step-ended" ? [e.record] : []));
  }

  /** Every detail line and note, as text (for assertions). */
  lines(): string[] {
    return this.events.flatMap((e) => (e.type === "detail" ? [e.line] : e.type === "note" ? [e.text] : []));
  }
}
