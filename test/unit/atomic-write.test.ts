/** The one writer (src/write/atomic.ts) on real files: modes, owners, links, temp files. */
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendLine, ensureDir, removeStaleTemps, writeFileAtomicSync } from "../../src/write/atomic";
import { OperationError } from "../../src/errors";

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync("/tmp/orch-atomic-");
  made.push(d);
  return d;
}
const mode = (p: string) => statSync(p).mode & 0o777;

describe("writeFileAtomicSync", () => {
  it("writes the whole content, leaves no temp file, and an existing file keeps its mode", () => {
    const d = dir();
    const f = join(d, "manifest.json");
    writeFileSync(f, "old");
    chmodSync(f, 0o600);
    const big = "x".repeat(3 * 1024 * 1024);
    writeFileAtomicSync(f, big);
    expect(readFileSync(f, "utf8")).toBe(big);
    expect(mode(f)).toBe(0o600);
    expect(readdirSync(d)).toEqual(["manifest.json"]);
  });

  it("a given mode wins; a new file without one is 0644", () => {
    const d = dir();
    writeFileAtomicSync(join(d, "a"), "a", 0o600);
    writeFileAtomicSync(join(d, "b"), "b");
    expect(mode(join(d, "a"))).toBe(0o600);
    expect(mode(join(d, "b"))).toBe(0o644);
  });

  it("replaces a symlink instead of writing through it or chmodding its target", () => {
    const d = dir();
    const target = join(d, "secret");
    writeFileSync(target, "TOKEN=1\n", { mode: 0o600 });
    symlinkSync(target, join(d, "ports.env"));
    writeFileAtomicSync(join(d, "ports.env"), "PORT=1\n", 0o644);
    expect(readFileSync(target, "utf8")).toBe("TOKEN=1\n");
    expect(mode(target)).toBe(0o600);
    expect(lstatSync(join(d, "ports.env")).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(d, "ports.env"), "utf8")).toBe("PORT=1\n");
  });

  it("creates a run/ parent with mode 0700 and refuses a symlinked one", () => {
    const d = dir();
    writeFileAtomicSync(join(d, "p", "run", "stamp"), "x");
    expect(mode(join(d, "p", "run"))).toBe(0o700);
    symlinkSync(dir(), join(d, "run"));
    expect(() => writeFileAtomicSync(join(d, "run", "stamp"), "x")).toThrow(OperationError);
    expect(() => appendLine(join(d, "run", "journal.jsonl"), "{}")).toThrow(/is a symlink/);
    expect(() => ensureDir(join(d, "run"), 0o700)).toThrow(/is a symlink/);
  });

  it("appendLine refuses a planted link at the journal (O_NOFOLLOW)", () => {
    const d = dir();
    const target = join(d, "target");
    writeFileSync(target, "");
    ensureDir(join(d, "run"));
    symlinkSync(target, join(d, "run", "journal.jsonl"));
    expect(() => appendLine(join(d, "run", "journal.jsonl"), "{}")).toThrow(/journal.jsonl is a symlink: refusing/);
    expect(readFileSync(target, "utf8")).toBe("");
  });
});

describe("long names", () => {
  it("a 255-byte file name is written (its temp name is shortened), a longer one is a UsageError", () => {
    const d = dir();
    writeFileAtomicSync(join(d, "a".repeat(255)), "x");
    expect(readdirSync(d)).toEqual(["a".repeat(255)]);
    expect(() => writeFileAtomicSync(join(d, "a".repeat(256)), "x")).toThrow(/file name too long.*ENAMETOOLONG/);
  });
});

describe("removeStaleTemps", () => {
  it("removes temp files of dead writers only", () => {
    const d = dir();
    const dead = spawnSync("/bin/true").pid!;
    const names = [
      `.a.conf.${dead}.0123abcd.tmp`,
      `.b.conf.${process.pid}.0123abcd.tmp`,
      `.c.conf.1.0123abcd.tmp`,
      "keep.tmp",
    ];
    for (const n of names) writeFileSync(join(d, n), "");
    removeStaleTemps(d);
    expect(readdirSync(d).sort()).toEqual(names.slice(1).sort());
  });
});
