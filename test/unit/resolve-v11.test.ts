/** resolveModel for manifest v1.1: instances (ports, argv, env, programs, labels, logs), lifecycle defaults, references, priority. */
import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/manifest/validate";
import { programPriority, resolveModel } from "../../src/manifest/resolve";
import { availablePorts } from "../../src/model/budget";
import type { Model } from "../../src/model/types";

const manifest = {
  project: "demo",
  host: "127.0.0.1",
  ports: { avoid: [8003], reserved: { "8005": "kept" } },
  groups: { core: { range: "8000-8099" }, pool: { range: "8100-8199" } },
  external: { pg: { port: 8101 } },
  services: {
    users: { group: "core", port: 8001, instances: 2, command: "bin/users --port {port} --shard {instance}" },
    pinned: { group: "core", ports: [8010, 8020], instances: 2, command: "x", env: { ME: "{name}:{instance}" } },
    pooled: { group: "pool", instances: 3, command: "x" },
    migrate: { type: "oneshot", command: "bin/migrate", exitCodes: [0, 3], stderr: "merge" },
    gateway: {
      group: "core",
      port: 8000,
      command: ["/usr/bin/node", "gw.js", "--users={url:users}"],
      env: { USERS_PORT: "{port:users}", POOL: "{url:pooled}/x", LIT: "{{port}}" },
      dependsOn: ["users", "migrate", "pooled"],
      autostart: false,
      restart: "on-failure",
      priority: 7,
    },
    v1: { group: "core", port: 8030, command: "x" },
  },
};

describe("resolveModel v1.1", () => {
  const v = validateManifest(manifest);
  const model = resolveModel(v.manifest!, "/srv/demo/manifest.json");
  const by = (n: string) => model.services.find((s) => s.name === n)!;

  it("is valid input (warning only about the chosen ports)", () => {
    expect(v.errors).toEqual([]);
    expect(v.warnings.map((w) => `${w.service}:${w.field}`)).toEqual(["pooled:instances"]);
  });
  it("gives instance i port + i, its own PORT, argv and {instance}", () => {
    const users = by("users");
    expect(users.multi).toBe(true);
    expect(users.instances.map((i) => [i.index, i.port, i.program, i.label])).toEqual([
      [0, 8001, "users@0", "users:0"],
      [1, 8002, "users@1", "users:1"],
    ]);
    expect(users.instances[1].argv).toEqual(["/srv/demo/bin/users", "--port", "8002", "--shard", "1"]);
    expect(users.instances[1].env).toMatchObject({ PORT: "8002", HOST: "127.0.0.1", SERVICE_NAME: "users" });
    expect(users.instances[1].stdoutLog).toBe("/srv/demo/logs/users@1.out.log");
    expect(users.instances[1].stderrLog).toBe("/srv/demo/logs/users@1.err.log");
    expect([users.port, users.argv, users.env, users.stdoutLog]).toEqual([
      8001,
      users.instances[0].argv,
      users.instances[0].env,
      "/srv/demo/logs/users@0.out.log",
    ]);
  });
  it("takes ports[i] when written", () => {
    expect(by("pinned").instances.map((i) => [i.port, i.env.ME])).toEqual([
      [8010, "pinned:0"],
      [8020, "pinned:1"],
    ]);
  });
  it("chooses the lowest free ports of the group like add-service (not avoided, reserved, external, taken)", () => {
    expect(by("pooled").instances.map((i) => i.port)).toEqual([8100, 8102, 8103]);
    // the same rule as availablePorts on the model without pooled
    const without: Model = { ...model, services: model.services.filter((s) => s.name !== "pooled") };
    expect([...availablePorts(without, "pool", { limit: 3 })]).toEqual([8100, 8102, 8103]);
  });
  it("chooses in manifest order, so the choice is the same for the same text", () => {
    const again = resolveModel(validateManifest(manifest).manifest!, "/srv/demo/manifest.json");
    expect(again.services.map((s) => s.instances.map((i) => i.port))).toEqual(
      model.services.map((s) => s.instances.map((i) => i.port)),
    );
  });
  it("resolves {port:NAME} and {url:NAME} to instance 0, {{x}} to literal braces", () => {
    const gw = by("gateway");
    expect(gw.argv).toEqual(["/usr/bin/node", "gw.js", "--users=http://127.0.0.1:8001"]);
    expect(gw.env).toMatchObject({ USERS_PORT: "8001", POOL: "http://127.0.0.1:8100/x", LIT: "{port}" });
  });
  it("applies the lifecycle defaults, a oneshot's and the written ones", () => {
    expect(by("v1")).toMatchObject({
      multi: false,
      type: "service",
      autostart: true,
      restart: "always",
      exitCodes: [0],
      stderr: "separate",
      priority: undefined,
    });
    expect(by("v1").instances).toHaveLength(1);
    expect(by("v1").instances[0]).toMatchObject({ program: "v1", label: "v1", port: 8030 });
    expect(by("migrate")).toMatchObject({ type: "oneshot", restart: "never", exitCodes: [0, 3], stderr: "merge" });
    expect(by("migrate").port).toBeUndefined();
    expect(by("migrate").stderrLog).toBe(by("migrate").stdoutLog);
    expect(by("gateway")).toMatchObject({ autostart: false, restart: "on-failure", priority: 7 });
  });
  it("keeps the dependency order first and the manifest priority second", () => {
    expect(by("gateway").level).toBe(1);
    expect(by("gateway").programPriority).toBe(1007);
    expect(by("users").programPriority).toBe(100);
    expect(programPriority(0, 999)).toBeLessThan(programPriority(1, 0));
  });
});

describe("init's starter manifest", () => {
  it("validates without a problem and resolves its {url:api} reference", async () => {
    const { starterManifest } = await import("../../src/cli/commands/init");
    const v = validateManifest(JSON.parse(starterManifest("demo")));
    expect(v.problems).toEqual([]);
    const model = resolveModel(v.manifest!, "/srv/demo/manifest.json");
    expect(model.services[0].env.PUBLIC_URL).toBe("http://127.0.0.1:8001");
  });
});

describe("library lookups with instances", () => {
  it("getPort is instance 0, getPorts every instance, a worker throws", async () => {
    const { getPort, getPorts, listPorts } = await import("../../src");
    const model = resolveModel(validateManifest(manifest).manifest!, "/srv/demo/manifest.json");
    expect(getPort("users", model)).toBe(8001);
    expect(getPorts("users", model)).toEqual([8001, 8002]);
    expect(getPorts("v1", model)).toEqual([8030]);
    expect(getPorts("pooled", model)).toEqual([8100, 8102, 8103]);
    expect(() => getPorts("migrate", model)).toThrow(/no port/);
    expect(() => getPorts("user", model)).toThrow(/users/);
    expect(listPorts(model).users).toBe(8001);
  });
});

describe("orchestrate ports report with instances", () => {
  it("has a row per instance, named NAME:I", async () => {
    const { listPortsReport } = await import("../../src/model/ports-report");
    const model = resolveModel(validateManifest(manifest).manifest!, "/srv/demo/manifest.json");
    const core = listPortsReport(model).groups.find((g) => g.name === "core")!;
    expect(core.services.map((s) => [s.name, s.port])).toEqual([
      ["users:0", 8001],
      ["users:1", 8002],
      ["pinned:0", 8010],
      ["pinned:1", 8020],
      ["gateway", 8000],
      ["v1", 8030],
    ]);
    expect(core.used).toBe(6);
  });
});
