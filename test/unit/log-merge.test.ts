/** Merging logs in time order and folding what start retries repeated (src/inspect/log-merge.ts). */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { foldRepeats, lineTime, mergeLogs, readSource, type LogSource } from "../../src/inspect/log-merge";

const src = (label: string, stream: "stdout" | "stderr", lines: string[], mtimeMs = 0): LogSource => ({
  label,
  stream,
  lines,
  mtimeMs,
});

describe("lineTime", () => {
  it("reads ISO 8601, Python logging and gunicorn stamps; nothing else", () => {
    expect(lineTime("2026-12-02T07:02:29Z started")).toBe(Date.parse("2026-12-02T07:02:29Z"));
    expect(lineTime("2026-12-02 07:02:29,123 INFO x")).toBe(Date.parse("2026-12-02T07:02:29.123"));
    expect(lineTime("[2026-12-02 07:02:29 +0000] [42] [INFO] Booting")).toBe(Date.parse("2026-12-02T07:02:29Z"));
    expect(lineTime("INFO:     Started server process [42]")).toBeUndefined();
  });
});

describe("mergeLogs", () => {
  it("interleaves by timestamp; an untimed line follows the timed line before it in its own file", () => {
    const out = mergeLogs([
      src("api", "stdout", ["2026-12-02T07:00:01Z a1", "continued", "2026-12-02T07:00:03Z a3"]),
      src("web", "stderr", ["2026-12-02T07:00:02Z w2", "2026-12-02T07:00:04Z w4"]),
    ]);
    expect(out.map((l) => `${l.label} ${l.text.replace(/^\S+ /, "")}`)).toEqual([
      "api a1",
      "api continued",
      "web w2",
      "api a3",
      "web w4",
    ]);
  });

  it("a file without timestamps is placed whole at its modification time, keeping its order", () => {
    const out = mergeLogs([
      src("api", "stdout", ["one", "two"], Date.parse("2026-12-02T07:00:05Z")),
      src("api", "stderr", ["2026-12-02T07:00:01Z early", "2026-12-02T07:00:09Z late"]),
    ]);
    expect(out.map((l) => l.text.replace(/^\S+ /, ""))).toEqual(["early", "one", "two", "late"]);
  });
});

describe("foldRepeats", () => {
  const tb = [
    "Traceback (most recent call last):",
    '  File "app.py", line 3, in <module>',
    "ValueError: DATABASE_URL is not set",
  ];
  it("a traceback printed by each of 4 start attempts becomes one copy and a count", () => {
    const lines = mergeLogs([src("api", "stderr", [...tb, ...tb, ...tb, ...tb])]);
    const out = foldRepeats(lines).map((l) => l.text);
    expect(out).toEqual([...tb, "… the 3 lines above repeated 4 times (once per start attempt)"]);
  });

  it("timestamps do not stop two retries' lines from being the same; different lines are kept", () => {
    const lines = mergeLogs([
      src("api", "stderr", [
        "2026-12-02 07:00:01,000 ERROR cannot connect",
        "2026-12-02 07:00:02,000 ERROR cannot connect",
        "2026-12-02 07:00:03,000 ERROR cannot connect",
        "2026-12-02 07:00:04,000 INFO giving up",
      ]),
    ]);
    const out = foldRepeats(lines).map((l) => l.text);
    expect(out).toEqual([
      "2026-12-02 07:00:03,000 ERROR cannot connect",
      "… the line above repeated 3 times (once per start attempt)",
      "2026-12-02 07:00:04,000 INFO giving up",
    ]);
  });
});

describe("readSource", () => {
  it("the last N lines; N = 0 is none (logs -n 0 -f shows only new lines), Infinity every one", () => {
    const dir = mkdtempSync("/tmp/o-log-src-");
    try {
      const file = join(dir, "a.out.log");
      writeFileSync(file, "one\ntwo\nthree\n");
      expect(readSource(file, "a", "stdout", 2)?.lines).toEqual(["two", "three"]);
      expect(readSource(file, "a", "stdout", 0)?.lines).toEqual([]);
      expect(readSource(file, "a", "stdout", Infinity)?.lines).toEqual(["one", "two", "three"]);
      expect(readSource(join(dir, "missing.log"), "a", "stdout", 2)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
