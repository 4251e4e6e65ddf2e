/**
 * The one interface through which the procedure drives a process manager. Implementations:
 * ./supervisord/backend.ts (XML-RPC over the private unix socket) and ./systemd/backend.ts (systemctl).
 * Only backends talk to supervisord or systemd.
 */

import type { ProcessInfo } from "../inspect/processes";

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

/** What {@link Backend.reachability} found. */
export type Reachability = "running" | "not running" | "not answering";

/** The one message for a manager that is there but does not answer (status, verify, check-ports, restart). */
export function notAnsweringMessage(label: string): string {
  return `${label} is not answering (stopped or hung): orchestrate recover`;
}

/** Status of one program (supervisord) or unit (systemd). */
export interface ProgramStatus {
  /** The program as asked for: an instance's `program`, NAME or NAME@I (src/model/types.ts Instance). */
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

/** The last exit of a program's process (src/backend/supervisord/crash-history.ts, systemd ExecMain*). */
export interface LastExit {
  /** when it exited, ms since epoch */
  at: number;
  /** its exit code, when it exited by itself */
  code?: number;
  /** the signal that ended it ("SIGKILL"), when one did */
  signal?: string;
  /** how long that process had run, s */
  ranSeconds?: number;
  /** whether the manager counted the exit as expected (exit code in exitCodes, or a requested stop) */
  expected: boolean;
  /** the exit was the result of a stop request (supervisord "stopped:"), not of the program */
  requested?: boolean;
}

/** Restarts and last exit of one program since the manager (or the fleet) was started. */
export interface CrashHistory {
  /** automatic restarts after an exit (supervisord autorestart/BACKOFF retries; systemd NRestarts) */
  restarts: number;
  lastExit?: LastExit;
}

/** What applying a changed configuration did, like `supervisorctl update`. */
export interface ApplyResult {
  added: string[];
  changed: string[];
  removed: string[];
  /** changed programs left out by {@link ApplyOptions.select}: still running their loaded configuration */
  held?: string[];
}

/** Options of {@link Backend.apply}. */
export interface ApplyOptions {
  /**
   * Which changed programs to load now (an instance's `program`); default all. A changed program left out keeps
   * running with the configuration the manager has loaded, is not stopped, and is reported in `held`: a rollout
   * (src/fleet/rollout.ts) loads the instances of a service one at a time. Added and removed programs are always
   * applied.
   */
  select?: (program: string) => boolean;
}

/** Where {@link Backend.emergencyStop} reports what it finds and does: one line at a time. */
export interface DetailSink {
  detail(line: string): void;
}

/** What {@link Backend.emergencyStop} found and did (recover step 1). */
export interface EmergencyStopResult {
  /** one line for the step's outcome, e.g. "stopped (RPC shutdown)", "was not running", "planned" */
  summary: string;
  /** what was changed, for the journal; empty on a dry run or when nothing ran */
  changes: string[];
  /** PID of the manager that was running, when it is a process orchestrate stopped itself */
  pid?: number;
  /** the manager answered before it was stopped */
  answered: boolean;
  /**
   * Evidence for finding the programs a killed manager left running (src/live-ports/ours.ts): the
   * SUPERVISOR_SERVER_URL its children carry, the PID their session keeps after it is gone, and its children
   * seen alive just before it was stopped (PID → start time).
   */
  orphanEvidence?: { serverUrl: string; formerManagerPid?: number; observedChildren: Map<number, number> };
}

/**
 * A process manager as the procedure sees it. Everything that differs between supervisord and systemd is
 * a member here, so procedures never branch on the kind. Methods throw OperationError (exit 1) when the
 * manager cannot be reached or refuses (e.g. systemd not booted); a failed program is a status, not an error.
 *
 * Every method that takes a program name takes an instance's `program` (Instance.program: `NAME` without the
 * manifest's `instances` key, `NAME@I` with it) and maps it to the manager's own name through
 * {@link programName}; procedures never build manager names themselves.
 */
export interface Backend {
  /** which manager: for --json output and the journal; procedures use the members below instead */
  readonly kind: "supervisor" | "systemd";
  /** The manager as messages name it: "supervisord" or "systemd". */
  readonly label: string;
  /** What recover step 1 stops to stop the whole fleet: "supervisord", or the target "PROJECT.target". */
  readonly fleetName: string;
  /** Where it is reached, as messages name it: "run/supervisord.sock", "systemd (system manager)". */
  readonly endpoint: string;
  /**
   * Whether {@link apply} starts the programs it adds or changes itself. supervisord: no — the generated
   * programs have autostart=false (src/render/supervisord/programs.ts), so neither a fresh supervisord nor
   * `addProcessGroup` starts anything and orchestrate starts them in dependency order. systemd: no
   * (daemon-reload starts nothing; systemctl(1)).
   */
  readonly applyStartsPrograms: boolean;
  /**
   * Whether processes of its programs can outlive it and need finding by recover. supervisord: yes (after
   * `kill -9` of supervisord its children keep running and keep their ports). systemd: no
   * (KillMode=control-group kills every process of a unit's cgroup; systemd.kill(5)).
   */
  readonly leavesOrphans: boolean;
  /**
   * Fails before a change writes anything when the manager is there but cannot be driven and orchestrate
   * cannot start it (systemd not booted, no user manager). The private supervisord: nothing to check,
   * orchestrate starts it itself. @throws OperationError naming the alternatives.
   */
  requireReachable(): Promise<void>;
  /**
   * The manager's own name of a program (NAME or NAME@I): supervisord program `NAME` / `NAME@I`; systemd unit
   * `PROJECT-NAME.service` / the template instance `PROJECT-NAME@I.service`.
   */
  programName(program: string): string;
  /**
   * Whether `pid` is one of the program's processes. supervisord: the main PID, its descendants and its
   * process group (stopasgroup makes each program a group leader). systemd: the unit's cgroup, or the main
   * PID's tree. `processes` must hold `pid` and its ancestors.
   */
  ownsProcess(service: string, mainPid: number | undefined, pid: number, processes: Map<number, ProcessInfo>): boolean;
  /**
   * PID of this project's manager process that is gone, when its former children may still run: they keep
   * it as their session id (src/live-ports/ours.ts, rule 2). supervisord: run/supervisord.pid when that PID
   * is no longer alive; systemd: never.
   */
  formerManagerPid(): number | undefined;
  /** Releases connections (supervisord's RPC socket); idempotent. */
  close(): void;
  /**
   * recover step 1: stop the manager's programs whatever state it is in, saying what was found and done.
   * supervisord: RPC shutdown, else TERM (+CONT) then KILL of its PID; systemd: stop PROJECT.target
   * (PartOf= stops every unit). `dryRun`: only say what would be done.
   */
  emergencyStop(step: DetailSink, options: { dryRun: boolean }): Promise<EmergencyStopResult>;
  /** Is the manager reachable (private supervisord answering, systemd running)? */
  isRunning(): Promise<boolean>;
  /**
   * "running" (it answers), "not running" (nothing there: no socket, refused, no process), or "not
   * answering": it is there but does not answer in time — a SIGSTOPped or hung supervisord whose programs
   * may still serve every port. Callers must not read "not answering" as "nothing runs". Never throws.
   */
  reachability(): Promise<Reachability>;
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
  apply(options?: ApplyOptions): Promise<ApplyResult>;
  /** Ask the manager to start a program; does not wait for readiness. No-op when already running. */
  start(name: string): Promise<void>;
  /** Stop a program and wait until it is stopped (the manager escalates to SIGKILL after stopTimeout). */
  stop(name: string): Promise<void>;
  /** Stop (waiting) then start (not waiting). */
  restart(name: string): Promise<void>;
  /** Status of the named programs, or of every program the manager knows. */
  status(names?: string[]): Promise<ProgramStatus[]>;
  /**
   * Restarts and the last exit of each named program since the fleet was started (supervisord: its activity
   * log, since supervisord started; systemd: NRestarts and ExecMain* of each unit). A program without any
   * is absent from the map. Never throws for a missing log.
   */
  crashHistory(names: string[]): Promise<Map<string, CrashHistory>>;
  /** The last `bytes` of a program's stdout or stderr log. */
  tailLog(name: string, stream: "stdout" | "stderr", bytes: number): Promise<string>;
  /** Stop every program and the manager itself (private supervisord only; systemd: stop the target). */
  shutdown(): Promise<void>;
}
