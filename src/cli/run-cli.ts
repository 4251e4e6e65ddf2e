/** Runs the command tree and turns thrown errors into messages and exit codes (README "Exit codes"). */
import { CommanderError } from "commander";
import { ManifestError, OrchestrateError } from "../errors";
import { processContext } from "./context";
import { diskError } from "../write/atomic";
import { formatProblems } from "./format";
import { buildProgram } from "./program";

/** Parses argv (without node and script), runs the command, returns the exit code. Never throws for user errors. */
export async function runCli(argv: string[]): Promise<number> {
  // a reader that goes away (`orchestrate recover | head`) must not stop an operation halfway
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  const program = buildProgram();
  const ctx = processContext({ color: !argv.includes("--no-color") });
  process.exitCode = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors (unknown option, missing argument) are bad input
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ManifestError) {
      ctx.stderr.write(formatProblems(ctx, err.problems, err.file));
      return 2;
    }
    // a write outside src/write (a library's own file) on a full or read-only disk is still not a bug
    if (!(err instanceof OrchestrateError)) {
      const disk = diskError(err, (err as NodeJS.ErrnoException)?.path ?? "a file");
      if (disk !== err) err = disk;
    }
    if (err instanceof OrchestrateError) {
      ctx.stderr.write(`error: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ""}`);
      return err.exitCode;
    }
    throw err;
  }
}
