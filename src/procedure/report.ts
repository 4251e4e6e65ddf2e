/**
 * Shows a procedure's numbered steps as they run, each with its outcome and time, and keeps a record
 * of them (for --json and for the journal). The procedure decides what happens; this only reports.
 */
import { paint, type Context } from "../cli/context";
import { duration } from "../cli/format";

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

/** One running step: add detail lines, then finish it exactly once. */
export interface Step {
  detail(line: string): void;
  ok(summary?: string): void;
  warn(summary: string): void;
  fail(summary: string): void;
  skip(summary: string): void;
}

const MARK: Record<StepStatus, [string, "green" | "red" | "yellow" | "dim"]> = {
  ok: ["✓", "green"],
  failed: ["✗", "red"],
  skipped: ["-", "dim"],
  warning: ["!", "yellow"],
  "rolled back": ["↺", "yellow"],
};

/** Prints numbered steps (`[2/6] title`, then `✓ ok — summary (12 ms)`) to ctx.stdout and records them. */
export class StepReporter {
  readonly records: StepRecord[] = [];
  private count = 0;

  constructor(
    private readonly ctx: Pick<Context, "stdout" | "color">,
    private readonly total?: number,
    private readonly quiet = false,
  ) {}

  /** Starts step N+1 and prints its title at once, so a slow step shows what it is doing. */
  begin(title: string): Step {
    const number = ++this.count;
    const started = performance.now();
    const label = this.total ? `${number}/${this.total}` : String(number);
    if (!this.quiet) this.ctx.stdout.write(`${paint(this.ctx, "bold", `[${label}]`)} ${title}\n`);
    const details: string[] = [];
    let done = false;
    const finish = (status: StepStatus, summary = "") => {
      if (done) return;
      done = true;
      const ms = performance.now() - started;
      this.records.push({ number, title, status, summary, details, ms });
      if (this.quiet) return;
      const [mark, colour] = MARK[status];
      this.ctx.stdout.write(
        `      ${paint(this.ctx, colour, `${mark} ${status}`)}${summary ? ` — ${summary}` : ""} ${paint(this.ctx, "dim", `(${duration(ms)})`)}\n`,
      );
    };
    return {
      detail: (line) => {
        details.push(line);
        if (!this.quiet) this.ctx.stdout.write(`      ${line}\n`);
      },
      ok: (s) => finish("ok", s),
      warn: (s) => finish("warning", s),
      fail: (s) => finish("failed", s),
      skip: (s) => finish("skipped", s),
    };
  }

  /** Marks earlier steps as rolled back (after a failure undid them). */
  rolledBack(numbers: number[]): void {
    for (const r of this.records) if (numbers.includes(r.number) && r.status === "ok") r.status = "rolled back";
  }
}

/** Something that starts steps: a {@link StepReporter}, or {@link subSteps} of one numbered step. */
export type StepSink = Pick<StepReporter, "begin">;

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
          `${MARK[status][0]} ${title}${summary ? ` — ${summary}` : ""} (${duration(performance.now() - started)})`,
        );
      };
      return {
        detail: (line) => parent.detail(`  ${line}`),
        ok: (s) => finish("ok", s),
        warn: (s) => finish("warning", s),
        fail: (s) => finish("failed", s),
        skip: (s) => finish("skipped", s),
      };
    },
  };
}
