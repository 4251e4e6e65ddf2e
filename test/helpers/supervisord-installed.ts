/**
 * Whether the machine has supervisord, for the e2e files that run a real one. A missing supervisord fails those
 * files loudly, never skips them (".ci/run" and "npm test" install it: scripts/ensure-deps.mjs).
 */
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";

/** `supervisord --version` exits 0. Checked once per test file, at import. */
export const hasSupervisord = spawnSync("supervisord", ["--version"], { stdio: "ignore" }).status === 0;

/** Declares the file's test "supervisord is installed", which fails when it is not. */
export function itNeedsSupervisord(): void {
  it("supervisord is installed (apt-get install supervisor, or node scripts/ensure-deps.mjs)", () =>
    expect(hasSupervisord).toBe(true));
}
