/**
 * Instances, oneshots and autostart false in the procedures, with a scripted backend (no supervisord):
 * NAME / NAME:I addressing, every instance started and waited for, a oneshot's exit code deciding whether
 * its dependents start, and verify's verdict on a oneshot and on a manual service.
 */
import { describe, expect, it } from "vitest";
import { UnknownServiceError, UsageError } from "../../src/errors";
import { startInOrder } from "../../src/fleet/start-order";
import { startInstances } from "../../src/fleet/control";
import { parseTarget, selectTargets } from "../../src/model/lookup";
import { verifyServices } from "../../src/verify/verify";
import type { Instance } from "../../src/model/types";
import { FakeBackend } from "../helpers/fake-backend";
import { makeModel } from "../helpers/model";

const root = "/tmp/o-fake-instances";
const workerInstances = (name: string, n: number): Instance[] =>
  Array.from({ length: n }, (_, index) => ({
    index,
    program: `${name}@${index}`,
    label: `${name}:${index}`,
    argv: ["/bin/true", String(index)],
    env: {},
    stdoutLog: `${root}/logs/${name}@${index}.out.log`,
    stderrLog: `${root}/logs/${name}@${index}.err.log`,
  }));

// migrate (oneshot) ← pool (2 instances) ← web; manual: autostart false
const model = makeModel(root, [
  { name: "migrate", argv: ["/bin/true"], level: 0, type: "oneshot", restart: "never", exitCodes: [0, 2] },
  { name: "pool", argv: ["/bin/true"], level: 1, dependsOn: ["migrate"], instances: workerInstances("pool", 2) },
  { name: "web", argv: ["/bin/true"], level: 2, dependsOn: ["pool"] },
  { name: "manual", argv: ["/bin/true"], level: 0, autostart: false },
]);
const find = (name: string) => model.services.find((s) => s.name === name)!;

describe("NAME and NAME:I", () => {
  it("NAME is every instance, NAME:I one, a service without instances answers to NAME and NAME:0", () => {
    expect(parseTarget(model, "pool").map((t) => t.instance.program)).toEqual(["pool@0", "pool@1"]);
    expect(parseTarget(model, "pool:1").map((t) => t.instance.program)).toEqual(["pool@1"]);
    expect(parseTarget(model, "web:0").map((t) => t.instance.program)).toEqual(["web"]);
    expect(selectTargets(model, ["pool:1", "pool"]).map((t) => t.instance.label)).toEqual(["pool:1", "pool:0"]);
    expect(selectTargets(model, undefined)).toHaveLength(5);
  });

  it("a bad index is a usage error naming the instances; an unknown name names the closest", () => {
    expect(() => parseTarget(model, "pool:2")).toThrow(UsageError);
    expect(() => parseTarget(model, "pool:2")).toThrow(/pool has 2 instances \(0-1\), found index 2/);
    expect(() => parseTarget(model, "pool:x")).toThrow(/expected NAME or NAME:I with I a whole number/);
    try {
      parseTarget(model, "pol:1");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownServiceError);
      expect(String((e as Error).message) + JSON.stringify(e)).toMatch(/pool/);
    }
  });
});

