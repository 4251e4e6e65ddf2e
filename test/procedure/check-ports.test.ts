/**
 * check-ports' classification, pure: from the model and synthetic live facts (listeners, processes, the
 * manager's status, /proc marks given in advance) to owner and conflict per managed port. One table.
 */
import { describe, expect, it } from "vitest";
import type { ProgramStatus } from "../../src/backend/types";
import type { Listener } from "../../src/inspect/listeners";
import type { ProcessInfo } from "../../src/inspect/processes";
import { checkPorts, type LiveFacts } from "../../src/live-ports/check-ports";
import { makeModel } from "../helpers/model";

const root = "/tmp/o-fake-cp";
const model = makeModel(
  root,
  [
    { name: "api", port: 9001, argv: ["/usr/bin/node", "api.js"] },
    { name: "web", port: 9002, argv: ["/usr/bin/node", "web.js"] },
    { name: "old", port: 9004, argv: ["/usr/bin/node", "old.js"], enabled: false },
  ],
  {
    external: [{ name: "redis", port: 6379, description: "", exposure: "loopback" }],
    ports: { avoid: [], reserved: new Map([[9003, "spare"]]), allowPrivileged: false },
  },
);

function proc(pid: number, ppid = 1, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, pgid: pid, sid: pid, uid: 0, user: "root", command: `cmd-${pid}`, startTime: 100, ...extra };
}

function listen(port: number, pid: number): Listener {
  return {
    address: "127.0.0.1",
    port,
    family: 4,
    pid,
    pids: [pid],
    command: `cmd-${pid}`,
    user: "root",
    processes: [proc(pid)],
    source: "ss",
  };
}

function facts(listeners: Listener[], programs: ProgramStatus[], marks: LiveFacts["marks"] = new Map()): LiveFacts {
  const byPort = new Map<number, Listener[]>();
  for (const p of [9001, 9002, 9003, 9004, 6379]) byPort.set(p, []);
  for (const l of listeners) byPort.get(l.port)!.push(l);
  const processes = new Map(listeners.flatMap((l) => l.processes).map((p) => [p.pid, p]));
  return {
    listeners: byPort,
    manager: { kind: "supervisor", label: "supervisord", running: true },
    programs: new Map(programs.map((p) => [p.name, p])),
    owns: (_service, mainPid, pid) => pid === mainPid,
    source: "ss",
    notes: [],
    serverUrl: `unix://${root}/run/supervisord.sock`,
    commands: new Map(),
    processes,
    marks,
  };
}

const running = (name: string, pid: number): ProgramStatus => ({ name, state: "RUNNING", pid });

describe("checkPorts classification", () => {
  const cases: Array<{
    what: string;
    listeners: Listener[];
    programs: ProgramStatus[];
    port: number;
    owner: string;
    conflict: boolean;
    marks?: LiveFacts["marks"];
  }> = [
    {
      what: "a service's own program",
      listeners: [listen(9001, 501)],
      programs: [running("api", 501)],
      port: 9001,
      owner: "service",
      conflict: false,
    },
    { what: "nothing listens", listeners: [], programs: [], port: 9001, owner: "none", conflict: false },
    {
      what: "an unknown process on a service port",
      listeners: [listen(9001, 777)],
      programs: [running("api", 501)],
      port: 9001,
      owner: "foreign",
      conflict: true,
    },
    {
      what: "another program of the project on this port (hardcoded port)",
      listeners: [listen(9002, 501)],
      programs: [running("api", 501)],
      port: 9002,
      owner: "foreign",
      conflict: true,
    },
    {
      what: "anything on an external's port is the external",
      listeners: [listen(6379, 888)],
      programs: [],
      port: 6379,
      owner: "external",
      conflict: false,
    },
    {
      what: "a foreign holder of a reserved port warns, no conflict",
      listeners: [listen(9003, 777)],
      programs: [],
      port: 9003,
      owner: "foreign",
      conflict: false,
    },
    {
      what: "a foreign holder of a disabled service's port warns, no conflict",
      listeners: [listen(9004, 777)],
      programs: [],
      port: 9004,
      owner: "foreign",
      conflict: false,
    },
    {
      what: "a leftover of this project's supervisord (its environment names our socket): stale, a conflict",
      listeners: [listen(9001, 601)],
      programs: [],
      port: 9001,
      owner: "stale",
      conflict: true,
      marks: new Map([[601, { serverUrl: `unix://${root}/run/supervisord.sock`, program: "api" }]]),
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const report = checkPorts(
        model,
        facts(c.listeners, c.programs, c.marks ?? new Map(c.listeners.map((l) => [l.pid!, undefined]))),
      );
      const check = report.ports.find((p) => p.port === c.port)!;
      expect(check.owner).toBe(c.owner);
      expect(check.conflict).toBe(c.conflict);
      expect(report.ok).toBe(!report.ports.some((p) => p.conflict));
      if (c.owner === "foreign") expect(check.fix).toMatch(/orchestrate recover --kill-foreign/);
    });
  }

  it("conflicts come first, then warnings, then the rest by port", () => {
    const report = checkPorts(
      model,
      facts(
        [listen(9003, 777), listen(9002, 778), listen(9001, 501)],
        [running("api", 501)],
        new Map([
          [777, undefined],
          [778, undefined],
        ]),
      ),
    );
    expect(report.ports.map((p) => p.port).slice(0, 2)).toEqual([9002, 9003]);
    expect(report.conflicts).toBe(1);
  });
});
