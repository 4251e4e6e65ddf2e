/** A change killed after its "begun" line reads as interrupted in `history`; a finished one appears once. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readJournal, recordChange } from "../../src/history/journal";

const run = mkdtempSync(join(tmpdir(), "orch-journal-"));
afterAll(() => rmSync(run, { recursive: true, force: true }));

describe("journal begun / interrupted", () => {
  it("shows a begun change without an outcome as interrupted, and a finished one once with its outcome", () => {
    const paths = { run };
    recordChange(paths, { command: "add-service a", changes: ["port 1"], outcome: "begun", id: "1" });
    recordChange(paths, { command: "add-service a", changes: ["port 1"], outcome: "applied", id: "1" });
    recordChange(paths, { command: "add-service b", changes: ["port 2"], outcome: "begun", id: "2" });
    const entries = readJournal(paths);
    expect(entries.map((e) => [e.command, e.outcome])).toEqual([
      ["add-service a", "applied"],
      ["add-service b", "interrupted"],
    ]);
    expect(entries[1].reason).toMatch(/the command was killed/);
  });
});
