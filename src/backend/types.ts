/**
 * The one interface through which the procedure drives a process manager. Implementations:
 * ./supervisord/backend.ts (XML-RPC over the private unix socket) and ./systemd/backend.ts (systemctl).
 * Only backends talk to supervisord or systemd.
 */

/** supervisord's process states (supervisor/states.py), plus ABSENT for a program the daemon does not know. */
export type ProgramState =
  | "STOPPED"
  | "STARTING"
  | "RUNNING"
  | "BACKOFF"
  | "STOPPING"
  | "EXITED"
  | "FATAL"
  | "UNKNOWN"
  | "ABSENT";

/** Status of one program (supervisord) or unit (systemd). */
export interface ProgramStatus {
  /** Service name as in the manifest. */
  name: string;
  state: ProgramState;
  /** Main PID when running. */
  pid?: number;
  /** Seconds the program has been in its current run, when running. */
  uptimeSeconds?: number;
  /** Exit status of the last run, when it has exited. */
  exitStatus?: number;
  /** supervisord's spawnerr, or systemd's Result when not "success". */
  spawnError?: string;
  /** Restarts counted by the manager (systemd NRestarts); undefined where unknown. */
  restarts?: number;
  /** Native state text, e.g. "active/running" for systemd. */
  detail?: string;
}

/** What applying a changed configuration did, like `supervisorctl update`. */
export interface ApplyResult {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * A process manager as the procedure sees it. Methods throw OperationError (exit 1) when the manager
 * cannot be reached or refuses (e.g. systemd not booted); a failed program is a status, not an error.
 */
export interface Backend {
  readonly kind: "supervisor" | "systemd";
  /** Is the manager reachable (private supervisord answering, systemd running)? */
  isRunning(): Promise<boolean>;
  /** Start the manager when it is not running. Returns whether it had to start it. */
  ensureRunning(): Promise<{ started: boolean }>;
  /**
   * Load the generated configuration: programs added, changed (their parsed config differs) or removed.
   * Changed and removed programs are stopped; unchanged programs are not touched and keep their PIDs.
   * Added and changed programs MAY already be starting when this returns: supervisord spawns a program as
   * soon as it is added (autostart=true; added in priority order), systemd does not. The procedure must
   * not rely on either: it still starts them level by level (`start` is a no-op for a running program)
   * and waits for each level's readiness.
   */
  apply(): Promise<ApplyResult>;
  /** Ask the manager to start a program; does not wait for readiness. No-op when already running. */
  start(name: string): Promise<void>;
  /** Stop a program and wait until it is stopped (the manager escalates to SIGKILL after stopTimeout). */
  stop(name: string): Promise<void>;
  /** Stop (waiting) then start (not waiting). */
  restart(name: string): Promise<void>;
  /** Status of the named programs, or of every program the manager knows. */
  status(names?: string[]): Promise<ProgramStatus[]>;
  /** The last `bytes` of a program's stdout or stderr log. */
  tailLog(name: string, stream: "stdout" | "stderr", bytes: number): Promise<string>;
  /** Stop every program and the manager itself (private supervisord only; systemd: stop the target). */
  shutdown(): Promise<void>;
}
