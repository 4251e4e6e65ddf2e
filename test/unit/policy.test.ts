/** Table tests for every manifest policy rule: each row is a manifest change and the problem it must raise (or none). */
import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/manifest/validate";

type Json = Record<string, any>;

function base(): Json {
  return {
    project: "demo",
    host: "127.0.0.1",
    ports: {
      avoid: [5000, 7000],
      reserved: { "8083": "last free port: critical service only" },
      allowed: ["3000-4000", "5000-9000"],
    },
    groups: { core: { range: ["3000-4000", "8001-8009"] }, watchdog: { range: "8002-8100" } },
    external: { postgres: { port: 5432 }, redis: { port: 6379 } },
    services: {
      api: { group: "core", port: 8001, command: "/usr/bin/python3 api.py --port {port}", health: "/health" },
      worker: { command: ["/usr/bin/node", "worker.js"], dependsOn: ["api"] },
      watch: { group: "watchdog", port: 8010, command: "/usr/bin/python3 w.py", dependsOn: ["api"] },
    },
  };
}

type Row = [
  string,
  (m: Json) => void,
  { severity: "error" | "warning"; field: string; service?: string; message: RegExp } | null,
];

const rows: Row[] = [
  ["valid manifest", () => {}, null],
  [
    "service name pattern",
    (m) => (m.services["Bad Name"] = { command: "x" }),
    { severity: "error", field: "(name)", service: "Bad Name", message: /does not match/ },
  ],
  [
    "service named all",
    (m) => (m.services.all = { command: "x" }),
    { severity: "error", field: "(name)", service: "all", message: /every program/ },
  ],
  [
    "env key with a dash",
    (m) => (m.services.api.env = { "LOG-LEVEL": "x" }),
    { severity: "error", field: "env.LOG-LEVEL", service: "api", message: /not valid/ },
  ],
  [
    "env sets PORT",
    (m) => (m.services.api.env = { PORT: "1" }),
    { severity: "error", field: "env.PORT", service: "api", message: /set by orchestrate/ },
  ],
  [
    "port not an integer",
    (m) => (m.services.api.port = 80.5),
    { severity: "error", field: "port", service: "api", message: /not valid/ },
  ],
  [
    "port too large",
    (m) => (m.services.api.port = 70000),
    { severity: "error", field: "port", service: "api", message: /not valid/ },
  ],
  [
    "port zero",
    (m) => (m.services.api.port = 0),
    { severity: "error", field: "port", service: "api", message: /not valid/ },
  ],
  [
    "two services on one port",
    (m) => (m.services.watch.port = 8001),
    { severity: "error", field: "port", service: "watch", message: /already taken by service api/ },
  ],
  [
    "service on an external's port",
    (m) => ((m.services.watch.port = 6379), (m.ports.allowed = undefined), (m.groups.watchdog.range = "6000-8100")),
    { severity: "error", field: "port", service: "watch", message: /taken by external redis/ },
  ],
  [
    "service on a reserved port",
    (m) => (m.services.watch.port = 8083),
    { severity: "error", field: "port", service: "watch", message: /reserved: last free port/ },
  ],
  [
    "port in avoid",
    (m) => ((m.services.watch.port = 7000), (m.groups.watchdog.range = "7000-8100")),
    { severity: "error", field: "port", service: "watch", message: /in ports.avoid/ },
  ],
  [
    "port outside allowed",
    (m) => ((m.services.watch.port = 9500), (m.groups.watchdog.range = "8002-9999")),
    { severity: "error", field: "port", service: "watch", message: /outside ports.allowed/ },
  ],
  [
    "port outside its group's range",
    (m) => (m.services.watch.port = 3500),
    { severity: "error", field: "port", service: "watch", message: /outside the range of group watchdog/ },
  ],
  [
    "unknown group",
    (m) => (m.services.api.group = "cor"),
    { severity: "error", field: "group", service: "api", message: /not defined/ },
  ],
  [
    "dependsOn unknown service",
    (m) => (m.services.worker.dependsOn = ["apii"]),
    { severity: "error", field: "dependsOn", service: "worker", message: /not a service/ },
  ],
  [
    "dependsOn itself",
    (m) => (m.services.api.dependsOn = ["api"]),
    { severity: "error", field: "dependsOn", service: "api", message: /depends on itself/ },
  ],
  [
    "dependency cycle",
    (m) => (m.services.api.dependsOn = ["watch"]),
    { severity: "error", field: "dependsOn", message: /cycle: api → watch → api/ },
  ],
  [
    "control character",
    (m) => (m.services.api.description = "line1\nline2"),
    { severity: "error", field: "description", service: "api", message: /control character U\+000A/ },
  ],
  [
    "privileged port warns",
    (m) => ((m.services.api.port = 80), (m.ports.allowed = undefined), (m.groups.core.range = "80-4000")),
    { severity: "warning", field: "port", service: "api", message: /privileged/ },
  ],
  [
    "unknown key with suggestion",
    (m) => (m.services.api.dependOn = []),
    { severity: "error", field: "dependOn", service: "api", message: /unknown key/ },
  ],
  [
    "bad stop signal",
    (m) => (m.services.api.stopSignal = "SIGTERM"),
    { severity: "error", field: "stopSignal", service: "api", message: /not valid/ },
  ],
  [
    "unbalanced quote in command",
    (m) => (m.services.api.command = "python3 'app.py"),
    { severity: "error", field: "command", service: "api", message: /unterminated single quote/ },
  ],
  [
    "shell syntax in command",
    (m) => (m.services.api.command = "python3 app.py | tee x"),
    { severity: "error", field: "command", service: "api", message: /shell syntax "\|"/ },
  ],
  [
    "{port} without a port",
    (m) => (m.services.worker.command = "node w.js --port {port}"),
    { severity: "error", field: "command", service: "worker", message: /has no port/ },
  ],
  [
    "health without a port",
    (m) => (m.services.worker.health = "/health"),
    { severity: "error", field: "health", service: "worker", message: /no port to ask/ },
  ],
  [
    "missing command",
    (m) => delete m.services.api.command,
    { severity: "error", field: "command", service: "api", message: /required/ },
  ],
  ["bad project name", (m) => (m.project = "Demo"), { severity: "error", field: "project", message: /not valid/ }],
  [
    "bad range text",
    (m) => (m.groups.core.range = "80-x"),
    { severity: "error", field: "groups.core.range", message: /not valid/ },
  ],
  [
    "reserved port that is not a port",
    (m) => (m.ports.reserved["99999"] = "x"),
    { severity: "error", field: "ports.reserved.99999", message: /not a port/ },
  ],
  [
    "reserved port zero",
    (m) => (m.ports.reserved["0"] = "x"),
    { severity: "error", field: "ports.reserved.0", message: /not a port/ },
  ],
  [
    "depends on a disabled service",
    (m) => (m.services.api.enabled = false),
    { severity: "error", field: "dependsOn", service: "worker", message: /disabled/ },
  ],
];

