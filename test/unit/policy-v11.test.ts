/**
 * Table tests for every manifest v1.1 rule (instances, ports, oneshot, exitCodes, placeholders, references,
 * literal ports and URLs): each row is a change to a valid manifest and the problem it must raise (or none).
 */
import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/manifest/validate";

type Json = Record<string, any>;

function base(): Json {
  return {
    project: "demo",
    host: "127.0.0.1",
    ports: {
      avoid: [5000, 7000, 8004],
      reserved: { "8083": "last free port: critical service only" },
      allowed: ["3000-4000", "5000-9000"],
    },
    groups: { core: { range: ["3000-4000", "8001-8009"] }, watchdog: { range: "8002-8100" }, tiny: { range: "8200" } },
    external: { postgres: { port: 5432 } },
    services: {
      api: { group: "core", port: 8001, command: "/usr/bin/python3 api.py --port {port}", health: "/health" },
      worker: { command: ["/usr/bin/node", "worker.js"], dependsOn: ["api"] },
      watch: { group: "watchdog", port: 8010, command: "/usr/bin/python3 w.py", dependsOn: ["api"] },
    },
  };
}

type Expected = { severity: "error" | "warning"; field: string; service?: string; message: RegExp; fix?: RegExp };
type Row = [string, (m: Json) => void, Expected | null];

