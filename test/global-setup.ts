/**
 * vitest globalSetup: builds dist/ once, before any worker starts, so the end-to-end files run the CLI
 * as built from the current src/ (test/helpers/project.ts runs `node dist/cli.cjs`).
 */
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

export default function setup(): void {
  const root = resolve(__dirname, "..");
  if (process.env.ORCHESTRATE_TEST_CLI) return; // a bundle given explicitly is used as is
  execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
  process.env.ORCHESTRATE_TEST_BUILT = "1"; // inherited by the workers: test/helpers/project.ts ensureBuilt skips
}
