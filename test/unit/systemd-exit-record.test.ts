/**
 * The exit record a systemd unit writes from ExecStopPost= (src/backend/systemd/exit-record.ts): its lines
 * parsed into the LastExit that status and verify show. That a real systemd writes them: the kill -9 test of
 * test/e2e/systemd-fleet.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lastRecordedExit, parseExitLine } from "../../src/backend/systemd/exit-record";

const dir = mkdtempSync(join(tmpdir(), "o-exitrec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseExitLine", () => {
  it("a kill -9: signal, not expected, how long it ran", () => {
    expect(parseExitLine("1764690000500 signal killed KILL 1764689990000")).toEqual({
      at: 1764690000500,
      signal: "SIGKILL",
      ranSeconds: 10.5,
      expected: false,
    });
  });
  it("an exit code, and a requested stop (success, killed by TERM)", () => {
    expect(parseExitLine("2000 exit-code exited 3 1000")).toEqual({
      at: 2000,
      code: 3,
      ranSeconds: 1,
      expected: false,
    });
    expect(parseExitLine("2000 success killed TERM 1000")).toMatchObject({ signal: "SIGTERM", expected: true });
    expect(parseExitLine("2000 success exited 0 ")).toEqual({ at: 2000, code: 0, expected: true }); // no start recorded
  });
  it("not a record: empty, cut, a non-numeric code", () => {
    for (const line of ["", "2000", "2000 signal", "x signal killed KILL", "2000 exit-code exited x 1"])
      expect(parseExitLine(line), line).toBeUndefined();
  });
});

describe("lastRecordedExit", () => {
  it("the last whole line of the file (a cut last line is skipped); none without a file", () => {
    const file = join(dir, "api.log");
    writeFileSync(file, "1000 signal killed KILL 900\n2000 exit-code exited 1 1500\n3000 sig");
    expect(lastRecordedExit(file)).toMatchObject({ at: 2000, code: 1 });
    expect(lastRecordedExit(join(dir, "none.log"))).toBeUndefined();
  });
  it("reads only the end of a long record", () => {
    const file = join(dir, "long.log");
    writeFileSync(file, "1 signal killed KILL 0\n".repeat(5000) + "99999 success killed TERM 99000\n");
    expect(lastRecordedExit(file)).toEqual({ at: 99999, signal: "SIGTERM", ranSeconds: 0.999, expected: true });
  });
});
