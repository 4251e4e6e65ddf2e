/**
 * The `systemctl show` parser and state mapping, on output captured from systemd 252 (sandboxed, see
 * test/harness/systemd-sandbox.ts) with `--property=` SHOW_PROPERTIES. Property order is systemd's own.
 */
import { describe, expect, it } from "vitest";
import {
  parseShow,
  parseShowBlocks,
  programState,
  toProgramStatus,
  toUnitRecord,
} from "../../src/backend/systemd/show";
import { classifyFailure } from "../../src/backend/systemd/errors";
import type { RunResult } from "../../src/exec/run";

/** `show … demo-a.service nope.service demo.target` — running service, unknown unit, active target. */
const RUNNING_UNKNOWN_TARGET = `MainPID=74
Result=success
NRestarts=0
ExecMainStartTimestampMonotonic=327021395
ExecMainCode=0
ExecMainStatus=0
ControlGroup=/system.slice/demo-a.service
Id=demo-a.service
LoadState=loaded
ActiveState=active
SubState=running

MainPID=0
Result=success
NRestarts=0
ExecMainStartTimestampMonotonic=0
ExecMainCode=0
ExecMainStatus=0
ControlGroup=
Id=nope.service
LoadState=not-found
ActiveState=inactive
SubState=dead

Id=demo.target
LoadState=loaded
ActiveState=active
SubState=active
`;

/** `show … demo-fail.service demo-loop.service demo-bad.service` — exit 3 without/with Restart=, bad ExecStart. */
const FAILED_BACKOFF_BAD = `MainPID=0
Result=exit-code
NRestarts=0
ExecMainStartTimestampMonotonic=702016287
ExecMainCode=1
ExecMainStatus=3
ControlGroup=
Id=demo-fail.service
LoadState=loaded
ActiveState=failed
SubState=failed

MainPID=0
Result=exit-code
NRestarts=0
ExecMainStartTimestampMonotonic=702023552
ExecMainCode=1
ExecMainStatus=3
ControlGroup=
Id=demo-loop.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart

MainPID=0
Result=success
NRestarts=0
ExecMainStartTimestampMonotonic=0
ExecMainCode=0
ExecMainStatus=0
ControlGroup=
Id=demo-bad.service
LoadState=bad-setting
ActiveState=inactive
SubState=dead
`;

/** After `kill -9` of MainPID with Restart=on-failure, while RestartSec= runs. */
const KILLED_WAITING = `MainPID=0
Result=signal
NRestarts=0
ExecMainStartTimestampMonotonic=327021395
ExecMainCode=2
ExecMainStatus=9
Id=demo-a.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
`;

describe("parseShowBlocks", () => {
  it("splits blocks on blank lines and keys on the first '='", () => {
    expect(parseShowBlocks("A=1\nB=x=y\n\nA=2\r\n\n\n")).toEqual([{ A: "1", B: "x=y" }, { A: "2" }]);
  });
  it("ignores lines without a key", () => {
    expect(parseShowBlocks("junk\n=v\nK=\n")).toEqual([{ K: "" }]);
  });
});

describe("parseShow on captured output", () => {
  it("types every field, in the order the units were named", () => {
    const [a, nope, target] = parseShow(RUNNING_UNKNOWN_TARGET, ["demo-a.service", "nope.service", "demo.target"]);
    expect(a).toMatchObject({
      id: "demo-a.service",
      loadState: "loaded",
      activeState: "active",
      subState: "running",
      mainPid: 74,
      execMainStartMonotonicUs: 327021395,
      nRestarts: 0,
      result: "success",
      controlGroup: "/system.slice/demo-a.service",
    });
    expect(nope).toMatchObject({ id: "nope.service", loadState: "not-found", mainPid: 0 });
    expect(target).toMatchObject({ id: "demo.target", mainPid: 0, nRestarts: 0, result: "" });
  });

  it("refuses output that cannot be matched to the names", () => {
    expect(() => parseShow(RUNNING_UNKNOWN_TARGET, ["demo-a.service"])).toThrow(
      /expected 1 block\(s\) for demo-a.service, found 3/,
    );
  });
});

