/**
 * Entry point of the `orchestrate` binary. This file is bundled ALONE into dist/cli.cjs (a few KB), so the
 * `port NAME` lookup is answered (./fast-path.ts) before the full CLI (commander, zod, every command:
 * dist/orchestrate-cli.cjs, ~1.4 MB) is even parsed. README "Performance": the lookup costs at most 1.3× `node -e 0`.
 */
import { tryFastPath } from "./fast-path";

/** Path of the full CLI bundle, relative to this bundle (set by scripts/build.mjs). */
declare const FULL_CLI_BUNDLE: string;

async function main(argv: string[]): Promise<number> {
  const fast = tryFastPath(argv, process.env);
  if (fast !== undefined) return fast;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runCli } = require(FULL_CLI_BUNDLE) as typeof import("./run-cli");
  return runCli(argv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(
      `orchestrate: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);
