/** run/last-good.json as recover reads it: a tampered copy must never make recover write outside units/. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadLastGood, saveLastGood } from "../../src/history/last-good";
import { projectPaths } from "../../src/model/paths";

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function paths() {
  const root = mkdtempSync("/tmp/orch-lastgood-");
  made.push(root);
  return projectPaths(join(root, "manifest.json"));
}

const unit = (path: string) => ({ path, content: "x\n", mode: 0o644 });

describe("loadLastGood", () => {
  it("reads back what saveLastGood wrote", () => {
    const p = paths();
    saveLastGood(p, "{}", [unit("units/ports.env")]);
    expect(loadLastGood(p)?.units).toEqual([unit("units/ports.env")]);
  });

  it.each(["../outside", "units/../../etc/x", "/etc/passwd", "units", "units//a", "logs/a.log"])(
    "refuses a last-good naming %j (recover would write it back)",
    (path) => {
      const p = paths();
      mkdirSync(p.run, { mode: 0o700 });
      writeFileSync(
        join(p.run, "last-good.json"),
        JSON.stringify({ time: "t", manifestText: "{}", units: [unit(path)] }),
      );
      expect(loadLastGood(p)).toBeUndefined();
    },
  );

  it("ignores the last-good of a symlinked run/", () => {
    const p = paths();
    const elsewhere = mkdtempSync("/tmp/orch-lastgood-else-");
    made.push(elsewhere);
    writeFileSync(
      join(elsewhere, "last-good.json"),
      JSON.stringify({ time: "t", manifestText: "{}", units: [unit("units/a")] }),
    );
    symlinkSync(elsewhere, p.run);
    expect(loadLastGood(p)).toBeUndefined();
  });
});
