/**
 * Builds and runs `systemctl` command lines for one scope (system manager, `--user` manager, or an
 * offline `--root=DIR` tree), optionally behind a command prefix such as
 * `["nsenter", "-t", PID, "-m", "-p"]` so every call reaches the systemd of a test namespace.
 * Processes are spawned only through src/exec/run.ts.
 */
import { run, type RunResult } from "../../exec/run";
import { systemctlError } from "./errors";
import { parseShow, SHOW_PROPERTIES, type UnitRecord } from "./show";

/** How to reach systemd. */
export interface SystemctlOptions {
  /** `system` (default): the system manager; `user`: `systemctl --user` (the calling user's manager). */
  scope?: "system" | "user";
  /** Offline tree: `systemctl --root=DIR` (systemctl(1) "--root="); only enable/disable/is-enabled work. */
  root?: string;
  /** Command put before `systemctl`, e.g. `["nsenter","-t","4242","-m","-p"]`. Empty by default. */
  prefix?: string[];
  /** Kill a call after this many ms (default 120 000: a stop may wait TimeoutStopSec=, 90 s by default). */
  timeoutMs?: number;
  /** Executable name or path of systemctl (default `systemctl`); journalctl is looked up the same way. */
  systemctl?: string;
  journalctl?: string;
}

/** Answer of `systemctl is-system-running` (systemctl(1)): state word, or "offline"/"unknown". */
export interface SystemState {
  /** `running`, `degraded`, `starting`, `initializing`, `maintenance`, `stopping`, `offline`, `unknown`. */
  state: string;
  result: RunResult;
}

/** Runs systemctl (and journalctl) for one scope. Construct once per backend; cheap, holds no connection. */
export class Systemctl {
  readonly scope: "system" | "user";
  readonly root?: string;
  readonly prefix: string[];
  private readonly timeoutMs: number;
  private readonly systemctlBin: string;
  private readonly journalctlBin: string;

  constructor(options: SystemctlOptions = {}) {
    this.scope = options.scope ?? "system";
    this.root = options.root;
    this.prefix = options.prefix ?? [];
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.systemctlBin = options.systemctl ?? "systemctl";
    this.journalctlBin = options.journalctl ?? "journalctl";
  }

  /** Scope flags shared by systemctl and journalctl: `--user` and/or `--root=DIR`. */
  private scopeFlags(): string[] {
    const flags: string[] = [];
    if (this.scope === "user") flags.push("--user");
    if (this.root !== undefined) flags.push(`--root=${this.root}`);
    return flags;
  }

  /**
   * Full argv (prefix included) for `systemctl <scope flags> --no-ask-password --no-pager ARGS`.
   * `--no-ask-password` makes a missing privilege fail at once ("Interactive authentication required")
   * instead of waiting for a polkit agent. Pure; used by {@link run} and shown in dry runs.
   */
  argv(args: string[]): string[] {
    return [...this.prefix, this.systemctlBin, ...this.scopeFlags(), "--no-ask-password", "--no-pager", ...args];
  }

  /** Runs `systemctl ARGS`; never throws for a non-zero exit (see src/exec/run.ts). */
  run(args: string[]): Promise<RunResult> {
    const [file, ...rest] = this.argv(args);
    return run(file, rest, { timeoutMs: this.timeoutMs, extraEnv: { SYSTEMD_COLORS: "0", LC_ALL: "C" } });
  }

  /** Runs `journalctl <scope flags> --no-pager ARGS` behind the same prefix. */
  journal(args: string[]): Promise<RunResult> {
    const argv = [...this.prefix, this.journalctlBin, ...this.scopeFlags(), "--no-pager", ...args];
    return run(argv[0], argv.slice(1), { timeoutMs: this.timeoutMs, extraEnv: { LC_ALL: "C" } });
  }

  /**
   * `systemctl is-system-running`. Its exit code is non-zero for `degraded` too, so the state word on
   * stdout decides; an empty stdout (systemctl could not even ask) reads as `offline`.
   */
  async isSystemRunning(): Promise<SystemState> {
    const result = await this.run(["is-system-running"]);
    const state = result.stdout.trim().split("\n")[0]?.trim() || "offline";
    return { state, result };
  }

  /**
   * `systemctl show -p <SHOW_PROPERTIES> UNIT…` parsed into one record per unit, in the order given.
   * @throws OperationError (see errors.ts) when the call fails: systemd not booted, bus unreachable,
   *   invalid unit name.
   */
  async show(units: string[]): Promise<UnitRecord[]> {
    if (units.length === 0) return [];
    const result = await this.run(["show", `--property=${SHOW_PROPERTIES.join(",")}`, ...units]);
    if (result.exitCode !== 0) {
      throw systemctlError(result, `status of ${units.join(", ")}`, this.scope);
    }
    return parseShow(result.stdout, units);
  }
}