describe("state mapping (one row per captured state)", () => {
  const rows: [string, string, string, string][] = [
    // sample, unit, expected state, expected detail
    [RUNNING_UNKNOWN_TARGET, "demo-a.service", "RUNNING", "active/running"],
    [RUNNING_UNKNOWN_TARGET, "nope.service", "ABSENT", "inactive/dead"],
    [RUNNING_UNKNOWN_TARGET, "demo.target", "RUNNING", "active/active"],
    [FAILED_BACKOFF_BAD, "demo-fail.service", "FATAL", "failed/failed"],
    [FAILED_BACKOFF_BAD, "demo-loop.service", "BACKOFF", "activating/auto-restart"],
    [FAILED_BACKOFF_BAD, "demo-bad.service", "FATAL", "inactive/dead (unit bad-setting)"],
    [KILLED_WAITING, "demo-a.service", "BACKOFF", "activating/auto-restart"],
  ];
  it.each(rows.map(([sample, unit, state, detail]) => ({ sample, unit, state, detail })))(
    "$unit → $state ($detail)",
    ({ sample, unit, state, detail }) => {
      const record = parseShowBlocks(sample)
        .map(toUnitRecord)
        .find((r) => r.id === unit)!;
      expect(programState(record)).toBe(state);
      expect(toProgramStatus("x", record, 330_000_000).detail).toBe(detail);
    },
  );

  const synthetic: [Record<string, string>, string][] = [
    [{ ActiveState: "activating", SubState: "start" }, "STARTING"],
    [{ ActiveState: "deactivating", SubState: "stop-sigterm" }, "STOPPING"],
    [{ ActiveState: "inactive", SubState: "dead", LoadState: "loaded" }, "STOPPED"],
    [{ ActiveState: "reloading", SubState: "reload" }, "RUNNING"],
    [{ ActiveState: "maintenance", SubState: "cleaning" }, "UNKNOWN"],
    [{ ActiveState: "active", SubState: "running", LoadState: "not-found" }, "RUNNING"],
  ];
  it.each(synthetic)("%o → %s", (block, state) => {
    expect(programState(toUnitRecord(block))).toBe(state);
  });
});

describe("toProgramStatus", () => {
  const records = (text: string) => parseShowBlocks(text).map(toUnitRecord);

  it("running: pid, uptime from CLOCK_MONOTONIC µs, restarts", () => {
    const [a] = records(RUNNING_UNKNOWN_TARGET);
    expect(toProgramStatus("a", a, 327021395 + 12_900_000)).toEqual({
      name: "a",
      state: "RUNNING",
      pid: 74,
      uptimeSeconds: 12,
      restarts: 0,
      detail: "active/running",
    });
  });

  it("never reports a negative uptime (clock read before systemd's timestamp)", () => {
    const [a] = records(RUNNING_UNKNOWN_TARGET);
    expect(toProgramStatus("a", a, 1).uptimeSeconds).toBe(0);
  });

  it("failed with exit 3: exitStatus and Result", () => {
    const [fail] = records(FAILED_BACKOFF_BAD);
    expect(toProgramStatus("fail", fail, 800_000_000)).toMatchObject({
      state: "FATAL",
      exitStatus: 3,
      spawnError: "exit-code",
    });
  });

  it("killed by a signal: the signal in spawnError, no exit status", () => {
    const status = toProgramStatus("a", records(KILLED_WAITING)[0], 400_000_000);
    expect(status).toMatchObject({ state: "BACKOFF", spawnError: "signal (signal 9)" });
    expect(status.exitStatus).toBeUndefined();
    expect(status.pid).toBeUndefined();
  });

  it("a unit file systemd rejected is FATAL with a fix", () => {
    const bad = records(FAILED_BACKOFF_BAD)[2];
    expect(toProgramStatus("bad", bad).spawnError).toBe("unit file bad-setting: check it with systemd-analyze verify");
  });

  it("a target has no NRestarts: restarts stays undefined", () => {
    expect(toProgramStatus("t", records(RUNNING_UNKNOWN_TARGET)[2]).restarts).toBeUndefined();
  });
});

describe("classifyFailure (stderr captured from systemctl 252)", () => {
  const result = (stderr: string, failedToStart = false): RunResult => ({
    command: "systemctl x",
    exitCode: failedToStart ? undefined : 1,
    stdout: "",
    stderr,
    failedToStart,
    durationMs: 1,
  });
  const rows: [string, boolean, string][] = [
    [
      "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
      false,
      "not-booted",
    ],
    ["Failed to connect to bus: No medium found\n", false, "no-user-manager"],
    ["Failed to start demo-a.service: Access denied\n", false, "permission"],
    ["Failed to start demo-a.service: Interactive authentication required.\n", false, "permission"],
    ["Failed to start nope.service: Unit nope.service not found.\n", false, "unit-not-found"],
    ["Failed to stop nope.service: Unit nope.service not loaded.\n", false, "unit-not-found"],
    ["Failed to start demo-bad.service: Unit demo-bad.service has a bad unit file setting.\n", false, "other"],
    ["", true, "not-installed"],
  ];
  it.each(rows)("%j → %s", (stderr, notStarted, kind) => {
    expect(classifyFailure(result(stderr, notStarted))).toBe(kind);
  });
});