const rows: Row[] = [
  // instances and their ports
  ["instances with port: port + i", (m) => (m.services.api.instances = 2), null],
  [
    "ports, one per instance",
    (m) => Object.assign(m.services.api, { port: undefined, instances: 2, ports: [8001, 8003] }),
    null,
  ],
  [
    "instance 1 takes another service's port",
    (m) => Object.assign(m.services.watch, { instances: 2, port: 8009, group: "core" }) && (m.services.api.port = 8010),
    {
      severity: "error",
      field: "port",
      service: "watch",
      message: /port 8010 of instance 1 is already taken by service api/,
    },
  ],
  [
    "port + i above the group's range",
    (m) => (m.services.api.instances = 10),
    {
      severity: "error",
      field: "port",
      service: "api",
      message: /port 8010 of instance 9 is outside the range of group core/,
    },
  ],
  [
    "port + i lands on an avoided port",
    (m) => (m.services.api.instances = 4),
    { severity: "error", field: "port", service: "api", message: /port 8004 of instance 3 is in ports.avoid/ },
  ],
  [
    "port + i above 65535",
    (m) =>
      Object.assign(m.services.watch, { group: undefined, port: 65535, instances: 2 }) && (m.ports.allowed = undefined),
    { severity: "error", field: "port", service: "watch", message: /above 65535/ },
  ],
  [
    "ports: length differs from instances",
    (m) => Object.assign(m.services.api, { port: undefined, instances: 3, ports: [8001, 8002] }),
    { severity: "error", field: "ports", service: "api", message: /lists 2 ports but the service has 3 instances/ },
  ],
  [
    "ports without instances",
    (m) => Object.assign(m.services.api, { port: undefined, ports: [8001, 8002] }),
    { severity: "error", field: "ports", service: "api", message: /lists 2 ports/, fix: /add "instances": 2/ },
  ],
  [
    "port and ports both",
    (m) => Object.assign(m.services.api, { instances: 1, ports: [8001] }),
    { severity: "error", field: "ports", service: "api", message: /both "port" and "ports"/ },
  ],
  [
    "a ports entry is reserved",
    (m) => Object.assign(m.services.watch, { port: undefined, instances: 2, ports: [8011, 8083] }),
    { severity: "error", field: "ports.1", service: "watch", message: /port 8083 of instance 1 is reserved/ },
  ],
  [
    "a ports entry is an external's",
    (m) => Object.assign(m.services.worker, { instances: 2, ports: [5432, 8090] }),
    { severity: "error", field: "ports.0", service: "worker", message: /already taken by external postgres/ },
  ],
  [
    "a ports entry outside ports.allowed",
    (m) => Object.assign(m.services.worker, { instances: 2, ports: [8090, 9500] }),
    { severity: "error", field: "ports.1", service: "worker", message: /outside ports.allowed/ },
  ],
  [
    "two ports entries of one service are equal",
    (m) => Object.assign(m.services.worker, { instances: 2, ports: [8090, 8090] }),
    { severity: "error", field: "ports.1", service: "worker", message: /already taken by service worker/ },
  ],
  [
    "instances without port: the lowest free ports of the group, with a warning",
    (m) => Object.assign(m.services.watch, { port: undefined, instances: 3 }),
    {
      severity: "warning",
      field: "instances",
      service: "watch",
      message: /not written down: chosen from group watchdog as 8002, 8003, 8005/,
      fix: /"ports": \[8002, 8003, 8005\]/,
    },
  ],
  [
    "instances without port in a group that is too small",
    (m) => (m.services.small = { group: "tiny", instances: 2, command: "x" }),
    {
      severity: "error",
      field: "instances",
      service: "small",
      message: /need 2 free ports of group tiny, but it has 1/,
    },
  ],
  ["instances of a worker without group", (m) => (m.services.worker.instances = 4), null],
  [
    "instances 0",
    (m) => (m.services.api.instances = 0),
    { severity: "error", field: "instances", service: "api", message: /not valid/, fix: /1 to 1000/ },
  ],
  // lifecycle
  [
    "a oneshot",
    (m) => (m.services.migrate = { type: "oneshot", command: "x", exitCodes: [0, 3], restart: "on-failure" }),
    null,
  ],
  [
    "a oneshot with a port",
    (m) => (m.services.migrate = { type: "oneshot", port: 8090, command: "x" }),
    { severity: "error", field: "port", service: "migrate", message: /oneshot .* has no port/ },
  ],
  [
    "a oneshot with health",
    (m) => (m.services.migrate = { type: "oneshot", health: "/h", command: "x" }),
    { severity: "error", field: "health", service: "migrate", message: /no health check/ },
  ],
  [
    "a oneshot with 2 instances",
    (m) => (m.services.migrate = { type: "oneshot", instances: 2, command: "x" }),
    { severity: "error", field: "instances", service: "migrate", message: /runs once/ },
  ],
  [
    "a oneshot with restart always",
    (m) => (m.services.migrate = { type: "oneshot", restart: "always", command: "x" }),
    { severity: "error", field: "restart", service: "migrate", message: /again after every successful run/ },
  ],
  [
    "a oneshot in a group gets no chosen port",
    (m) => (m.services.migrate = { type: "oneshot", group: "watchdog", command: "x" }),
    null,
  ],
  [
    "unknown type",
    (m) => (m.services.api.type = "daemon"),
    { severity: "error", field: "type", service: "api", message: /not valid/, fix: /"oneshot"/ },
  ],
  [
    "unknown restart policy",
    (m) => (m.services.api.restart = "sometimes"),
    { severity: "error", field: "restart", service: "api", message: /not valid/, fix: /"on-failure"/ },
  ],
  [
    "exit code above 255",
    (m) => (m.services.api.exitCodes = [0, 256]),
    { severity: "error", field: "exitCodes.1", service: "api", message: /not valid/, fix: /0-255/ },
  ],
  [
    "exitCodes without 0",
    (m) => (m.services.api.exitCodes = [2]),
    { severity: "warning", field: "exitCodes", service: "api", message: /leaves out 0/ },
  ],
  [
    "stderr other than separate/merge",
    (m) => (m.services.api.stderr = "null"),
    { severity: "error", field: "stderr", service: "api", message: /not valid/, fix: /"merge"/ },
  ],
  [
    "autostart false, stderr merge, priority",
    (m) => Object.assign(m.services.watch, { autostart: false, stderr: "merge", priority: 5 }),
    null,
  ],
  [
    "an autostart service depending on an autostart false one",
    (m) => (m.services.api.autostart = false),
    {
      severity: "warning",
      field: "dependsOn",
      service: "worker",
      message: /worker depends on api, which has autostart false: "orchestrate restart" starts worker but not api/,
      fix: /orchestrate start api/,
    },
  ],
  [
    "priority outside 0-999",
    (m) => (m.services.api.priority = 1000),
    { severity: "error", field: "priority", service: "api", message: /not valid/, fix: /0 to 999/ },
  ],
  [
    "priority not an integer",
    (m) => (m.services.api.priority = 1.5),
    { severity: "error", field: "priority", service: "api", message: /not valid/ },
  ],
  // placeholders and references
  ["{instance} in command and env", (m) => (m.services.worker.env = { SHARD: "shard-{instance}" }), null],
  ["{{word}} is literal braces", (m) => (m.services.worker.env = { FMT: "{{asctime}} {{levelname}}" }), null],
  [
    "an unknown placeholder in env",
    (m) => (m.services.worker.env = { FMT: "{asctime}" }),
    {
      severity: "error",
      field: "env.FMT",
      service: "worker",
      message: /unknown placeholder "\{asctime\}"/,
      fix: /\{\{asctime\}\}/,
    },
  ],
  [
    "an unknown placeholder in command",
    (m) => (m.services.api.command = "/usr/bin/python3 api.py --port {prot}"),
    { severity: "error", field: "command", service: "api", message: /unknown placeholder "\{prot\}"/ },
  ],
  [
    "an unknown reference kind",
    (m) => (m.services.worker.env = { X: "{host:api}" }),
    { severity: "error", field: "env.X", service: "worker", message: /unknown reference/ },
  ],
  [
    "{port:NAME} and {url:NAME} of a dependency",
    (m) => (m.services.worker.env = { API: "{url:api}/v1", P: "{port:api}" }),
    null,
  ],
  [
    "a reference to an unknown service names the closest",
    (m) => (m.services.worker.env = { API: "{url:apii}" }),
    {
      severity: "error",
      field: "env.API",
      service: "worker",
      message: /names "apii", which is not a service/,
      fix: /\{url:api\}/,
    },
  ],
  [
    "a reference to a worker",
    (m) => (m.services.watch.env = { W: "{port:worker}" }),
    { severity: "error", field: "env.W", service: "watch", message: /worker, which has no port \(a worker\)/ },
  ],
  [
    "a reference in the command to a service that is not a dependency",
    (m) => (m.services.api.command = "/usr/bin/python3 api.py --watch {url:watch}"),
    {
      severity: "warning",
      field: "command",
      service: "api",
      message: /api uses watch's port but does not depend on it/,
    },
  ],
  [
    "a reference to a disabled service",
    (m) =>
      (m.services.off = { port: 8090, group: "watchdog", command: "x", enabled: false }) &&
      (m.services.worker.env = { O: "{port:off}" }),
    { severity: "warning", field: "env.O", service: "worker", message: /off is disabled/ },
  ],
  [
    "a managed URL written literally",
    (m) => (m.services.worker.env = { API: "http://127.0.0.1:8001/v1" }),
    {
      severity: "warning",
      field: "env.API",
      service: "worker",
      message: /URL of api, written literally/,
      fix: /"\{url:api\}\/v1"/,
    },
  ],
  [
    "a managed URL on localhost",
    (m) => (m.services.worker.env = { API: "http://localhost:8010" }),
    { severity: "warning", field: "env.API", service: "worker", message: /URL of watch/, fix: /\{url:watch\}/ },
  ],
  [
    "a managed port written literally",
    (m) => (m.services.worker.env = { API_PORT: "8001" }),
    {
      severity: "warning",
      field: "env.API_PORT",
      service: "worker",
      message: /the port of api, written literally/,
      fix: /\{port:api\}/,
    },
  ],
  [
    "an unmanaged URL",
    (m) => (m.services.worker.env = { X: "http://127.0.0.1:9999", Y: "http://example.org:8001" }),
    null,
  ],
];

describe("manifest v1.1 policy", () => {
  it.each(rows)("%s", (_title, change, expected) => {
    const m = base();
    change(m);
    const { problems, manifest } = validateManifest(JSON.parse(JSON.stringify(m)));
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
    if (expected.fix) expect(match!.fix).toMatch(expected.fix);
    expect(match!.value, "every problem names the value").not.toBeUndefined();
    expect(manifest === undefined).toBe(expected.severity === "error");
  });
});
