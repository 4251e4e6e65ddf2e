/**
 * Entry point of the `orchestrate` binary. This file is bundled ALONE into dist/cli.cjs (a few KB), so the
 * `port NAME` lookup is answered (./fast-path.ts) before the full CLI (commander, zod, every command:
 * dist/orchestrate-cli.cjs, ~1.4 MB) is even parsed. README "Performance": the lookup costs at most 1.3× `node -e 0`.
 */
import { tryFastPath } from "./fast-path";

/** Path of the full CLI bundle, relative to this bundle (set by scripts/build.mjs). */
declare const FULL_CLI_BUNDLE: string;
/** Path of the read-commands bundle (status, verify, ports, check-ports: ./read-path.ts). */
declare const READ_CLI_BUNDLE: string;

const READ_COMMANDS = new Set(["status", "verify", "ports", "check-ports"]);

async function main(argv: string[]): Promise<number> {
  const fast = tryFastPath(argv, process.env);
  if (fast !== undefined) return fast;
  if (argv.some((a) => READ_COMMANDS.has(a))) {
    for (const stream of [process.stdout, process.stderr])
      stream.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
      });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tryReadPath } = require(READ_CLI_BUNDLE) as typeof import("./read-path");
    const code = await tryReadPath(argv, process.env);
    if (code !== undefined) return code;
  }
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
