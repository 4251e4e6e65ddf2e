/**
 * The rollout's order and abort logic with a scripted backend (no supervisord, no proxy): instances replaced one
 * batch at a time (maxUnavailable), the others never touched meanwhile; a new process that fails readiness stops
 * the rollout, is brought back on its previous program file, and the instances after it are never stopped.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rollOut } from "../../src/fleet/rollout";
import { rolledServices } from "../../src/fleet/rollout-plan";
import { selectTargets } from "../../src/model/lookup";
import type { Instance } from "../../src/model/types";
import { FakeBackend } from "../helpers/fake-backend";
import { makeModel } from "../helpers/model";

const root = mkdtempSync(join(tmpdir(), "o-rollout-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const instancesOf = (name: string, n: number): Instance[] =>
  Array.from({ length: n }, (_, index) => ({
    index,
    program: `${name}@${index}`,
    label: `${name}:${index}`,
    argv: ["/bin/true", String(index)],
    env: {},
    stdoutLog: `${root}/logs/${name}@${index}.out.log`,
    stderrLog: `${root}/logs/${name}@${index}.err.log`,
  }));

const model = makeModel(root, [
  { name: "api", argv: ["/bin/true"], level: 0, instances: instancesOf("api", 3) },
  { name: "single", argv: ["/bin/true"], level: 0 },
  { name: "job", argv: ["/bin/true"], level: 0, type: "oneshot", restart: "never" },
]);
const api = model.services.find((s) => s.name === "api")!;
const running = (like: "supervisor" | "systemd" = "supervisor", options = {}) => {
  const b = new FakeBackend({ like, ...options });
  for (const i of api.instances) b.set(i.program, "RUNNING");
  return b;
};
const control = (b: FakeBackend) => b.calls.filter((c) => /^(stop|start) /.test(c));

describe("rollout order", () => {
  it("replaces one instance at a time: each is stopped and started before the next is touched", async () => {
    for (const like of ["supervisor", "systemd"] as const) {
      const b = running(like);
      const lines: string[] = [];
      const r = await rollOut(model, b, api, { onLine: (l) => lines.push(l) });
      expect(r.ok).toBe(true);
      expect(r.proxied).toBe(false);
      expect(r.replaced).toEqual(["api:0", "api:1", "api:2"]);
      expect(control(b)).toEqual([
        "stop api@0",
        "start api@0",
        "stop api@1",
        "start api@1",
        "stop api@2",
        "start api@2",
      ]);
      // each instance's new configuration is loaded on its own, after it stopped
      expect(b.calls.filter((c) => c.startsWith("apply"))).toEqual(["apply(select)", "apply(select)", "apply(select)"]);
      expect(lines.join("\n")).toMatch(/not behind the proxy: instances are replaced 1 at a time.*clients must retry/);
    }
  });

  it("maxUnavailable 2 takes two out at once, then the rest", async () => {
    const b = running();
    const r = await rollOut(model, b, api, { maxUnavailable: 2 });
    expect(r.ok).toBe(true);
    expect(control(b)).toEqual(["stop api@0", "stop api@1", "start api@0", "start api@1", "stop api@2", "start api@2"]);
  });

  it("a changed program is loaded only when its turn comes (held until then)", async () => {
    const b = running("supervisor", { applied: { changed: ["api@0", "api@1", "api@2"] } });
    const first = await b.apply({ select: (p) => !p.startsWith("api@") });
    expect(first.held).toEqual(["api@0", "api@1", "api@2"]);
    await rollOut(model, b, api);
    expect((await b.apply()).changed).toEqual([]);
  });
});

describe("rollout abort", () => {
  it("a new process that fails stops the rollout; it comes back on its previous file; later instances are untouched", async () => {
    const previous = [
      { path: "units/supervisor/api@1.conf", content: "[program:api@1]\nprevious\n", mode: 0o644 },
      { path: "units/supervisor/api@2.conf", content: "[program:api@2]\nprevious\n", mode: 0o644 },
      { path: "units/supervisor/api@0.conf", content: "[program:api@0]\nprevious\n", mode: 0o644 },
    ];
    const b = running("supervisor", {
      startScripts: {
        "api@1": [
          ["STARTING", "FATAL"],
          ["STARTING", "RUNNING"],
        ],
      },
      logs: { "api@1": "Traceback: ModuleNotFoundError: no module named nope" },
    });
    const lines: string[] = [];
    const r = await rollOut(model, b, api, { previous, onLine: (l) => lines.push(l) });
    expect(r.ok).toBe(false);
    expect(r.replaced).toEqual(["api:0"]);
    expect(r.failed?.name).toBe("api:1");
    expect(r.failed?.restored).toBe(true);
    expect(r.failed?.logTail).toMatch(/ModuleNotFoundError/);
    expect(r.notReplaced).toEqual(["api:2"]);
    // api@2 was never stopped; api@1 was started twice (new, then previous)
    expect(control(b)).toEqual(["stop api@0", "start api@0", "stop api@1", "start api@1", "stop api@1", "start api@1"]);
    // the failed and the not replaced instance get their previous program file back; the replaced one keeps the new
    expect(readFileSync(join(root, "units/supervisor/api@1.conf"), "utf8")).toMatch(/previous/);
    expect(readFileSync(join(root, "units/supervisor/api@2.conf"), "utf8")).toMatch(/previous/);
    expect(() => readFileSync(join(root, "units/supervisor/api@0.conf"))).toThrow();
    expect(lines.join("\n")).toMatch(
      /rollout of api stopped at api:1: api:0 run the new configuration; api:1 back on the previous configuration and ready; api:2 not replaced/,
    );
  });

  it("says so when the previous configuration does not come up either", async () => {
    const b = running("supervisor", { script: { "api@0": ["STARTING", "FATAL"] } });
    const r = await rollOut(model, b, api);
    expect(r.ok).toBe(false);
    expect(r.failed?.restored).toBe(false);
    expect(r.replaced).toEqual([]);
    expect(r.notReplaced).toEqual(["api:1", "api:2"]);
    expect(control(b).filter((c) => c.endsWith("api@1") || c.endsWith("api@2"))).toEqual([]);
  });
});

describe("what restart rolls", () => {
  it("named services with two or more instances; not a single instance or a oneshot", () => {
    const rolled = rolledServices(selectTargets(model, ["api", "single", "job"]));
    expect(rolled.map((r) => r.service.name)).toEqual(["api"]);
    expect(rolledServices(selectTargets(model, ["api:1"]))[0].instances.map((i) => i.label)).toEqual(["api:1"]);
  });
});
