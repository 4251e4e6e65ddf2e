/** The end of add-service, modify-service and remove-service: the dry run's diffs, or the success line, and the exit code. */
import type { ChangeResult } from "../../change/pipeline";
import type { Context } from "../context";

/** Prints what the result says and returns the exit code: 0 done (or dry run), 1 rolled back. */
export function showChange(ctx: Pick<Context, "stdout">, result: ChangeResult): number {
  if (result.dryRun) {
    for (const note of result.dryRun.notes) ctx.stdout.write(`${note}\n`);
    ctx.stdout.write(result.dryRun.manifestDiff);
    ctx.stdout.write(result.dryRun.unitsDiff);
    ctx.stdout.write("dry run: nothing written\n");
    return 0;
  }
  if (result.ok) {
    if (result.summary) ctx.stdout.write(`${result.summary}\n`);
    return 0;
  }
  return 1; // the rollback was shown as it happened (the "rolled-back" progress event)
}
