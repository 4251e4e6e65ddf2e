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

/** A service, fully resolved. Times are in seconds, as in the manifest. */
export interface Service extends ServiceEdge {
  name: string;
  group?: string;
  port?: number;
  /** Exact argv the program receives; placeholders replaced, argv[0] as written or resolved. */
  argv: string[];
  /** Absolute working directory. */
  directory: string;
  /** Environment added to the base: PORT and BIND_ADDRESS (when it has a port), HOST, SERVICE_NAME, then the manifest's env, in that order. */
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
  /** supervisord `priority` (lower starts first), derived from `level`. */
  priority: number;
  /** Absolute log files: logs/NAME.out.log and logs/NAME.err.log. */
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
