/** `orchestrate logs` presentation: -n N per file, and the time of a shown line that carries none. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Context } from "../../src/cli/context";
import { showLogs, type LogFile } from "../../src/cli/present/logs";

const dir = mkdtempSync("/tmp/o-logs-present-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function shown(files: LogFile[], lines: number): Promise<string[]> {
  let out = "";
  const sink = { write: (s: string) => ((out += s), true) };
  const ctx = {
    stdout: sink,
    stderr: sink,
    color: false,
    backend: "supervisor",
    systemd: { scope: "system" },
    env: {},
  };
  await showLogs(ctx as unknown as Context, files, { lines, follow: false });
  return out.trimEnd().split("\n");
}

describe("showLogs", () => {
  // a's traceback was written at 10:00:00 (its continuation lines carry no time); b wrote at 10:00:00.500;
  // a's file was modified last (now): its mtime is not the time of the lines it shows
  const a = join(dir, "a.err.log");
  const b = join(dir, "b.out.log");
  writeFileSync(a, "2026-12-02T10:00:00.000Z Traceback (most recent call last):\n  File x\nValueError: boom\n");
  writeFileSync(b, "2026-12-02T10:00:00.500Z b tick 1\n");
  utimesSync(b, new Date("2026-12-02T10:00:01Z"), new Date("2026-12-02T10:00:01Z"));
  const files: LogFile[] = [
    { label: "a", stream: "stderr", path: a },
    { label: "b", stream: "stdout", path: b },
  ];

  it("-n 1: the shown line without a time takes its traceback's, read from before the last N lines", async () => {
    expect(await shown(files, 1)).toEqual([
      "a (err) | ValueError: boom",
      "b       | 2026-12-02T10:00:00.500Z b tick 1",
    ]);
  });

  it("-n 2 and -n 100 order a's lines the same way; -n 0 shows none", async () => {
    expect(await shown(files, 2)).toEqual([
      "a (err) |   File x",
      "a (err) | ValueError: boom",
      "b       | 2026-12-02T10:00:00.500Z b tick 1",
    ]);
    expect((await shown(files, 100))[0]).toBe("a (err) | 2026-12-02T10:00:00.000Z Traceback (most recent call last):");
    expect((await shown(files, 0))[0]).toMatch(/^\(no lines in /);
  });
});
