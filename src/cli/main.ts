/**
 * Entry point of the `orchestrate` binary and the ONE place that maps errors to exit codes.
 * The `port NAME` lookup is answered before the command tree is even loaded (./fast-path.ts).
 */
import { tryFastPath } from "./fast-path";

async function main(argv: string[]): Promise<number> {
  const fast = tryFastPath(argv, process.env);
  if (fast !== undefined) return fast;
  const { runCli } = await import("./run-cli");
  return runCli(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`orchestrate: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
