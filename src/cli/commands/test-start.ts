/** `orchestrate test-start NAME`: the runbooks' step 5 — run the service alone and check it, before supervisord is touched. */
import type { Command } from "commander";
import { projectOf } from "../project";
import { parseTarget } from "../../model/lookup";
import { generateUnits } from "../../fleet/generate";
import { StepReporter } from "../../progress/steps";
import { testStart } from "../../fleet/test-start";
import { UsageError } from "../../errors";
import { action } from "../program";
import { printProgress } from "../present/progress";

/** Adds `test-start`. */
export function registerTestStart(program: Command): void {
  program
    .command("test-start")
    .argument("<name>", "service: NAME (instance 0) or NAME:I")
    .description("run one service alone exactly as generated: listens on ITS port, health, Ctrl+C, port released")
    .addHelpText(
      "after",
      '\nChecks, each with its time: the port is free; the program starts; it listens on its own port within\nreadyTimeout (or: "listens on 8000, expected 8007: hardcoded port?"); the listener is in its process tree;\nhealth answers 2xx; SIGINT stops it within stopTimeout; the port is released.\n\nExample:\n  orchestrate test-start trade_executor\n\nExit: 0 all checks passed · 1 a check failed (with the last lines of its output)',
    )
    .action(
      action(program, async (ctx, name: string) => {
        const { model } = projectOf(ctx);
        const [{ service, instance }] = parseTarget(model, name); // NAME: instance 0
        if (!service.enabled)
          throw new UsageError(`${name} is disabled (enabled: false)`, "enable it in the manifest to test it");
        generateUnits(model, { write: true }); // the launch may need units/bin/envfile-exec and units/env/
        const result = await testStart(model, service, new StepReporter(printProgress(ctx)), instance);
        if (result.ok) {
          ctx.stdout.write(`${name}: test-start passed\n`);
          return 0;
        }
        ctx.stderr.write(`${name}: test-start failed: ${result.failure}\n`);
        const tail = result.output.trimEnd().split("\n").slice(-15).join("\n");
        if (tail) ctx.stderr.write(`last lines of its output:\n${tail.replace(/^/gm, "  | ")}\n`);
        return 1;
      }),
    );
}
