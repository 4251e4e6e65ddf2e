/** planFiles/applyPlan: added/changed/removed against the disk; only files recorded as ours are removed. */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyPlan, planDiff } from "../../src/write/apply";
import { planFiles } from "../../src/write/plan";

function project() {
  const root = mkdtempSync(join(tmpdir(), "orch-plan-"));
  return { root, paths: { logs: join(root, "logs"), run: join(root, "run") } };
}

describe("generate plan", () => {
  it("adds, then is idempotent, then changes and removes only its own files", () => {
    const { root, paths } = project();
    const v1 = [
      { path: "units/a.conf", content: "a1\n", mode: 0o644 },
      { path: "units/b.conf", content: "b1\n", mode: 0o600 },
    ];
    const p1 = planFiles(root, v1);
    expect(p1.changes.map((c) => c.kind)).toEqual(["added", "added"]);
    applyPlan(p1, paths);
    expect(readFileSync(join(root, "units/a.conf"), "utf8")).toBe("a1\n");
    expect(statSync(join(root, "units/b.conf")).mode & 0o777).toBe(0o600);
    expect(existsSync(paths.logs) && existsSync(paths.run)).toBe(true);
    expect(planFiles(root, v1).changes).toEqual([]);

    mkdirSync(join(root, "units"), { recursive: true });
    writeFileSync(join(root, "units/user-notes.conf"), "mine\n"); // not ours: never removed
    const v2 = [{ path: "units/a.conf", content: "a2\n", mode: 0o644 }];
    const p2 = planFiles(root, v2);
    expect(p2.changes.map((c) => `${c.kind} ${c.path}`).sort()).toEqual([
      "changed units/a.conf",
      "removed units/b.conf",
    ]);
    expect(planDiff(p2)).toContain("-a1\n+a2");
    applyPlan(p2, paths);
    expect(existsSync(join(root, "units/b.conf"))).toBe(false);
    expect(existsSync(join(root, "units/user-notes.conf"))).toBe(true);
  });

  it("reports a hand edit as a change (drift) and a mode change", () => {
    const { root, paths } = project();
    const files = [{ path: "units/a.conf", content: "a\n", mode: 0o644 }];
    applyPlan(planFiles(root, files), paths);
    writeFileSync(join(root, "units/a.conf"), "edited\n");
    expect(planFiles(root, files).changes[0]).toMatchObject({ kind: "changed", path: "units/a.conf" });
  });
});
