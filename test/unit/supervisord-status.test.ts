/** Pure conversions of supervisord's process info and state codes (supervisor/states.py). */
import { describe, expect, it } from "vitest";
import { toProgramStatus } from "../../src/backend/supervisord/states";
import {
  Faults,
  faultName,
  processStateName,
  RUNNING_STATES,
  STOPPED_STATES,
} from "../../src/backend/supervisord/states";

const base = {
  name: "web",
  group: "web",
  start: 1000,
  stop: 0,
  now: 1042,
  pid: 0,
  spawnerr: "",
  exitstatus: 0,
  description: "",
};

describe("supervisord states", () => {
  it.each([
    [0, "STOPPED"],
    [10, "STARTING"],
    [20, "RUNNING"],
    [30, "BACKOFF"],
    [40, "STOPPING"],
    [100, "EXITED"],
    [200, "FATAL"],
    [1000, "UNKNOWN"],
    [7, "UNKNOWN"],
  ])("code %i is %s", (code, name) => expect(processStateName(code)).toBe(name));

  it("splits running and stopped states like states.py", () => {
    expect([...RUNNING_STATES].sort()).toEqual(["BACKOFF", "RUNNING", "STARTING"]);
    expect([...STOPPED_STATES].sort()).toEqual(["EXITED", "FATAL", "STOPPED", "UNKNOWN"]);
  });

  it("names faults", () => {
    expect(faultName(Faults.CANT_REREAD)).toBe("CANT_REREAD");
    expect(faultName(92)).toBe("CANT_REREAD");
    expect(faultName(12345)).toBe("UNKNOWN");
  });
});

describe("toProgramStatus", () => {
  it.each([
    [
      "running: pid and uptime",
      { state: 20, pid: 42, description: "pid 42, uptime 0:00:42" },
      { state: "RUNNING", pid: 42, uptimeSeconds: 42, detail: "pid 42, uptime 0:00:42" },
    ],
    ["starting: pid and uptime", { state: 10, pid: 42, now: 1000 }, { state: "STARTING", pid: 42, uptimeSeconds: 0 }],
    ["exited: exit status", { state: 100, stop: 1040, exitstatus: 4 }, { state: "EXITED", exitStatus: 4 }],
    [
      "fatal: spawn error, no exit status (supervisord reports 0 for a too-quick exit)",
      { state: 200, stop: 1040, spawnerr: "Exited too quickly (process log may have details)" },
      { state: "FATAL", spawnError: "Exited too quickly (process log may have details)" },
    ],
    ["stopped: nothing else", { state: 0, stop: 1040, exitstatus: -9 }, { state: "STOPPED" }],
  ])("%s", (_label, info, expected) => {
    expect(toProgramStatus({ ...base, ...info })).toEqual({ name: "web", detail: "", ...expected });
  });
});
