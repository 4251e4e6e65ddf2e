/**
 * The "ours" rules of src/live-ports/ours.ts as one table: which processes recover may stop. Every /proc
 * fact is given (marks prefilled, so nothing is read from the machine).
 */
import { describe, expect, it } from "vitest";
import type { ProcessInfo } from "../../src/inspect/processes";
import { commandIndex, leftoverEvidence, type OursFacts, type SupervisorMark } from "../../src/live-ports/ours";
import { makeModel } from "../helpers/model";

const model = makeModel("/srv/app", [{ name: "api", port: 8001, argv: ["/usr/bin/python3", "api.py"] }]);
const SOCKET = "unix:///srv/app/run/supervisord.sock";
const mine: SupervisorMark = { serviceName: "api", port: "8001", cwd: "/srv/app" };

function proc(over: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    pid: 500,
    ppid: 1,
    pgid: 500,
    sid: 400,
    uid: 1000,
    user: "app",
    command: "/usr/bin/python3 api.py",
    startTime: 123,
    ...over,
  };
}

function facts(mark: SupervisorMark | undefined, over: Partial<OursFacts> = {}, alive: number[] = []): OursFacts {
  return {
    serverUrl: SOCKET,
    commands: commandIndex([model]),
    processes: new Map(alive.map((pid) => [pid, proc({ pid, ppid: 1, sid: pid })])),
    marks: new Map([[500, mark]]),
    uid: 1000,
    ...over,
  };
}

const rows: [string, ProcessInfo, OursFacts, "environment" | "command" | "observed" | undefined][] = [
  [
    "environment names our socket",
    proc({ ppid: 77 }),
    facts({ serverUrl: SOCKET, program: "api" }, {}, [400]),
    "environment",
  ],
  [
    "environment names another supervisord, nothing else matches",
    proc({ command: "other" }),
    facts({ serverUrl: "unix:///etc/sv.sock" }),
    undefined,
  ],
  ["command + SERVICE_NAME + PORT + folder, parent init", proc(), facts(mine), "command"],
  ["same command from another folder (another project's orphan)", proc(), facts({ ...mine, cwd: "/tmp" }), undefined],
  ["same command with another PORT", proc(), facts({ ...mine, port: "27211" }), undefined],
  [
    "same command, no SERVICE_NAME (not started by orchestrate)",
    proc(),
    facts({ port: "8001", cwd: "/srv/app" }),
    undefined,
  ],
  ["environment unreadable (another user's process)", proc(), facts(undefined), undefined],
  [
    "started by hand: parent is a live shell, session leader alive",
    proc({ ppid: 400 }),
    facts(mine, {}, [400]),
    undefined,
  ],
  [
    "adopted by a subreaper, session leader (killed supervisord) gone",
    proc({ ppid: 77 }),
    facts(mine, {}, [77]),
    "command",
  ],
  [
    "session of the supervisord named by a stale pidfile",
    proc({ ppid: 77 }),
    facts(mine, { formerSupervisord: 400 }, [77, 400]),
    "command",
  ],
  ["another user's copy of our command", proc({ uid: 1001, user: "bob" }), facts(mine), undefined],
  [
    "a child of our supervisord seen before it was stopped",
    proc({ ppid: 77, command: "x" }),
    facts({}, { observedChildren: new Map([[500, 123]]) }, [400]),
    "observed",
  ],
  [
    "same PID, other start time (PID reused)",
    proc({ ppid: 77, command: "x" }),
    facts({}, { observedChildren: new Map([[500, 999]]) }, [400]),
    undefined,
  ],
];

describe("leftoverEvidence: what recover may stop", () => {
  it.each(rows)("%s", (_label, info, f, rule) => {
    expect(leftoverEvidence(info, f)?.rule).toBe(rule);
  });
});
