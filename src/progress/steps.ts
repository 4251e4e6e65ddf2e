/**
 * Numbered steps with timings on top of {@link Progress}: `begin(title)` emits the start at once (so a slow
 * step shows what it is doing), the returned {@link Step} carries detail lines and ends exactly once. The
 * finished steps are kept as records (for --json and the journal). The procedure decides; this only reports.
 */
import type { ServiceCheck } from "../verify/verify";
import type { Progress, StepRecord, StepStatus } from "./progress";
import { duration } from "./text";

export type { StepRecord, StepStatus } from "./progress";

/** One running step: add detail lines, then finish it exactly once. */
export interface Step {
  detail(line: string): void;
  /** verification results belonging to this step (rendered as the verify table) */
  checks(checks: ServiceCheck[]): void;
  ok(summary?: string): void;
  warn(summary: string): void;
  fail(summary: string): void;
  skip(summary: string): void;
}

/** Something that starts steps: a {@link StepReporter}, or {@link subSteps} of one numbered step. */
export interface StepSink {
  begin(title: string): Step;
}

/** Marks of the outcomes in detail lines of sub-steps (the CLI colours the numbered ones itself). */
export const STATUS_MARK: Record<StepStatus, string> = {
  ok: "✓",
  failed: "✗",
  skipped: "-",
  warning: "!",
  "rolled back": "↺",
};

/** Numbers, times and records the steps of one procedure run, emitting each event to `progress`. */
export class StepReporter implements StepSink {
  readonly records: StepRecord[] = [];
  private count = 0;

  constructor(
    private readonly progress: Progress,
    private readonly total?: number,
  ) {}

  /** Starts step N+1 and emits its title at once. */
  begin(title: string): Step {
    const number = ++this.count;
    const started = performance.now();
    this.progress.emit({ type: "step-began", number, total: this.total, title });
    const details: string[] = [];
    let done = false;
    const finish = (status: StepStatus, summary = "") => {
      if (done) return;
      done = true;
      const record: StepRecord = { number, title, status, summary, details, ms: performance.now() - started };
      this.records.push(record);
      this.progress.emit({ type: "step-ended", record });
    };
    return {
      detail: (line) => {
        details.push(line);
        this.progress.emit({ type: "detail", number, line });
      },
      checks: (checks) => this.progress.emit({ type: "checks", number, checks }),
      ok: (s) => finish("ok", s),
      warn: (s) => finish("warning", s),
      fail: (s) => finish("failed", s),
      skip: (s) => finish("skipped", s),
    };
  }

  /** A line outside the numbered steps. */
  note(text: string, level: "info" | "notice" | "error" = "info"): void {
    this.progress.emit({ type: "note", level, text });
  }

  /** Marks earlier steps as rolled back (after a failure undid them). */
  rolledBack(numbers: number[]): void {
    for (const r of this.records) if (numbers.includes(r.number) && r.status === "ok") r.status = "rolled back";
  }

  /** The first step that failed, if any. */
  failed(): StepRecord | undefined {
    return this.records.find((r) => r.status === "failed");
  }
}

/**
 * The checks of one numbered step shown as its detail lines, not numbered themselves: test-start inside
 * add-service/modify-service is step 5 of 7, not steps 5 to 12 of "7". Its failure is the parent's.
 */
export function subSteps(parent: Step): StepSink {
  return {
    begin(title: string): Step {
      const started = performance.now();
      let done = false;
      const finish = (status: StepStatus, summary = "") => {
        if (done) return;
        done = true;
        parent.detail(
          `${STATUS_MARK[status]} ${title}${summary ? ` — ${summary}` : ""} (${duration(performance.now() - started)})`,
        );
      };
      return {
        detail: (line) => parent.detail(`  ${line}`),
        checks: (checks) => parent.checks(checks),
        ok: (s) => finish("ok", s),
        warn: (s) => finish("warning", s),
        fail: (s) => finish("failed", s),
        skip: (s) => finish("skipped", s),
      };
    },
  };
}