describe("startInOrder with instances and a oneshot", () => {
  const services = model.services.filter((s) => s.autostart);

  it("the oneshot runs first (stopped, then started, on restart); every instance of the next level starts after it exited with an expected code", async () => {
    const backend = new FakeBackend({ script: { migrate: ["STARTING", "EXITED"] }, exitStatus: { migrate: 2 } });
    const lines: string[] = [];
    const result = await startInOrder(model, backend, services, { restart: true, onLine: (l) => lines.push(l) });
    expect(result.map((r) => [r.name, r.ok])).toEqual([
      ["migrate", true],
      ["pool:0", true],
      ["pool:1", true],
      ["web", true],
    ]);
    const calls = backend.calls.filter((c) => c.startsWith("start") || c.startsWith("stop"));
    expect(calls.indexOf("stop migrate")).toBeLessThan(calls.lastIndexOf("start migrate"));
    expect(calls.indexOf("start migrate")).toBeLessThan(calls.indexOf("start pool@0"));
    expect(calls.indexOf("start pool@1")).toBeLessThan(calls.indexOf("start web"));
    expect(backend.calls).not.toContain("start manual");
    expect(lines.some((l) => /migrate ran in .* \(exit 2\)/.test(l))).toBe(true);
  });

  it("a oneshot that exits with an unexpected code keeps its dependents stopped, and says so", async () => {
    const backend = new FakeBackend({
      script: { migrate: ["STARTING", "EXITED"] },
      exitStatus: { migrate: 3 },
      logs: { migrate: "migration 0042 failed" },
    });
    const result = await startInOrder(model, backend, services, { restart: true });
    const byName = new Map(result.map((r) => [r.name, r]));
    expect(byName.get("migrate")).toMatchObject({ ok: false, logTail: "migration 0042 failed" });
    expect(byName.get("migrate")!.reason).toMatch(/oneshot exited with code 3, expected 0 or 2 \(exitCodes\)/);
    expect(byName.get("pool:0")!.reason).toMatch(/not started: depends on migrate/);
    expect(byName.get("pool:1")!.reason).toMatch(/not started: depends on migrate/);
    expect(byName.get("web")!.reason).toMatch(/not started: depends on pool/);
    expect(backend.calls.filter((c) => /^start (pool|web)/.test(c))).toEqual([]);
  });

  it("after the manager started everything itself, a failed oneshot's running dependents are stopped again", async () => {
    const backend = new FakeBackend({ exitStatus: { migrate: 1 } });
    backend.set("migrate", "EXITED");
    for (const p of ["pool@0", "pool@1", "web"]) backend.set(p, "RUNNING");
    const result = await startInOrder(model, backend, services, { restart: false });
    expect(backend.calls).not.toContain("start migrate"); // it ran already: not run twice
    expect(backend.calls).toEqual(expect.arrayContaining(["stop pool@0", "stop pool@1"]));
    expect(result.find((r) => r.name === "pool:1")!.reason).toMatch(/\(stopped again\)/);
  });

  it("programs: only the named instance starts", async () => {
    const backend = new FakeBackend();
    const result = await startInOrder(model, backend, [find("pool")], {
      restart: true,
      programs: new Set(["pool@1"]),
    });
    expect(result.map((r) => r.name)).toEqual(["pool:1"]);
    expect(backend.calls.filter((c) => c.includes("pool@0"))).toEqual([]);
  });

  it("orchestrate start of a oneshot runs it again (stop, then start); a manual service starts", async () => {
    const backend = new FakeBackend({ script: { migrate: ["STARTING", "EXITED"] }, exitStatus: { migrate: 0 } });
    const result = await startInstances(backend, [...parseTarget(model, "migrate"), ...parseTarget(model, "manual")]);
    expect(result.map((r) => [r.name, r.ok])).toEqual([
      ["migrate", true],
      ["manual", true],
    ]);
    expect(backend.calls.slice(0, 4)).toEqual(
      expect.arrayContaining(["stop migrate", "start migrate", "start manual"]),
    );
  });
});

describe("verify of a oneshot and of a manual service", () => {
  it("oneshot EXITED with an expected code passes; a manual service that is STOPPED passes as manual; a row per instance", async () => {
    const backend = new FakeBackend({ exitStatus: { migrate: 2 } });
    backend.set("migrate", "EXITED");
    backend.set("manual", "STOPPED");
    backend.set("pool@0", "RUNNING");
    backend.set("pool@1", "RUNNING");
    const checks = await verifyServices(model, backend, [find("migrate"), find("manual"), find("pool")], {
      usage: false,
    });
    expect(checks.map((c) => [c.name, c.program, c.instance, c.ok, c.manual ?? false])).toEqual([
      ["migrate", "migrate", 0, true, false],
      ["manual", "manual", 0, true, true],
      ["pool:0", "pool@0", 0, true, false],
      ["pool:1", "pool@1", 1, true, false],
    ]);
  });

  it("a oneshot whose last run failed names the exit code and its log tail; one that never ran says how to run it", async () => {
    const backend = new FakeBackend({ exitStatus: { migrate: 3 }, logs: { migrate: "boom: table exists" } });
    backend.set("migrate", "EXITED");
    const [failed] = await verifyServices(model, backend, [find("migrate")], { usage: false });
    expect(failed.ok).toBe(false);
    expect(failed.problems[0]).toMatch(/last run exited with code 3, expected 0 or 2 \(exitCodes\)/);
    expect(failed.problems[0]).toMatch(/boom: table exists/);
    backend.set("migrate", "STOPPED");
    const [never] = await verifyServices(model, backend, [find("migrate")], { usage: false });
    expect(never.problems[0]).toMatch(/has not run \(STOPPED\)/);
  });

  it("a manual service that runs is verified like any other (a FATAL one fails)", async () => {
    const backend = new FakeBackend();
    backend.set("manual", "FATAL");
    const [check] = await verifyServices(model, backend, [find("manual")], { usage: false });
    expect(check).toMatchObject({ ok: false, state: "FATAL" });
    expect(check.manual).toBeUndefined();
  });
});
