/**
 * Process table and trees against real processes: a shell wrapper that execs node, one that forks it, a
 * node parent spawning a listening child (ports 22030-22049). Only processes started here are signalled.
 */
import { afterAll, describe, expect, it } from "vitest";
import { listListeners } from "../../src/inspect/listeners";
import {
  cgroupOf,
  descendants,
  isAlive,
  inProgramTree,
  listProcesses,
  processInfo,
  systemdUnitOf,
} from "../../src/inspect/processes";
import { waitForExit } from "../../src/signal/poll";
import { LISTEN_JS, PARENT_JS, startReady, stopAll } from "../helpers/listeners";

const linux = process.platform === "linux";
const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const nodeListen = (spec: string) => `${shQuote(process.execPath)} -e ${shQuote(LISTEN_JS)} ${spec}`;

afterAll(stopAll);

async function holderOf(port: number): Promise<number> {
  const [l] = await listListeners({ ports: [port] });
  expect(l?.pid, `a listener on ${port}`).toBeDefined();
  return l.pid!;
}

describe("processInfo / listProcesses", () => {
  it("describes this test process", async () => {
    const me = await processInfo(process.pid);
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid, uid: process.getuid!() });
    expect(me!.command).toContain(process.execPath.split("/").pop());
    expect(me!.startTime).toBeGreaterThan(0);
    expect(me!.pgid).toBeGreaterThan(0);
  });
  it("undefined for a PID that does not exist", async () => {
    expect(await processInfo(2 ** 22 + 12345)).toBeUndefined();
    expect(await processInfo(-1)).toBeUndefined();
  });
  it("one scan holds this process and its parent", async () => {
    const table = await listProcesses();
    expect(table.get(process.pid)?.ppid).toBe(process.ppid);
    expect(table.has(process.ppid)).toBe(true);
  });
});

describe("trees", () => {
  it("sh -c 'exec node …': the listener IS the spawned PID", async () => {
    const proc = await startReady(["sh", "-c", `exec ${nodeListen("127.0.0.1:22030")}`]);
    const pid = await holderOf(22030);
    expect(pid).toBe(proc.pid);
    expect(await descendants(proc.pid)).toEqual(new Set([proc.pid]));
  });

  it("sh -c 'node …; …': the listener is a child of the shell, in its tree and its process group", async () => {
    const proc = await startReady(["sh", "-c", `${nodeListen("127.0.0.1:22031")}; echo never`]);
    const pid = await holderOf(22031);
    expect(pid).not.toBe(proc.pid);
    const table = await listProcesses();
    expect(table.get(pid)?.ppid).toBe(proc.pid);
    expect((await descendants(proc.pid, table)).has(pid)).toBe(true);
    expect(inProgramTree(pid, proc.pid, table)).toBe(true);
    expect(inProgramTree(proc.pid, pid, table)).toBe(false);
    const group = [...table.values()].filter((p) => p.pgid === proc.pid).map((p) => p.pid);
    expect(group.sort((a, b) => a - b)).toEqual([proc.pid, pid].sort((a, b) => a - b));
  });

  it("a node parent spawning a listening child: descendants() holds the listener; a stranger is not in the tree", async () => {
    const proc = await startReady([process.execPath, "-e", PARENT_JS, "::1:22032"]);
    const pid = await holderOf(22032);
    const tree = await descendants(proc.pid);
    expect(tree.has(pid)).toBe(true);
    expect(tree.has(process.pid)).toBe(false);
    const table = await listProcesses();
    expect(inProgramTree(process.pid, proc.pid, table)).toBe(false);
    expect(table.get(pid)?.pgid).toBe(proc.pid);
  });

  it("descendants of a missing root is empty", async () => {
    expect((await descendants(2 ** 22 + 12345)).size).toBe(0);
  });
});

describe("liveness", () => {
  it("isAlive, PID-reuse guard, waitForExit", async () => {
    const proc = await startReady([process.execPath, "-e", LISTEN_JS, "127.0.0.1:22033"]);
    const info = (await processInfo(proc.pid))!;
    expect(isAlive(proc.pid)).toBe(true);
    expect(isAlive(proc.pid, info.startTime)).toBe(true);
    if (linux) expect(isAlive(proc.pid, info.startTime + 1)).toBe(false);
    const t0 = performance.now();
    expect(await waitForExit(proc.pid, 50)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
    proc.signalGroup("SIGTERM");
    const t1 = performance.now();
    expect(await waitForExit(proc.pid, 5000, info.startTime)).toBe(true);
    expect(performance.now() - t1).toBeLessThan(2000);
    expect(isAlive(proc.pid)).toBe(false);
    expect(isAlive(0)).toBe(false);
  });
});

describe.runIf(linux)("cgroups", () => {
  it("cgroupOf gives a path; systemdUnitOf extracts a unit name", () => {
    expect(cgroupOf(process.pid)).toMatch(/^\//);
    expect(cgroupOf(2 ** 22 + 12345)).toBeUndefined();
    expect(systemdUnitOf("/system.slice/recio-api.service")).toBe("recio-api.service");
    expect(systemdUnitOf("/system.slice/recio-api.service/child")).toBe("recio-api.service");
    expect(systemdUnitOf("/user.slice/user-1000.slice/session-2.scope")).toBeUndefined();
  });
});
