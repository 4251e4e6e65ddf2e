/**
 * Start order with a scripted backend (no supervisord): dependents stop first, levels start in order,
 * a failed dependency keeps its dependents from starting, and what the backend starts on apply itself
 * is only waited for.
 */
import { describe, expect, it } from "vitest";
import { startInOrder } from "../../src/fleet/start-order";
import { FakeBackend } from "../helpers/fake-backend";
import { makeModel } from "../helpers/model";

// db ← api ← web, and a worker on its own; levels as the resolver computes them
const model = makeModel("/tmp/o-fake-order", [
  { name: "db", argv: ["/bin/true"], level: 0 },
  { name: "api", argv: ["/bin/true"], level: 1, dependsOn: ["db"] },
  { name: "web", argv: ["/bin/true"], level: 2, dependsOn: ["api"] },
  { name: "worker", argv: ["/bin/true"], level: 0 },
]);

describe("startInOrder", () => {
  it("restart: stops dependents first (web, api, then db), then starts level by level", async () => {
    const backend = new FakeBackend();
    for (const s of model.services) backend.set(s.name, "RUNNING");
    const lines: string[] = [];
    const result = await startInOrder(model, backend, model.services, { restart: true, onLine: (l) => lines.push(l) });
    expect(result.every((r) => r.ok)).toBe(true);
    const stops = backend.calls.filter((c) => c.startsWith("stop"));
    expect(stops.indexOf("stop web")).toBeLessThan(stops.indexOf("stop api"));
    expect(stops.indexOf("stop api")).toBeLessThan(stops.indexOf("stop db"));
    const starts = backend.calls.filter((c) => c.startsWith("start"));
    expect(starts.indexOf("start db")).toBeLessThan(starts.indexOf("start api"));
    expect(starts.indexOf("start api")).toBeLessThan(starts.indexOf("start web"));
    expect(lines.filter((l) => l.startsWith("✓"))).toHaveLength(4);
  });

  it("a dependency that goes FATAL: its dependents are not started and say why; the independent worker still runs", async () => {
    const backend = new FakeBackend({
      script: { api: ["STARTING", "BACKOFF", "FATAL"] },
      logs: { api: "Traceback: boom" },
    });
    const result = await startInOrder(model, backend, model.services, { restart: false });
    const byName = new Map(result.map((r) => [r.name, r]));
    expect(byName.get("db")!.ok).toBe(true);
    expect(byName.get("worker")!.ok).toBe(true);
    expect(byName.get("api")).toMatchObject({ ok: false, logTail: "Traceback: boom" });
    expect(byName.get("api")!.reason).toMatch(/^FATAL/);
    expect(byName.get("web")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not started: depends on api/),
    });
    expect(backend.calls).not.toContain("start web");
  });

  it("programs the backend starts itself on apply (supervisord autostart) are waited for, not started again", async () => {
    const supervisord = new FakeBackend();
    supervisord.set("db", "RUNNING"); // what its apply did: addProcessGroup spawned it
    const systemd = new FakeBackend({ like: "systemd" });
    for (const backend of [supervisord, systemd]) {
      const result = await startInOrder(model, backend, [model.services[0]], {
        restart: false,
        fresh: new Set(["db"]),
      });
      expect(result[0].ok, backend.label).toBe(true);
    }
    expect(supervisord.calls).not.toContain("start db");
    expect(systemd.calls).toContain("start db");
  });
});