describe("manifest policy", () => {
  it.each(rows)("%s", (_title, change, expected) => {
    const m = base();
    change(m);
    const { problems, manifest } = validateManifest(m);
    if (expected === null) {
      expect(problems).toEqual([]);
      expect(manifest).toBeDefined();
      return;
    }
    const match = problems.find(
      (p) =>
        p.severity === expected.severity &&
        p.field === expected.field &&
        (expected.service === undefined || p.service === expected.service) &&
        expected.message.test(p.message),
    );
    expect(match, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(match!.fix, "every problem says how to fix it").toBeTruthy();
    expect(manifest === undefined).toBe(expected.severity === "error");
  });

  it("reports ten planted problems in one run", () => {
    const m = base();
    m.services["Bad Name"] = { command: "x" };
    m.services.api.env = { "LOG-LEVEL": "x" };
    m.services.watch.port = 8001;
    m.services.dup = { group: "watchdog", port: 8083, command: "x" };
    m.services.avoided = { port: 7000, command: "x" };
    m.services.outside = { group: "watchdog", port: 3500, command: "x" };
    m.services.lost = { group: "nope", command: "x" };
    m.services.worker.dependsOn = ["ghost"];
    m.services.loop1 = { command: "x", dependsOn: ["loop2"] };
    m.services.loop2 = { command: "x", dependsOn: ["loop1"] };
    m.services.ctl = { command: "x", description: "a\u001bb" };
    const { errors } = validateManifest(m);
    const fields = new Set(errors.map((e) => `${e.service}:${e.field}:${e.message.slice(0, 25)}`));
    expect(errors.length).toBeGreaterThanOrEqual(10);
    for (const s of ["Bad Name", "api", "watch", "dup", "avoided", "outside", "lost", "worker", "loop1", "ctl"]) {
      expect(
        errors.some((e) => e.service === s),
        `a problem for ${s} in ${[...fields].join("\n")}`,
      ).toBe(true);
    }
  });

  it("suggests the next free port of the group in the fix", () => {
    const m = base();
    m.services.watch.port = 8001;
    const p = validateManifest(m).errors.find((e) => e.service === "watch")!;
    expect(p.fix).toMatch(/use 8002, the next free port of group watchdog/);
  });
});
