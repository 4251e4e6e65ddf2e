/**
 * Start order as a graph with a scripted backend (no supervisord): a service starts the moment its own
 * dependencies are ready, not when its whole level is; stopping runs the graph in reverse with independent
 * services in parallel; readiness gives up at once on BACKOFF/FATAL/EXITED instead of waiting readyTimeout.
 */
import { describe, expect, it } from "vitest";
import { startInOrder, stopInOrder } from "../../src/fleet/start-order";
import { waitReady } from "../../src/fleet/readiness";
import { FakeBackend } from "../helpers/fake-backend";
import { makeModel } from "../helpers/model";

// slowdb ← api        (api waits for slowdb)
// cache  ← web        (web waits only for cache, which is quick)
const model = makeModel("/tmp/o-fake-dag", [
  { name: "slowdb", argv: ["/bin/true"], level: 0 },
  { name: "cache", argv: ["/bin/true"], level: 0 },
  { name: "api", argv: ["/bin/true"], level: 1, dependsOn: ["slowdb"] },
  { name: "web", argv: ["/bin/true"], level: 1, dependsOn: ["cache"] },
]);

describe("start as a graph", () => {
  it("web starts as soon as cache is ready, while slowdb (same level as cache) is still starting", async () => {
    const backend = new FakeBackend({
      script: { slowdb: [...Array(12).fill("STARTING"), "RUNNING"] },
    });
    const result = await startInOrder(model, backend, model.services, { restart: false });
    expect(result.every((r) => r.ok)).toBe(true);
    const starts = backend.calls.filter((c) => c.startsWith("start"));
    expect(starts.indexOf("start web")).toBeLessThan(starts.indexOf("start api"));
    // web finished before slowdb did: results come in the order they finished
    const order = result.map((r) => r.name);
    expect(order.indexOf("web")).toBeLessThan(order.indexOf("slowdb"));
    expect(order.indexOf("slowdb")).toBeLessThan(order.indexOf("api"));
  });

  it("a failed dependency keeps only its own dependents from starting", async () => {
    const backend = new FakeBackend({ script: { cache: ["STARTING", "FATAL"] } });
    const result = await startInOrder(model, backend, model.services, { restart: false });
    const byName = new Map(result.map((r) => [r.name, r]));
    expect(byName.get("web")!.reason).toMatch(/not started: depends on cache/);
    expect(byName.get("api")!.ok).toBe(true);
    expect(backend.calls).not.toContain("start web");
  });

  it("services free at the same moment are asked in priority order (lower first)", async () => {
    const prio = makeModel("/tmp/o-fake-prio", [
      { name: "b", argv: ["/bin/true"], programPriority: 300 },
      { name: "a", argv: ["/bin/true"], programPriority: 100 },
      { name: "c", argv: ["/bin/true"], programPriority: 200 },
    ]);
    const backend = new FakeBackend();
    await startInOrder(prio, backend, prio.services, { restart: false });
    expect(backend.calls.filter((c) => c.startsWith("start"))).toEqual(["start a", "start c", "start b"]);
  });
});

describe("stop in reverse", () => {
  it("each service stops after its dependents; independent ones do not wait for each other", async () => {
    const chain = makeModel("/tmp/o-fake-stop", [
      { name: "db", argv: ["/bin/true"], level: 0 },
      { name: "api", argv: ["/bin/true"], level: 1, dependsOn: ["db"] },
      { name: "web", argv: ["/bin/true"], level: 2, dependsOn: ["api"] },
      { name: "worker", argv: ["/bin/true"], level: 0 },
    ]);
    const backend = new FakeBackend();
    for (const s of chain.services) backend.set(s.name, "RUNNING");
    await stopInOrder(backend, chain.services);
    const stops = backend.calls.filter((c) => c.startsWith("stop"));
    expect(stops.indexOf("stop web")).toBeLessThan(stops.indexOf("stop api"));
    expect(stops.indexOf("stop api")).toBeLessThan(stops.indexOf("stop db"));
    // worker has no dependents: it is asked together with the first ones, not after db
    expect(stops.indexOf("stop worker")).toBeLessThan(stops.indexOf("stop api"));
  });
});

describe("fail fast", () => {
  for (const state of ["BACKOFF", "FATAL", "EXITED"] as const) {
    it(`${state}: readiness gives up with the state and the log tail, not after readyTimeout`, async () => {
      const backend = new FakeBackend({
        script: { api: ["STARTING", "STARTING", state] },
        logs: { api: "Traceback (most recent call last):\nValueError: boom" },
      });
      const api = model.services.find((s) => s.name === "api")!;
      await backend.start("api");
      const r = await waitReady(backend, { ...api, readyTimeout: 600 });
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(new RegExp(`^${state}`));
      expect(r.reason).not.toContain("readyTimeout");
      expect(r.logTail).toContain("ValueError: boom");
    });
  }

  it("a oneshot that EXITED with one of its exitCodes is ready", async () => {
    const backend = new FakeBackend({ script: { job: ["STARTING", "EXITED"] } });
    const job = makeModel("/tmp/o-fake-oneshot", [
      { name: "job", argv: ["/bin/true"], type: "oneshot", exitCodes: [0, 1], restart: "never" },
    ]).services[0];
    await backend.start("job");
    const r = await waitReady(backend, job);
    expect(r).toMatchObject({ ok: true, name: "job" });
  });
});
