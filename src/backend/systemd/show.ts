/**
 * Parser of `systemctl show -p P1,P2,… UNIT…` output and the mapping of a unit's state to orchestrate's
 * supervisord-shaped {@link ProgramStatus}. Pure: no process is spawned here.
 *
 * Output shape (systemctl(1), "show"): one `KEY=VALUE` line per property, one block per unit, blocks
 * separated by one empty line, in the order the units were named. Properties come in systemd's own order,
 * not the order asked for; a unit systemd does not know still gets a block (`LoadState=not-found`).
 */
import type { CrashHistory, ProgramState, ProgramStatus } from "../types";

/** Properties orchestrate asks for; `Id` and `LoadState` let a block be matched and "unknown" be told apart. */
export const SHOW_PROPERTIES = [
  "Id",
  "LoadState",
  "ActiveState",
  "SubState",
  "MainPID",
  "ExecMainStartTimestampMonotonic",
  "ExecMainExitTimestampMonotonic",
  "ExecMainCode",
  "ExecMainStatus",
  "NRestarts",
  "Result",
  "ControlGroup",
] as const;

/** One unit as reported by `systemctl show`; numeric fields are 0 when systemd reports nothing. */
export interface UnitRecord {
  /** Unit name, e.g. `demo-api.service` (systemd's `Id`). */
  id: string;
  /** `loaded`, `not-found`, `bad-setting`, `error`, `masked` (systemd.unit(5), systemctl(1) "LOAD"). */
  loadState: string;
  /** `active`, `reloading`, `inactive`, `failed`, `activating`, `deactivating`, `maintenance`. */
  activeState: string;
  /** Unit-type specific state, e.g. `running`, `auto-restart`, `dead`, `exited`. */
  subState: string;
  /** Main PID as seen in systemd's PID namespace; 0 when none. */
  mainPid: number;
  /** CLOCK_MONOTONIC time in microseconds at which the current/last main process was started; 0 = never. */
  execMainStartMonotonicUs: number;
  /** waitid(2) si_code of the last main process exit: 1 exited, 2 killed, 3 dumped; 0 = none. */
  execMainCode: number;
  /** Exit status (code 1) or signal number (codes 2, 3) of the last main process. */
  execMainStatus: number;
  /** Automatic restarts (Restart=) since the unit was last started by hand. */
  nRestarts: number;
  /** `success`, or why the unit failed last: `exit-code`, `signal`, `core-dump`, `timeout`, `start-limit-hit`… */
  result: string;
  /** cgroup path relative to the cgroup root, e.g. `/system.slice/demo-api.service`; empty when none. */
  controlGroup: string;
  /** Every property as printed, for anything not typed above. */
  raw: Record<string, string>;
}

/**
 * Splits `systemctl show` output into one `KEY=VALUE` map per unit. A value may itself contain `=`
 * (only the first one separates). Lines without `=` are ignored. CRLF is tolerated.
 */
