/**
 * The resolved model: the manifest loaded once, validated, and flattened with every default applied
 * and every path made absolute. Renderers, backends and the procedure take this and nothing else.
 */
import type { ExternalEdge, ModelEdge, ServiceEdge } from "./edge-types";

/** An inclusive port range, `low <= port <= high`. */
export interface PortRange {
  low: number;
  high: number;
}

/** Absolute paths of everything orchestrate owns for one project. */
export interface ProjectPaths {
  /** Folder holding manifest.json; every relative path in the manifest is relative to it. */
  root: string;
  manifest: string;
  units: string;
  logs: string;
  run: string;
  /** units/supervisord.conf */
  supervisordConf: string;
  /** units/supervisor/ — one NAME.conf per program */
  supervisorDir: string;
  /** units/systemd/ */
  systemdDir: string;
  /** run/supervisord.sock (unix socket of the private supervisord; < 108 bytes) */
  socket: string;
  /** run/supervisord.pid */
  pidfile: string;
  /** logs/supervisord.log */
  supervisordLog: string;
}

/**
 * One process of a service: manifest v1.1 `instances` (supervisord: one program per instance; systemd: one
 * instance of the template unit PROJECT-NAME@.service, or the plain unit PROJECT-NAME.service without the
 * `instances` key).
 */
export interface Instance {
  /** 0-based index; `{instance}` in command and env */
  index: number;
  /** this instance's port (`port + index`, or `ports[index]`); undefined for a worker */
  port?: number;
  /** supervisord program name: NAME when the manifest has no `instances` key (v1 unchanged), else NAME@I */
  program: string;
  /** how commands name it: NAME (no `instances` key) or NAME:I */
  label: string;
  /** argv and env of this instance with {instance}/{port} filled */
  argv: string[];
  env: Record<string, string>;
  /** Absolute log files: logs/PROGRAM.out.log and logs/PROGRAM.err.log (the same file with `stderr: "merge"`). */
  stdoutLog: string;
  stderrLog: string;
}

/** A service, fully resolved. Times are in seconds, as in the manifest. */
export interface Service extends ServiceEdge {
  name: string;
  group?: string;
  /** Instance 0's port. */
  port?: number;
  /** Every process of the service; always at least one, `instances[0].port === port`. */
  instances: Instance[];
  /** True when the manifest has the `instances` key: programs are NAME@I and units PROJECT-NAME@I.service. */
  multi: boolean;
  /** "oneshot": runs to completion, succeeds on an exit code in `exitCodes`; never has a port. */
  type: "service" | "oneshot";
  /** false: generated, but not started by restart (or by the manager at its own start). Default true. */
  autostart: boolean;
  /** When the manager restarts an exited process. Default "always" ("never" for a oneshot). */
  restart: "always" | "on-failure" | "never";
  /** Exit codes that count as success (an expected exit). Default [0]. */
  exitCodes: number[];
  /** "merge": stderr goes to the stdout log. Default "separate". */
  stderr: "separate" | "merge";
  /** The manifest's `priority` (0-999), when written. */
  priority?: number;
  /** Instance 0's argv: exact argv the program receives; placeholders replaced, argv[0] as written or resolved. */
  argv: string[];
  /** Absolute working directory. */
  directory: string;
  /** Instance 0's environment added to the base: PORT and BIND_ADDRESS (when it has a port), HOST, SERVICE_NAME, then the manifest's env, in that order. */
  env: Record<string, string>;
  /** Absolute path of the secrets file; its content is never read into generated files. */
  envFile?: string;
  description: string;
  technology?: string;
  enabled: boolean;
  dependsOn: string[];
  health?: string;
  readyTimeout: number;
  startSecs: number;
  startRetries: number;
  restartSec: number;
  stopSignal: "TERM" | "HUP" | "INT" | "QUIT" | "KILL" | "USR1" | "USR2";
  stopTimeout: number;
  user?: string;
  hardening: "default" | "strict";
  /** Dependency level: 0 for services without dependsOn, else 1 + the highest level of its dependencies. */
  level: number;
  /**
   * supervisord `priority` of every program of the service (lower starts first, stops last): keeps the
   * dependency order first and the manifest's `priority` second (formula in src/manifest/resolve.ts).
   */
  programPriority: number;
  /** Instance 0's absolute log files: logs/NAME.out.log and logs/NAME.err.log (NAME@0 with `instances`). */
  stdoutLog: string;
  stderrLog: string;
}

/** A port group: a named budget of ports its services' ports must lie in. */
export interface Group {
  name: string;
  /** As written in the manifest, in that order (not merged). */
  ranges: PortRange[];
  description: string;
}

/**
 * A process group (manifest `processGroups`): services that start, stop, restart, verify and logs take as
 * one name, as supervisorctl takes `start NAME:*` for a `[group:NAME]` (supervisord docs, "[group:x] Section
 * Settings"). Only orchestrate knows it: no `[group:]` section is rendered, so every supervisord program keeps
 * its own name (a `[group:]` would rename each to GROUP:PROGRAM).
 */
export interface ProcessGroup {
  name: string;
  /** Member service names, in manifest (services) order, each once. */
  services: string[];
}

/** A port owned by something orchestrate does not run (a database, a proxy); never allocated. */
export interface External extends ExternalEdge {
  name: string;
  port: number;
  description: string;
  /** Where it runs, when the manifest says. */
  host?: string;
}

/** The whole project, resolved. `services` keeps manifest order. */
export interface Model extends ModelEdge {
  project: string;
  host: string;
  paths: ProjectPaths;
  ports: {
    /** undefined: every port 1-65535 is allowed. */
    allowed?: PortRange[];
    avoid: number[];
    /** port → reason */
    reserved: Map<number, string>;
    allowPrivileged: boolean;
  };
  groups: Group[];
  /** Process groups, in manifest order; empty without `processGroups`. */
  processGroups: ProcessGroup[];
  external: External[];
  services: Service[];
  /** Log rotation for supervisord: bytes (0 = never) and copies kept. */
  logs: { maxBytes: number; backups: number };
  /** Enabled services by dependency level: levels[0] start first. */
  levels: string[][];
}

/** A rendered file: path relative to the project root (e.g. `units/ports.json`), content, mode. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}
