/**
 * start and stop with dependencies (scripted backend): start X starts X's stopped dependencies first,
 * waiting for them; stop X refuses, before stopping anything, while a running service depends on X, and
 * stops dependents first with --with-dependents.
 */
import { describe, expect, it } from "vitest";
import { startWithDependencies, stopWithDependents } from "../../src/fleet/start-stop";
import { FakeBackend } from "../helpers/fake-backend";
import { makeModel } from "../helpers/model";

// users_api ← gateway ← frontend; auth ← gateway; worker alone
const model = makeModel("/tmp/o-fake-startstop", [
  { name: "users_api", argv: ["/bin/true"], level: 0 },
  { name: "auth", argv: ["/bin/true"], level: 0 },
  { name: "gateway", argv: ["/bin/true"], level: 1, dependsOn: ["users_api", "auth"] },
  { name: "frontend", argv: ["/bin/true"], level: 2, dependsOn: ["gateway"] },
  { name: "worker", argv: ["/bin/true"], level: 0 },
]);
const svc = (n: string) => model.services.find((s) => s.name === n)!;

describe("start with dependencies", () => {
  it("starts the stopped dependency first, says so, and leaves the running one alone", async () => {
    const backend = new FakeBackend();
    backend.set("users_api", "STOPPED");
    backend.set("auth", "RUNNING");
    backend.set("gateway", "STOPPED");
    const lines: string[] = [];
    const r = await startWithDependencies(model, backend, [svc("gateway")], (l) => lines.push(l));
    expect(r.ok).toBe(true);
    expect(r.startedDependencies).toEqual(["users_api"]);
    expect(lines).toEqual(["users_api is STOPPED: starting it first (gateway depends on it)"]);
    const starts = backend.calls.filter((c) => c.startsWith("start"));
    expect(starts).toEqual(["start users_api", "start gateway"]);
  });

  it("a dependency that fails: the service is not started, and the result says which", async () => {
    const backend = new FakeBackend({ script: { users_api: ["STARTING", "FATAL"] } });
    backend.set("users_api", "STOPPED");
    backend.set("auth", "RUNNING");
    const r = await startWithDependencies(model, backend, [svc("frontend")]);
    expect(r.ok).toBe(false);
    expect(r.startedDependencies.sort()).toEqual(["gateway", "users_api"]);
    const gateway = r.readiness.find((x) => x.name === "gateway")!;
    expect(gateway.reason).toMatch(/not started: depends on users_api/);
    expect(backend.calls).not.toContain("start frontend");
  });
});

describe("stop with dependents", () => {
  it("refuses while gateway and frontend run on users_api, naming them; nothing is stopped", async () => {
    const backend = new FakeBackend();
    for (const s of model.services) backend.set(s.name, "RUNNING");
    const r = await stopWithDependents(model, backend, [svc("users_api")], { withDependents: false });
    expect(r.ok).toBe(false);
    expect(r.refused).toEqual([
      { name: "gateway", dependsOn: ["users_api"] },
      { name: "frontend", dependsOn: ["users_api"] },
    ]);
    expect(backend.calls.filter((c) => c.startsWith("stop"))).toEqual([]);
  });

  it("--with-dependents: frontend, then gateway, then users_api; auth and worker keep running", async () => {
    const backend = new FakeBackend();
    for (const s of model.services) backend.set(s.name, "RUNNING");
    const r = await stopWithDependents(model, backend, [svc("users_api")], { withDependents: true });
    expect(r).toMatchObject({ ok: true, stopped: ["frontend", "gateway", "users_api"] });
    expect(backend.calls.filter((c) => c.startsWith("stop"))).toEqual([
      "stop frontend",
      "stop gateway",
      "stop users_api",
    ]);
  });

  it("a stopped dependent does not block the stop", async () => {
    const backend = new FakeBackend();
    for (const s of model.services) backend.set(s.name, "RUNNING");
    backend.set("gateway", "STOPPED");
    backend.set("frontend", "STOPPED");
    const r = await stopWithDependents(model, backend, [svc("users_api")], { withDependents: false });
    expect(r).toMatchObject({ ok: true, stopped: ["users_api"] });
  });
});
