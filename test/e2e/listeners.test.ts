/**
 * listListeners against real node listeners on 127.0.0.1, ::1, 0.0.0.0 and :: (ports 22010-22029), through
 * every source this host has (ss, /proc, lsof, auto); plus the port probes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectListeners, listListeners, listenersByPort, type Listener } from "../../src/inspect/listeners";
import { acceptsConnections, isPortFree, probeBind, waitForPort } from "../../src/inspect/port-probe";
import { CLUSTER_JS, listen, startReady, stopAll } from "../helpers/listeners";
import type { SpawnedProcess } from "../../src/exec/run";

const linux = process.platform === "linux";
const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const methods = [
  "auto",
  ...(linux && has("ss") ? ["ss"] : []),
  ...(linux ? ["proc"] : []),
  ...(has("lsof") ? ["lsof"] : []),
] as const as readonly ("auto" | "ss" | "proc" | "lsof")[];

const CASES = [
  { port: 22010, host: "127.0.0.1", address: "127.0.0.1", family: 4 },
  { port: 22011, host: "::1", address: "::1", family: 6 },
  { port: 22012, host: "0.0.0.0", address: "0.0.0.0", family: 4 },
  { port: 22013, host: "::", address: "::", family: 6 },
] as const;
const SHARED = 22014;
const FREE = 22019;
const me = userInfo().username;

const procs = new Map<number, SpawnedProcess>();
let cluster: SpawnedProcess;

beforeAll(async () => {
  for (const c of CASES) procs.set(c.port, await listen(`${c.host}:${c.port}`));
  cluster = await startReady([process.execPath, "-e", CLUSTER_JS, String(SHARED)]);
});
afterAll(stopAll);

describe.each(methods)("listListeners via %s", (method) => {
  let listeners: Listener[];
  beforeAll(async () => {
    listeners = await listListeners({ method, ports: [...CASES.map((c) => c.port), SHARED, FREE] });
  });

  it.each(CASES)("names pid, command and user for $host:$port", ({ port, address, family }) => {
    const found = listeners.filter((l) => l.port === port);
    expect(found, `one listener on ${port}, found ${JSON.stringify(found)}`).toHaveLength(1);
    const [l] = found;
    expect(l).toMatchObject({ address, family, pid: procs.get(port)!.pid, pids: [procs.get(port)!.pid], user: me });
    expect(l.command).toContain(process.execPath);
    expect(l.command).toContain(`:${port}`);
    expect(l.processes[0]).toMatchObject({ pid: l.pid, pgid: procs.get(port)!.pid });
    if (method !== "lsof") expect(l.inode).toBeGreaterThan(0);
  });

  it("a free port has no listener; results are filtered to the asked ports", () => {
    expect(listeners.some((l) => l.port === FREE)).toBe(false);
    expect(listeners.every((l) => [...CASES.map((c) => c.port), SHARED].includes(l.port))).toBe(true);
  });

  it("a socket shared by cluster workers reports every holder", async () => {
    const l = listeners.find((x) => x.port === SHARED)!;
    expect(l).toBeDefined();
    const table = l.processes;
    const workers = table.filter((p) => p.ppid === cluster.pid).map((p) => p.pid);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    for (const w of workers) expect(l.pids).toContain(w);
    // the main holder is the one whose parent does not hold it: the primary when it keeps the fd, else a worker
    expect(l.pid === cluster.pid || workers.includes(l.pid!)).toBe(true);
    if (l.pids.includes(cluster.pid)) expect(l.pid).toBe(cluster.pid);
  });
});

describe("listListeners (auto)", () => {
  it("reports its source and no notes for our own listeners", async () => {
    const report = await inspectListeners({ ports: CASES.map((c) => c.port) });
    expect(report.source).toBe(linux ? "ss" : "lsof");
    expect(report.notes).toEqual([]);
  });
  it("sees the :: listener as dual-stack via ss", async () => {
    if (!linux || !has("ss")) return;
    const [l] = await listListeners({ method: "ss", ports: [22013] });
    expect(l.dualStack).toBe(true);
  });
  it("listenersByPort keys every asked port, [] = free", async () => {
    const map = await listenersByPort([22010, FREE]);
    expect([...map.keys()].sort()).toEqual([22010, FREE]);
    expect(map.get(FREE)).toEqual([]);
    expect(map.get(22010)!.map((l) => l.pid)).toEqual([procs.get(22010)!.pid]);
  });
  it.runIf(linux)("falls back to /proc, and says so, when ss is not installed", async () => {
    const saved = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), "orchestrate-nopath-"));
    try {
      const report = await inspectListeners({ ports: [22010] });
      expect(report.source).toBe("proc");
      expect(report.notes.join("\n")).toMatch(/ss \(iproute2\) is not installed; read \/proc\/net\/tcp/);
      expect(report.listeners.map((l) => l.pid)).toEqual([procs.get(22010)!.pid]);
      await expect(listListeners({ method: "ss" })).rejects.toThrow(/install iproute2 or use method "proc"/);
    } finally {
      process.env.PATH = saved;
    }
  });
  it("a forced method that cannot work says what to do", async () => {
    if (linux) return;
    await expect(listListeners({ method: "proc" })).rejects.toThrow(/needs Linux/);
  });
});

describe("port probes", () => {
  it.each(CASES)(
    "isPortFree is false with a listener on $host:$port (dual-stack probe sees every address)",
    async ({ port }) => {
      expect(await isPortFree(port)).toBe(false);
    },
  );
  it("isPortFree is true for a free port and leaves it free", async () => {
    expect(await isPortFree(FREE)).toBe(true);
    expect(await isPortFree(FREE)).toBe(true);
  });
  it("a host-specific probe only sees that address", async () => {
    expect(await probeBind(22011, "127.0.0.1")).toEqual({ free: true, host: "127.0.0.1" });
    expect(await probeBind(22010, "127.0.0.1")).toMatchObject({ free: false, code: "EADDRINUSE" });
  });
  it("acceptsConnections on loopback v4 and v6", async () => {
    expect(await acceptsConnections(22010)).toBe(true);
    expect(await acceptsConnections(22011, "::1")).toBe(true);
    expect(await acceptsConnections(22011, "127.0.0.1")).toBe(false);
    expect(await acceptsConnections(FREE)).toBe(false);
  });
  it("waitForPort returns at once for a ready port and finds a ::1-only listener", async () => {
    expect(await waitForPort(22010, { timeoutMs: 1000 })).toMatchObject({ ok: true, host: "127.0.0.1", attempts: 1 });
    expect(await waitForPort(22011, { timeoutMs: 1000 })).toMatchObject({ ok: true, host: "::1" });
  });
  it("waitForPort sees a listener that appears later, times out, and can be cancelled", async () => {
    const port = 22015;
    const waiting = waitForPort(port, { timeoutMs: 10_000 });
    await listen(`127.0.0.1:${port}`);
    const result = await waiting;
    expect(result.ok).toBe(true);
    const timeout = await waitForPort(FREE, { timeoutMs: 150 });
    expect(timeout).toMatchObject({ ok: false, reason: "timeout" });
    expect(timeout.ms).toBeGreaterThanOrEqual(150);
    expect(timeout.ms).toBeLessThan(1000);
    expect(await waitForPort(FREE, { isCancelled: () => true })).toMatchObject({
      ok: false,
      reason: "cancelled",
      attempts: 0,
    });
  });
});
