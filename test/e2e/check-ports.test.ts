/**
 * `orchestrate check-ports` end to end: the built CLI, a real private supervisord started by
 * `orchestrate restart`, fixture services bound to IPv4 loopback, IPv6 loopback, 0.0.0.0 and `::`, and
 * listeners this test starts itself (foreign). Ports 27000-27099 only; traffic to 127.0.0.1/::1 only.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPidfile, isAlive } from "../../src/backend/supervisord/pids";
import { pollUntil } from "../../src/signal/poll";
import type { CheckPortsReport } from "../../src/live-ports/check-ports";
import {
  FIXTURES,
  Seen,
  fixture,
  makeCliProject,
  orchestrate,
  programPids,
  type TestProject,
} from "../helpers/cli-project";
import { listen, stopAll } from "../helpers/listeners";
import { itNeedsSupervisord } from "../helpers/supervisord-installed";

itNeedsSupervisord();
const seen = new Seen();
let project: TestProject;
let pids: Map<string, number>;

/** binds-port.js on another address: HOST is orchestrate's to set, so `/usr/bin/env HOST=… node …` (env exec's node). */
function onHost(host: string, port: number) {
  // a wildcard listener is an exposure finding unless the manifest says the port is public
  const exposure = host === "0.0.0.0" || host === "::" ? { exposure: "public" } : {};
  return {
    ...fixture("binds-port.js", port, { group: "g" }),
    ...exposure,
    command: ["/usr/bin/env", `HOST=${host}`, process.execPath, `${FIXTURES}/binds-port.js`],
  };
}

const manifest = {
  project: "cp",
  ports: { reserved: { "27019": "kept for a hot spare" } },
  groups: { g: { range: "27010-27019" } },
  external: { pg: { port: 27018, description: "a database" } },
  services: {
    v4: fixture("binds-port.js", 27010, { group: "g" }),
    v6: onHost("::1", 27011),
    wild4: onHost("0.0.0.0", 27012),
    wild6: onHost("::", 27013),
    shared: fixture("binds-port.js", 27014, { group: "g" }),
    off: fixture("binds-port.js", 27015, { group: "g", enabled: false }),
  },
};

async function checkPorts(): Promise<{ code: number | undefined; report: CheckPortsReport; stdout: string }> {
  const result = await orchestrate(project, "check-ports", "--json");
  expect(result.stderr).toBe("");
  return { code: result.exitCode, report: JSON.parse(result.stdout) as CheckPortsReport, stdout: result.stdout };
}

function port(report: CheckPortsReport, n: number) {
  const found = report.ports.find((p) => p.port === n);
  if (!found) throw new Error(`expected port ${n} in the report, found ${report.ports.map((p) => p.port).join(", ")}`);
  return found;
}

