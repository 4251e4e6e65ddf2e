/**
 * Renders a procedure's progress events for people: `[2/6] title`, indented detail lines, the verify
 * table of a step, and `✓ ok — summary (12 ms)`; notes outside the steps go to stdout or stderr.
 */
import type { Progress, ProgressEvent, StepStatus } from "../../progress/progress";
import { STATUS_MARK } from "../../progress/steps";
import { paint, type Context } from "../context";
import { duration } from "../format";
import { printChecks } from "./verify-table";

const COLOUR: Record<StepStatus, "green" | "red" | "yellow" | "dim"> = {
  ok: "green",
  failed: "red",
  skipped: "dim",
  warning: "yellow",
  "rolled back": "yellow",
};

/** A {@link Progress} that writes each event to the context's streams as it arrives. */
export function printProgress(ctx: Pick<Context, "stdout" | "stderr" | "color">): Progress {
  const out = (text: string) => ctx.stdout.write(text);
  return {
    emit(event: ProgressEvent): void {
      switch (event.type) {
        case "step-began": {
          const label = event.total ? `${event.number}/${event.total}` : String(event.number);
          out(`${paint(ctx, "bold", `[${label}]`)} ${event.title}\n`);
          break;
        }
        case "detail":
          out(`      ${event.line}\n`);
          break;
        case "checks":
          printChecks(ctx, event.checks, (line) => out(`      ${line}\n`));
          break;
        case "step-ended": {
          const { status, summary, ms } = event.record;
          const mark = paint(ctx, COLOUR[status], `${STATUS_MARK[status]} ${status}`);
          out(`      ${mark}${summary ? ` — ${summary}` : ""} ${paint(ctx, "dim", `(${duration(ms)})`)}\n`);
          break;
        }
        case "rolled-back":
          ctx.stderr.write(
            `${paint(ctx, "red", "✗")} ${event.command}: step ${event.step ? `${event.step.number} (${event.step.title})` : "?"} failed: ${event.reason}\n` +
              `  rolled back: ${event.filesNote}${event.backendNote}.${event.restored ? " Nothing changed." : ""}\n`,
          );
          break;
        case "note":
          if (event.level === "info") out(`${event.text}\n`);
          else if (event.level === "notice") ctx.stderr.write(`note: ${event.text}\n`);
          else ctx.stderr.write(`${event.text}\n`);
          break;
      }
    },
  };
}