export function parseShowBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    if (line.trim() === "") {
      current = undefined;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    if (!current) blocks.push((current = {}));
    current[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return blocks;
}

const int = (value: string | undefined): number => {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/** Signal names by number (signal(7), x86/arm): what ExecMainStatus holds when ExecMainCode is 2 or 3. */
const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/**
 * Restarts (NRestarts) and the last exit of the main process (ExecMainExitTimestampMonotonic,
 * ExecMainCode, ExecMainStatus; systemd.exec(5) "ENVIRONMENT VARIABLES IN SPAWNED PROCESSES" names the
 * same fields as $EXIT_CODE/$EXIT_STATUS) of one unit. `nowUs` and `nowMs` are the monotonic and wall
 * clocks of the same moment.
 */
export function toCrashHistory(
  record: UnitRecord,
  nowUs: number = monotonicNowUs(),
  nowMs: number = Date.now(),
): CrashHistory {
  const history: CrashHistory = { restarts: record.nRestarts };
  const exitUs = int(record.raw.ExecMainExitTimestampMonotonic);
  if (exitUs > 0 && record.execMainCode > 0) {
    const signal =
      record.execMainCode === 1 ? undefined : (SIGNALS[record.execMainStatus] ?? `signal ${record.execMainStatus}`);
    history.lastExit = {
      at: Math.round(nowMs - (nowUs - exitUs) / 1000),
      code: record.execMainCode === 1 ? record.execMainStatus : undefined,
      signal,
      ranSeconds:
        record.execMainStartMonotonicUs > 0 && exitUs >= record.execMainStartMonotonicUs
          ? (exitUs - record.execMainStartMonotonicUs) / 1e6
          : undefined,
      expected: record.result === "success",
    };
  }
  return history;
}

/** Turns one parsed block into a typed record; missing properties read as "" or 0. */
export function toUnitRecord(block: Record<string, string>): UnitRecord {
  return {
    id: block.Id ?? "",
    loadState: block.LoadState ?? "",
    activeState: block.ActiveState ?? "",
    subState: block.SubState ?? "",
    mainPid: int(block.MainPID),
    execMainStartMonotonicUs: int(block.ExecMainStartTimestampMonotonic),
    execMainCode: int(block.ExecMainCode),
    execMainStatus: int(block.ExecMainStatus),
    nRestarts: int(block.NRestarts),
    result: block.Result ?? "",
    controlGroup: block.ControlGroup ?? "",
    raw: block,
  };
}

/**
 * Parses `systemctl show` output for `units` (named in that order).
 * @throws Error when the number of blocks differs from the number of units asked for (then the
 *   output cannot be matched to names safely).
 */
export function parseShow(text: string, units: string[]): UnitRecord[] {
  const blocks = parseShowBlocks(text);
  if (blocks.length !== units.length) {
    throw new Error(
      `systemctl show: expected ${units.length} block(s) for ${units.join(", ")}, found ${blocks.length}`,
    );
  }
  return blocks.map(toUnitRecord);
}

/**
 * Maps a unit's ActiveState/SubState to a supervisord-shaped state:
 * active/exited (a oneshot that ran: RemainAfterExit=yes) → EXITED; `auto-restart` (waiting RestartSec= before an automatic restart) → BACKOFF; active/reloading → RUNNING;
 * activating → STARTING; deactivating → STOPPING; failed → FATAL; inactive → STOPPED; a unit systemd has
 * no file for (`not-found`) and that is not running → ABSENT; an inactive unit whose file systemd could
 * not load (`bad-setting`, `error`) → FATAL; anything else (e.g. `maintenance`) → UNKNOWN.
 */
export function programState(record: UnitRecord): ProgramState {
  if (record.subState === "auto-restart") return "BACKOFF";
  // a Type=oneshot unit with RemainAfterExit=yes whose run succeeded (systemd.service(5)): like supervisord's
  // EXITED with an expected exit code; a failed run is "failed" (FATAL) with Result exit-code
  if (record.activeState === "active" && record.subState === "exited") return "EXITED";
  switch (record.activeState) {
    case "active":
    case "reloading":
      return "RUNNING";
    case "activating":
      return "STARTING";
    case "deactivating":
      return "STOPPING";
    case "failed":
      return "FATAL";
    case "inactive":
      if (record.loadState === "not-found") return "ABSENT";
      // The unit file exists but systemd could not load it: it cannot start until the file is fixed.
      if (record.loadState === "bad-setting" || record.loadState === "error") return "FATAL";
      return "STOPPED";
    default:
      return "UNKNOWN";
  }
}

/** CLOCK_MONOTONIC now, in microseconds. libuv's hrtime reads CLOCK_MONOTONIC on Linux. */
export function monotonicNowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Builds the {@link ProgramStatus} of service `name` from its unit record.
 *
 * Uptime: `ExecMainStartTimestampMonotonic` is CLOCK_MONOTONIC in µs. The PID and mount namespaces of
 * the test sandbox do not change CLOCK_MONOTONIC (only a time namespace would, and none is used), so the
 * caller's own monotonic clock is comparable. `/proc/uptime` is NOT used: it counts CLOCK_BOOTTIME, which
 * also runs during suspend and then drifts from CLOCK_MONOTONIC.
 *
 * @param nowUs CLOCK_MONOTONIC now in µs (default {@link monotonicNowUs}); injectable for tests.
 */
export function toProgramStatus(name: string, record: UnitRecord, nowUs: number = monotonicNowUs()): ProgramStatus {
  const state = programState(record);
  const status: ProgramStatus = { name, state, detail: `${record.activeState}/${record.subState}` };
  if (record.loadState && record.loadState !== "loaded" && state !== "ABSENT") {
    status.detail += ` (unit ${record.loadState})`;
  }
  if (record.mainPid > 0) status.pid = record.mainPid;
  if (state === "RUNNING" && record.execMainStartMonotonicUs > 0) {
    status.uptimeSeconds = Math.max(0, Math.floor((nowUs - record.execMainStartMonotonicUs) / 1e6));
  }
  const ranBefore = record.execMainStartMonotonicUs > 0 && record.mainPid === 0;
  if (ranBefore && record.execMainCode === 1) status.exitStatus = record.execMainStatus;
  if (state === "FATAL" && record.loadState !== "loaded") {
    status.spawnError = `unit file ${record.loadState}: check it with systemd-analyze verify`;
  } else if (record.result && record.result !== "success") {
    status.spawnError =
      record.execMainCode === 2 || record.execMainCode === 3
        ? `${record.result} (signal ${record.execMainStatus})`
        : record.result;
  }
  if (record.raw.NRestarts !== undefined) status.restarts = record.nRestarts;
  return status;
}
