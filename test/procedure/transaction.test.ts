/**
 * The change transaction with a scripted backend: a failing step restores manifest.json and units/ byte for
 * byte (also removing a file the change added), re-applies the old configuration, starts again what the
 * change had stopped, journals the rollback and reports it; a failed re-apply says that something changed.
 */
import { mkdtempSync, mkdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StepFailed, step, transact } from "../../src/change/transaction";
import { takeSnapshot } from "../../src/change/snapshot";
import { readJournal } from "../../src/history/journal";
import { RecordedProgress } from "../../src/progress/progress";
import { FakeBackend } from "../helpers/fake-backend";
import { projectPaths } from "../helpers/model";

function project() {
  const root = mkdtempSync("/tmp/o-fake-tx-");
  const paths = projectPaths(root);
  mkdirSync(paths.units, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  writeFileSync(paths.manifest, '{ "before": true }\n');
  writeFileSync(join(paths.units, "ports.json"), "old ports\n");
  return { root, paths };
}

describe("transact", () => {
  it("rolls back at the failing step: files restored, added file removed, backend re-applied, stopped program started", async () => {
    const { paths } = project();
    const snapshot = takeSnapshot(paths, readFileSync(paths.manifest, "utf8"), ["units/ports.json", "units/new.conf"]);
    const backend = new FakeBackend();
    const progress = new RecordedProgress();
    const result = await transact(
      progress,
      { command: "remove-service x", paths, snapshot, changes: ["removed x"], total: 3 },
      async (state) => {
        await step(state, "write", async () => {
          writeFileSync(paths.manifest, '{ "after": true }\n');
          writeFileSync(join(paths.units, "ports.json"), "new ports\n");
          writeFileSync(join(paths.units, "new.conf"), "[program:new]\n");
        });
        await step(state, "stop x", async () => {
          state.backendTouched = backend;
          state.restartAfterRollback.push("x");
          await backend.stop("x");
        });
        await step(state, "verify", async () => {
          throw new StepFailed("x: still listening");
        });
      },
    );
    expect(result.ok).toBe(false);
    expect(result.rollback).toMatchObject({
      step: { number: 3, title: "verify" },
      reason: "x: still listening",
      restored: true,
    });
    expect(result.rollback!.backendNote).toBe(", supervisord re-applied to the old configuration");
    expect(result.steps.map((s) => s.status)).toEqual(["rolled back", "rolled back", "failed"]);
    expect(readFileSync(paths.manifest, "utf8")).toBe('{ "before": true }\n');
    expect(readFileSync(join(paths.units, "ports.json"), "utf8")).toBe("old ports\n");
    expect(existsSync(join(paths.units, "new.conf"))).toBe(false);
    expect(backend.calls).toEqual(["stop x", "apply", "start x"]);
    expect(progress.events.some((e) => e.type === "rolled-back" && e.restored)).toBe(true);
    expect(readJournal(paths).at(-1)).toMatchObject({ command: "remove-service x", outcome: "rolled back" });
  });

  it("a re-apply that fails too: restored is false and the note names the error and the fix", async () => {
    const { paths } = project();
    const snapshot = takeSnapshot(paths, readFileSync(paths.manifest, "utf8"));
    const backend = new FakeBackend({ applyError: new Error("CANT_REREAD") });
    const result = await transact(
      new RecordedProgress(),
      { command: "add-service y", paths, snapshot, changes: [], total: 1 },
      async (state) => {
        await step(state, "apply", async () => {
          state.backendTouched = backend;
          throw new StepFailed("y: FATAL");
        });
      },
    );
    expect(result.rollback).toMatchObject({ restored: false });
    expect(result.rollback!.backendNote).toMatch(
      /re-applying the old configuration failed: CANT_REREAD — run "orchestrate restart"/,
    );
  });

  it("an error that is not a step failure (a bug) still rolls back, then propagates", async () => {
    const { paths } = project();
    const snapshot = takeSnapshot(paths, readFileSync(paths.manifest, "utf8"));
    await expect(
      transact(new RecordedProgress(), { command: "c", paths, snapshot, changes: [], total: 1 }, async () => {
        writeFileSync(paths.manifest, "torn");
        throw new TypeError("bug");
      }),
    ).rejects.toThrow("bug");
    expect(readFileSync(paths.manifest, "utf8")).toBe('{ "before": true }\n');
  });
});
