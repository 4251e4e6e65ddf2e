/**
 * supervisord's process and daemon states, named once (after supervisor/states.py and the
 * "Process States" section of the supervisord docs), the fault codes of supervisor/xmlrpc.py, and the
 * conversion of a process info struct into the backend-neutral ProgramStatus.
 */
import type { ProgramStatus } from "../types";

/** Process state codes as reported by `getProcessInfo().state`. */
export const ProcessStates = {
  STOPPED: 0,
  STARTING: 10,
  RUNNING: 20,
  BACKOFF: 30,
  STOPPING: 40,
  EXITED: 100,
  FATAL: 200,
  UNKNOWN: 1000,
} as const;

/** A supervisord process state name. */
export type ProcessStateName = keyof typeof ProcessStates;

/** States in which a process is, or is about to be, running (states.py RUNNING_STATES). */
export const RUNNING_STATES: ReadonlySet<ProcessStateName> = new Set(["RUNNING", "BACKOFF", "STARTING"]);

/** States in which a process is not running and not about to be (states.py STOPPED_STATES). */
export const STOPPED_STATES: ReadonlySet<ProcessStateName> = new Set(["STOPPED", "EXITED", "FATAL", "UNKNOWN"]);

/** States in which a process can receive a signal (states.py SIGNALLABLE_STATES). */
export const SIGNALLABLE_STATES: ReadonlySet<ProcessStateName> = new Set(["RUNNING", "STARTING", "STOPPING"]);

/** Daemon state codes as reported by `supervisor.getState().statecode`. */
export const SupervisorStates = {
  FATAL: 2,
  RUNNING: 1,
  RESTARTING: 0,
  SHUTDOWN: -1,
} as const;

const NAME_BY_CODE = new Map<number, ProcessStateName>(
  Object.entries(ProcessStates).map(([name, code]) => [code, name as ProcessStateName]),
);

/** The state name for a numeric code; an unknown code maps to `UNKNOWN`. */
export function processStateName(code: number): ProcessStateName {
  return NAME_BY_CODE.get(code) ?? "UNKNOWN";
}

/**
 * XML-RPC fault codes of supervisord (supervisor/xmlrpc.py `class Faults`; the supervisord docs,
 * "XML-RPC API Documentation", list them per method).
 */
export const Faults = {
  UNKNOWN_METHOD: 1,
  INCORRECT_PARAMETERS: 2,
  BAD_ARGUMENTS: 3,
  SIGNATURE_UNSUPPORTED: 4,
  SHUTDOWN_STATE: 6,
  BAD_NAME: 10,
  BAD_SIGNAL: 11,
  NO_FILE: 20,
  NOT_EXECUTABLE: 21,
  FAILED: 30,
  ABNORMAL_TERMINATION: 40,
  SPAWN_ERROR: 50,
  ALREADY_STARTED: 60,
  NOT_RUNNING: 70,
  SUCCESS: 80,
  ALREADY_ADDED: 90,
  STILL_RUNNING: 91,
  CANT_REREAD: 92,
} as const;

/** A supervisord fault name, e.g. `BAD_NAME`. */
export type FaultName = keyof typeof Faults;

const FAULT_BY_CODE = new Map<number, FaultName>(
  Object.entries(Faults).map(([name, code]) => [code, name as FaultName]),
);

/** The fault name for a code, or `UNKNOWN` for a code supervisord does not define. */
export function faultName(code: number): FaultName | "UNKNOWN" {
  return FAULT_BY_CODE.get(code) ?? "UNKNOWN";
}

/** The fields of `getProcessInfo`/`getAllProcessInfo` used here (times are epoch seconds, supervisord's clock). */
export interface ProcessInfo {
  name: string;
  group: string;
  start: number;
  stop: number;
  now: number;
  state: number;
  spawnerr: string;
  exitstatus: number;
  pid: number;
  description: string;
}

/** Converts one process info struct into a {@link ProgramStatus}. */
export function toProgramStatus(info: ProcessInfo): ProgramStatus {
  const state = processStateName(info.state);
  const status: ProgramStatus = { name: info.name, state, detail: info.description };
  if (info.pid > 0 && SIGNALLABLE_STATES.has(state)) {
    status.pid = info.pid;
    status.uptimeSeconds = Math.max(0, info.now - info.start);
  } else if (state === "EXITED") {
    // Only EXITED carries a real status: for a program that exits before startsecs (BACKOFF, FATAL)
    // supervisord discards it and reports 0 (supervisor/process.py `finish`, "Exited too quickly").
    status.exitStatus = info.exitstatus;
  }
  if (info.spawnerr) status.spawnError = info.spawnerr;
  return status;
}
