// Bundles with esbuild (CJS, node20): docs/facts.md measured an esbuild CJS bundle starting in ~97 ms against
// ~137 ms for tsc output. Three outputs:
//   dist/cli.cjs              the binary: only the `port NAME` fast path, a few KB, so it starts like bare node
//   dist/orchestrate-cli.cjs  the full command tree, loaded by cli.cjs when the fast path cannot answer
//   dist/orchestrate-read.cjs status, verify, ports, check-ports from a validated manifest (no commander, no zod)
//   dist/index.cjs            the library
import { build } from "esbuild";
import { chmodSync } from "node:fs";

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: false,
  logLevel: "warning",
  legalComments: "none",
  mainFields: ["module", "main"],
};
await Promise.all([
  build({
    ...common,
    entryPoints: ["src/cli/main.ts"],
    outfile: "dist/cli.cjs",
    banner: { js: "#!/usr/bin/env node" },
    define: {
      FULL_CLI_BUNDLE: JSON.stringify("./orchestrate-cli.cjs"),
      READ_CLI_BUNDLE: JSON.stringify("./orchestrate-read.cjs"),
    },
    external: ["./orchestrate-cli.cjs", "./orchestrate-read.cjs"],
  }),
  build({ ...common, entryPoints: ["src/cli/run-cli.ts"], outfile: "dist/orchestrate-cli.cjs" }),
  build({ ...common, entryPoints: ["src/cli/read-path.ts"], outfile: "dist/orchestrate-read.cjs" }),
  build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/index.cjs" }),
]);
chmodSync("dist/cli.cjs", 0o755);
