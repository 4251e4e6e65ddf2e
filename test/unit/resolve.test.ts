/** resolveModel: defaults, absolute paths, placeholders, environment order, dependency levels and priority. */
import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/manifest/validate";
import { resolveModel } from "../../src/manifest/resolve";

const manifest = {
  project: "demo",
  host: "127.0.0.1",
  groups: { core: { range: "8000-8099" } },
  services: {
    db: { group: "core", port: 8000, command: "bin/db --port {port}", directory: "srv" },
    api: {
      group: "core",
      port: 8001,
      command: ["/usr/bin/node", "api.js", "--name={name}"],
      env: { URL: "http://{host}:{port}/x", A: "1" },
      dependsOn: ["db"],
    },
    web: { group: "core", port: 8002, command: "web", dependsOn: ["api", "db"], enabled: true, stopSignal: "INT" },
    off: { command: "x", enabled: false },
  },
};

describe("resolveModel", () => {
  const v = validateManifest(manifest);
  const model = resolveModel(v.manifest!, "/srv/demo/manifest.json");
  const by = (n: string) => model.services.find((s) => s.name === n)!;

  it("is valid input", () => expect(v.errors).toEqual([]));
  it("makes paths absolute against the manifest's folder", () => {
    expect(model.paths.root).toBe("/srv/demo");
    expect(by("db").directory).toBe("/srv/demo/srv");
    expect(by("db").argv[0]).toBe("/srv/demo/srv/bin/db");
    expect(by("web").argv[0]).toBe("web");
    expect(by("api").stdoutLog).toBe("/srv/demo/logs/api.out.log");
    expect(model.paths.socket).toBe("/srv/demo/run/supervisord.sock");
  });
  it("replaces placeholders in argv and env", () => {
    expect(by("db").argv).toEqual(["/srv/demo/srv/bin/db", "--port", "8000"]);
    expect(by("api").argv[2]).toBe("--name=api");
    expect(by("api").env.URL).toBe("http://127.0.0.1:8001/x");
  });
  it("gives PORT, BIND_ADDRESS, HOST, SERVICE_NAME first, then the manifest's env in order", () => {
    expect(Object.entries(by("api").env)).toEqual([
      ["PORT", "8001"],
      ["BIND_ADDRESS", "127.0.0.1"],
      ["HOST", "127.0.0.1"],
      ["SERVICE_NAME", "api"],
      ["URL", "http://127.0.0.1:8001/x"],
      ["A", "1"],
    ]);
    expect(by("off").env.PORT).toBeUndefined();
    expect(by("off").env.BIND_ADDRESS).toBeUndefined();
  });
  it("applies defaults", () => {
    expect(by("db")).toMatchObject({
      readyTimeout: 15,
      startSecs: 2,
      startRetries: 3,
      stopSignal: "TERM",
      stopTimeout: 10,
      enabled: true,
      hardening: "default",
    });
    expect(by("web").stopSignal).toBe("INT");
  });
  it("orders by dependency level: dependencies start first", () => {
    expect(model.levels).toEqual([["db"], ["api"], ["web"]]);
    // supervisord priority = 1000 × level + (priority ?? 100): increasing with the level (v1: 100 + 10 × level)
    expect([by("db").programPriority, by("api").programPriority, by("web").programPriority]).toEqual([100, 1100, 2100]);
    expect(by("db").priority).toBeUndefined();
  });
  it("keeps disabled services out of the start levels", () => {
    expect(model.levels.flat()).not.toContain("off");
  });
});