describe("check-ports against a real supervisord", () => {
  beforeAll(async () => {
    project = seen.project(makeCliProject("orch-cp-", manifest));
    const restart = await orchestrate(project, "restart");
    expect(restart.exitCode, restart.stdout + restart.stderr).toBe(0);
    pids = await programPids(project);
    await seen.add(readPidfile(project.paths.pidfile), ...pids.values());
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    await seen.cleanup();
  });

  it("names the right PID and owner 'service' for IPv4, IPv6 and wildcard listeners; exit 0", async () => {
    const { code, report } = await checkPorts();
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, conflicts: 0, manager: { kind: "supervisor", running: true } });
    const expected: [number, string, string, 4 | 6][] = [
      [27010, "v4", "127.0.0.1", 4],
      [27011, "v6", "::1", 6],
      [27012, "wild4", "0.0.0.0", 4],
      [27013, "wild6", "::", 6],
      [27014, "shared", "127.0.0.1", 4],
    ];
    for (const [n, name, address, family] of expected) {
      const p = port(report, n);
      expect(p, `port ${n}`).toMatchObject({
        kind: "service",
        name,
        state: "listening",
        owner: "service",
        conflict: false,
      });
      expect(p.holders).toHaveLength(1);
      expect(p.holders[0]).toMatchObject({ pid: pids.get(name), address, family, owner: "service", user: "root" });
      expect(p.holders[0].command).toContain("binds-port.js");
    }
    expect(port(report, 27015)).toMatchObject({
      kind: "service",
      name: "off",
      enabled: false,
      state: "free",
      owner: "none",
    });
    expect(port(report, 27018)).toMatchObject({ kind: "external", name: "pg", state: "free" });
    expect(port(report, 27019)).toMatchObject({ kind: "reserved", name: "kept for a hot spare", state: "free" });
    expect(report.groups).toEqual([{ group: "g", free: 2, next: [27016, 27017], heldByOthers: [] }]);
  });

  it("a listener of ours on a service port is FOREIGN (exit 1, with PID, user, command and the fix); on an external port it is 'external'", async () => {
    const onService = await listen("::1:27014"); // the service holds 127.0.0.1:27014; this one takes [::1]:27014
    const onExternal = await listen("127.0.0.1:27018");
    const onReserved = await listen("0.0.0.0:27019");
    const unmanaged = await listen("127.0.0.1:27016");
    await seen.add(onService.pid, onExternal.pid, onReserved.pid, unmanaged.pid);
    const { code, report } = await checkPorts();
    expect(code).toBe(1);
    expect(report).toMatchObject({ ok: false, conflicts: 1 });
    expect(report.ports[0]).toMatchObject({ port: 27014, owner: "foreign", conflict: true });
    const foreign = report.ports[0].holders.find((h) => h.owner === "foreign")!;
    expect(foreign).toMatchObject({ pid: onService.pid, address: "::1", family: 6, user: "root" });
    expect(foreign.command).toContain(process.execPath);
    expect(report.ports[0].holders.find((h) => h.owner === "service")).toMatchObject({
      pid: pids.get("shared"),
      address: "127.0.0.1",
    });
    expect(report.ports[0].problem).toContain(`PID ${onService.pid}`);
    expect(report.ports[0].fix).toContain("--kill-foreign 27014");
    expect(port(report, 27018)).toMatchObject({
      owner: "external",
      conflict: false,
      holders: [{ pid: onExternal.pid, owner: "external" }],
    });
    expect(port(report, 27019)).toMatchObject({
      owner: "foreign",
      conflict: false,
      holders: [{ pid: onReserved.pid, address: "0.0.0.0" }],
    });
    expect(report.ports[1].port).toBe(27019); // warnings right after conflicts
    expect(report.groups).toEqual([{ group: "g", free: 1, next: [27017], heldByOthers: [27016] }]);

    const text = await orchestrate(project, "check-ports");
    expect(text.exitCode).toBe(1);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toBe("1 conflict:");
    expect(lines[1]).toContain(`port 27014 of shared is held by PID ${onService.pid}`);
    expect(lines[2]).toContain(
      "fix: stop that process yourself, or deliberately: orchestrate recover --kill-foreign 27014",
    );
    expect(text.stdout).toMatch(/g\s+1 free — next 27017; 1 more held by unmanaged processes \(27016\)/);
    await stopAll();
  });

  it("after kill -9 of supervisord its children are STALE (ours, left behind): exit 1 with recover as the fix", async () => {
    const daemon = readPidfile(project.paths.pidfile)!;
    process.kill(daemon, "SIGKILL");
    expect(await pollUntil(() => !isAlive(daemon), 5000)).toBe(true);
    const { code, report } = await checkPorts();
    expect(code).toBe(1);
    expect(report.manager.running).toBe(false);
    for (const [n, name] of [
      [27010, "v4"],
      [27011, "v6"],
      [27012, "wild4"],
      [27013, "wild6"],
    ] as const) {
      const p = port(report, n);
      expect(p).toMatchObject({ owner: "stale", conflict: true, holders: [{ pid: pids.get(name), owner: "stale" }] });
      expect(p.holders[0].reason).toContain(`SUPERVISOR_SERVER_URL=unix://${project.paths.socket}, program ${name}`);
      expect(p.fix).toContain("orchestrate recover");
    }
  });
});
