/**
 * Manifest v1.1 as a zod schema (every v1 manifest is a v1.1 manifest that means the same): the shapes and per-value rules of every key in the README.
 * Cross-field rules (port conflicts, ranges, cycles) live in ./rules/ (run by ./validate.ts) so that every problem is
 * reported in one run. `manifest.schema.json` is generated from this file (scripts/write-schema.mjs).
 */
import { z } from "zod";
import { externalEdgeKeys, manifestEdgeKeys, portsEdgeKeys, serviceEdgeKeys } from "./schema-edge";

/** `^[a-z0-9][a-z0-9_.-]*$` (README "Manifest reference"); also safe as a supervisord program name and systemd unit name. */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
/** POSIX environment variable name. */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Project name: prefixes systemd units and the target. */
export const PROJECT_NAME = /^[a-z][a-z0-9-]*$/;
/** A port as an object key ("8083"): 1-65535 without leading zeros. */
export const PORT_TEXT = /^(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;
/** A port range as written: `"8000-8100"`, `"6000"` or `6000`. */
export const RANGE_TEXT = /^\d{1,5}(-\d{1,5})?$/;
/** Signals supervisord's `stopsignal` accepts (supervisord docs, [program:x] stopsignal). */
export const STOP_SIGNALS = ["TERM", "HUP", "INT", "QUIT", "KILL", "USR1", "USR2"] as const;
/** Most instances of one service (each is a program / unit instance of its own). */
export const MAX_INSTANCES = 1000;
/**
 * Range of the manifest's `priority`: 0-999, the values supervisord documents around its default 999
 * (supervisord docs, [program:x] `priority`). The generated supervisord priority adds the dependency level
 * (see resolve.ts `programPriority`).
 */
export const PRIORITY_RANGE = { min: 0, max: 999 } as const;

const port = z.number().int().min(1).max(65535).describe("TCP port, 1-65535");
const range = z.union([z.string().regex(RANGE_TEXT), port]).describe('port or "LOW-HIGH" range');
const ranges = z.union([range, z.array(range).min(1)]);
const seconds = (d: string) => z.number().positive().max(86400).describe(`seconds; ${d}`);
const hardening = z
  .enum(["default", "strict"])
  .describe("systemd sandboxing level; strict scores <= 2.5 in systemd-analyze security");

/** One entry of `services` (README "Manifest reference"); times in seconds, defaults applied later by resolveModel. */
export const serviceSchema = z.strictObject({
  group: z.string().optional().describe("a key of groups: the port range the port must lie in"),
  port: port.optional().describe("omit for a worker without a port; instance i listens on port + i"),
  instances: z
    .number()
    .int()
    .min(1)
    .max(MAX_INSTANCES)
    .optional()
    .describe("processes of this service (default 1); {instance} is 0-based"),
  ports: z.array(port).min(1).optional().describe("one port per instance, instead of port (length = instances)"),
  type: z.enum(["service", "oneshot"]).optional().describe("oneshot: a task run to completion (no port, no health)"),
  autostart: z.boolean().optional().describe("false: generated, but started only by orchestrate start (default true)"),
  restart: z
    .enum(["always", "on-failure", "never"])
    .optional()
    .describe('when the manager restarts an exited program (default "always"; "never" for a oneshot)'),
  exitCodes: z
    .array(z.number().int().min(0).max(255))
    .min(1)
    .optional()
    .describe("exit codes that count as success (default [0])"),
  stderr: z
    .enum(["separate", "merge"])
    .optional()
    .describe('"merge": stderr goes to the stdout log (default separate)'),
  priority: z
    .number()
    .int()
    .min(PRIORITY_RANGE.min)
    .max(PRIORITY_RANGE.max)
    .optional()
    .describe("among services free to start together, lower starts first and stops last (default 100)"),
  command: z
    .union([z.string().min(1), z.array(z.string()).min(1)])
    .describe(
      "POSIX-shell words or an argv array; {port} {host} {name} {instance} {port:NAME} {url:NAME} are replaced",
    ),
  directory: z.string().min(1).optional().describe("working directory, relative to the manifest's folder (default .)"),
  env: z
    .record(z.string().regex(ENV_KEY), z.string())
    .optional()
    .describe("extra environment; values are strings; the command's placeholders are replaced here too"),
  envFile: z.string().min(1).optional().describe("KEY=value file with secrets, never copied into generated files"),
  description: z.string().optional(),
  technology: z.string().optional().describe("python, node, … (shown in PORTS.md)"),
  enabled: z.boolean().optional().describe("false keeps the port reserved and runs nothing (default true)"),
  dependsOn: z.array(z.string()).optional().describe("services started before this one"),
  health: z.string().regex(/^\//).optional().describe("HTTP path answering 2xx when healthy, e.g. /health"),
  readyTimeout: seconds("time to become ready (default 15)").optional(),
  startSecs: z.number().int().min(0).max(3600).optional().describe("supervisord startsecs (default 2)"),
  startRetries: z.number().int().min(0).max(100).optional().describe("supervisord startretries (default 3)"),
  restartSec: seconds("systemd RestartSec= (default 2)").optional(),
  stopSignal: z.enum(STOP_SIGNALS).optional().describe("default TERM"),
  stopTimeout: seconds("time from stopSignal to SIGKILL (default 10)").optional(),
  user: z.string().min(1).optional().describe("run as this user (needs root)"),
  hardening: hardening.optional(),
  ...serviceEdgeKeys, // routes, exposure (./schema-edge.ts)
});

/** The whole manifest v1.1 (README "Manifest reference"); source of manifest.schema.json. Unknown keys are errors (strict). */
export const manifestSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z
    .union([z.literal(1), z.literal(1.1)])
    .optional()
    .describe("manifest version: 1 or 1.1 (1.1 keys are accepted either way)"),
  project: z.string().regex(PROJECT_NAME).describe("[a-z][a-z0-9-]*; prefixes systemd units and the target"),
  host: z.string().min(1).optional().describe("host used in service URLs and given as HOST (default localhost)"),
  ports: z
    .strictObject({
      allowed: z.array(range).optional().describe("every port must lie inside these"),
      avoid: z.array(port).optional().describe("never valid, never allocated"),
      reserved: z
        .record(z.string().regex(PORT_TEXT), z.string())
        .optional()
        .describe("port → reason; not allocated automatically"),
      allowPrivileged: z.boolean().optional().describe("silence the warning for ports below 1024"),
      ...portsEdgeKeys, // internalSources (./schema-edge.ts)
    })
    .optional(),
  groups: z
    .record(z.string().regex(SERVICE_NAME), z.strictObject({ range: ranges, description: z.string().optional() }))
    .optional(),
  external: z
    .record(
      z.string(),
      z.strictObject({ port, description: z.string().optional(), host: z.string().optional(), ...externalEdgeKeys }),
    )
    .optional()
    .describe("ports owned by things we do not run"),
  hardening: hardening.optional(),
  logs: z
    .strictObject({
      maxBytes: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe("rotate a log at this size in bytes (default 10 MiB; 0 = never)"),
      backups: z.number().int().min(0).max(100).optional().describe("rotated copies kept (default 5)"),
    })
    .optional(),
  services: z.record(z.string(), serviceSchema),
  processGroups: z
    .record(
      z.string().regex(SERVICE_NAME),
      z.array(z.string()).min(1).describe("the services of the group, in any order; a service may be in several"),
    )
    .optional()
    .describe(
      "process group name → services: `orchestrate start|stop|restart|verify|logs NAME` acts on every instance of them (supervisord [group:x] programs=)",
    ),
  ...manifestEdgeKeys, // proxy (./schema-edge.ts)
});

/** A manifest as written (after JSON parsing and schema validation). */
export type Manifest = z.infer<typeof manifestSchema>;
/** One service entry as written. */
export type ServiceEntry = z.infer<typeof serviceSchema>;
