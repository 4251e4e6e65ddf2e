/**
 * The systemd {@link Backend}: drives `PROJECT-NAME.service` units and the `PROJECT.target` that wants
 * them (services are `PartOf=` it) through systemctl. Service names in and out are the manifest's names;
 * unit names are built here. State comes from `systemctl show` (show.ts), never from the human output.
 *
 * Namespaces: with `prefix` (e.g. nsenter into the test sandbox) every systemctl call runs inside, and
 * the PIDs reported (MainPID) are PIDs of THAT PID namespace. `unitDir` must then be the unit folder as
 * seen from this process, e.g. `/proc/<pid1>/root/run/systemd/system`.
 */
import { tailBytes } from "../../inspect/log-tail";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { exitRecordFiles } from "../../model/paths";
import { lastRecordedExit } from "./exit-record";
import { OperationError } from "../../errors";
import type {
  ApplyOptions,
  ApplyResult,
  Backend,
  CrashHistory,
  DetailSink,
  EmergencyStopResult,
  ProgramStatus,
  Reachability,
} from "../types";
import { cgroupOf, inProgramTree, type ProcessInfo } from "../../inspect/processes";
import { serviceUnitName } from "../../render/systemd/names";
import { classifyFailure, NOT_BOOTED_MESSAGE, systemctlError } from "./errors";
import {
  activateInstall,
  defaultUnitDir,
  planInstall,
  readInstalled,
  unitOfFile,
  writeInstall,
  type EnableMode,
  type InstallOptions,
} from "./install";
import { toCrashHistory, toProgramStatus, type UnitRecord } from "./show";
import { Systemctl } from "./systemctl";

/** Log files of one service (absolute paths, as in the model's `stdoutLog`/`stderrLog`). */
export interface ServiceLogs {
  stdout: string;
  stderr: string;
}

/** Construction options; paths as seen by this process. */
export interface SystemdBackendOptions {
  project: string;
  /** Rendered units: `<root>/units/systemd`. */
  unitsDir: string;
  /** Project `run/` folder; holds `systemd-installed.json`. */
  runDir: string;
  /** `system` (default) or `user` (`systemctl --user`, units in ~/.config/systemd/user). */
  scope?: "system" | "user";
  /** Offline tree for `systemctl --root=DIR`: install and enable only; nothing can be started. */
  root?: string;
  /** Command put before systemctl/journalctl, e.g. `["nsenter","-t",PID,"-m","-p"]`. */
  prefix?: string[];
  /** Install folder; default {@link defaultUnitDir} of scope/root. */
  unitDir?: string;
  /** How the target is enabled; default: `runtime` under /run, else `persistent`. */
  enable?: EnableMode;
  /** Log files per program name, NAME or NAME@I (the units' `StandardOutput=append:` targets). */
  logs?: Record<string, ServiceLogs>;
  /** Injected runner (tests); default built from scope/root/prefix. */
  systemctl?: Systemctl;
}

/** systemctl is-system-running answers in which units can be started (systemctl(1)). */
const USABLE_STATES = new Set(["running", "degraded", "starting", "initializing", "maintenance"]);

/** Drives one project's units through one systemd manager. */
export class SystemdBackend implements Backend {
  readonly kind = "systemd" as const;
  readonly label = "systemd";
  readonly applyStartsPrograms = false;
  readonly leavesOrphans = false;
  readonly systemctl: Systemctl;
  readonly install: InstallOptions;
  private readonly options: SystemdBackendOptions;

  constructor(options: SystemdBackendOptions) {
    this.options = options;
    const scope = options.scope ?? "system";
    this.systemctl = options.systemctl ?? new Systemctl({ scope, root: options.root, prefix: options.prefix });
    this.install = {
      project: options.project,
      unitsDir: options.unitsDir,
      unitDir: options.unitDir ?? defaultUnitDir({ scope, root: options.root, env: process.env }),
      stateFile: join(options.runDir, "systemd-installed.json"),
      enable: options.enable,
    };
  }

  /**
   * The unit that runs `program` (an instance's program name, {@link Instance.program}): `PROJECT-NAME.service`
   * for `NAME`, the template's instance `PROJECT-NAME@I.service` for `NAME@I` (systemd.unit(5), "template").
   */
  unitName(program: string): string {
    return serviceUnitName(this.options.project, program);
  }

  /** The unit of a program: {@link unitName}. */
  programName(program: string): string {
    return this.unitName(program);
  }

  /** recover step 1 stops the target: PartOf= stops every unit (systemd.unit(5)). */
  get fleetName(): string {
    return this.targetName;
  }

  /** "systemd (system manager)", "systemd (user manager)" or "systemd (offline tree DIR)". */
  get endpoint(): string {
    if (this.options.root !== undefined) return `systemd (offline tree ${this.options.root})`;
    return `systemd (${this.systemctl.scope} manager)`;
  }

  /** systemd cannot be started by orchestrate: it must answer before a change writes anything. */
  async requireReachable(): Promise<void> {
    await this.ensureRunning();
  }

  /** In the unit's cgroup (KillMode=control-group keeps every process there; systemd.kill(5)), or the main PID's tree. */
  ownsProcess(service: string, mainPid: number | undefined, pid: number, processes: Map<number, ProcessInfo>): boolean {
    const cgroup = cgroupOf(pid);
    const unit = `/${this.unitName(service)}`;
    if (cgroup !== undefined && (cgroup.endsWith(unit) || cgroup.includes(`${unit}/`))) return true;
    return mainPid !== undefined && mainPid > 0 && inProgramTree(pid, mainPid, processes);
  }

  /** Never: systemd outlives its units. */
  formerManagerPid(): number | undefined {
    return undefined;
  }

  /** Nothing to release: every systemctl call is its own process. */
  close(): void {}

  /** recover step 1: `systemctl stop PROJECT.target` (every unit stops through PartOf=). */
  async emergencyStop(step: DetailSink, options: { dryRun: boolean }): Promise<EmergencyStopResult> {
    if (options.dryRun) {
      step.detail(
        `would stop ${this.targetName}: every unit stops through PartOf=, KillMode=control-group leaves nothing behind`,
      );
      return {
        summary: `would stop ${this.targetName} (every unit stops through PartOf=)`,
        changes: [],
        answered: true,
      };
    }
    await this.shutdown();
    return { summary: "stopped: every unit through PartOf=", changes: [`stopped ${this.targetName}`], answered: true };
  }

  /** `PROJECT.target`. */
  get targetName(): string {
    return `${this.options.project}.target`;
  }

  /** Is a systemd manager answering in a state where units can be started? Always false with `--root`. */
  async isRunning(): Promise<boolean> {
    if (this.options.root !== undefined) return false;
    return USABLE_STATES.has((await this.systemctl.isSystemRunning()).state);
  }

  /**
   * systemd cannot be started by orchestrate: returns `{started:false}` when it runs.
   * @throws OperationError with {@link NOT_BOOTED_MESSAGE} when PID 1 is not systemd; naming `--user`
   *   or the supervisord backend when the user manager is unreachable; explaining `--root` (offline).
   */
  /** systemd answers or it does not: "running" or "not running" (systemctl has its own timeouts). */
  async reachability(): Promise<Reachability> {
    return (await this.isRunning()) ? "running" : "not running";
  }

  async ensureRunning(): Promise<{ started: boolean }> {
    if (this.options.root !== undefined) {
      throw new OperationError(
        `--root ${this.options.root}: expected a running systemd to start services, found an offline unit tree`,
        "--root only installs and enables units; drop --root to drive this host's systemd",
      );
    }
    const { state, result } = await this.systemctl.isSystemRunning();
    if (USABLE_STATES.has(state)) return { started: false };
    const kind = classifyFailure(result);
    if (
      kind === "not-booted" ||
      kind === "not-installed" ||
      (state === "offline" && this.systemctl.scope === "system")
    ) {
      throw new OperationError(
        NOT_BOOTED_MESSAGE,
        result.stderr.trim().split("\n")[0] || `systemctl is-system-running: ${state}`,
      );
    }
    if (result.stderr.trim()) throw systemctlError(result, "check that systemd is running", this.systemctl.scope);
    if (state === "offline") {
      // `systemctl --user is-system-running` prints just "offline" when no user manager answers (e.g. PID 1 is not systemd).
      throw new OperationError(
        "expected a running systemd user manager (systemctl --user), found none (offline)",
        "`--user` needs the user's own systemd: run from a login session on a systemd host (or `loginctl enable-linger $USER`), or install system-wide as root without --user, or use the supervisord backend (--backend supervisor)",
      );
    }
    throw new OperationError(
      `expected systemd to be running (running or degraded), found "${state}"`,
      state === "stopping"
        ? "the host is shutting down; retry after it is up"
        : "see `systemctl list-jobs` and `systemctl --failed`",
    );
  }

  /**
   * Installs `units/systemd/*` (install.ts): stops the services whose unit changed or is removed (while
   * systemd still has their old definition), writes and deletes files, daemon-reload, enables the
   * target. Starts nothing. Returns service names; the target itself is not a program and is omitted.
   * A changed instance left out by `options.select` is not stopped: its files are installed and reloaded, but
   * its running process keeps the definition it was started with until it is next started (systemctl(1),
   * daemon-reload); it is reported in `held`.
   */
  async apply(options: ApplyOptions = {}): Promise<ApplyResult> {
    const plan = await planInstall(this.install);
    const live = this.options.root === undefined;
    const installedBefore = await readInstalled(this.install.stateFile, this.install.unitDir);
    const rendered = [...plan.added, ...plan.changed].map((u) => u.name).concat(plan.unchanged);
    // Only services: stopping a changed target would stop every service through PartOf=. A changed
    // template changes every instance of it, a changed drop-in its own instance.
    const changedUnits = this.affectedUnits(
      plan.changed.map((u) => u.name),
      [...installedBefore, ...rendered],
    );
    const removedUnits = this.affectedUnits(plan.removed, installedBefore).filter(
      (u) => !rendered.some((f) => unitOfFile(f) === u),
    );
    const addedUnits = this.affectedUnits(
      plan.added.map((u) => u.name),
      rendered,
    ).filter((u) => !changedUnits.includes(u) && !installedBefore.some((f) => unitOfFile(f) === u));
    const select = options.select ?? (() => true);
    const chosen = changedUnits.filter((u) => this.serviceNames([u]).every(select));
    const held = changedUnits.filter((u) => !chosen.includes(u));
    if (live) for (const unit of [...chosen, ...removedUnits]) await this.stopUnit(unit);
    const result = await writeInstall(plan, this.install);
    await activateInstall(this.systemctl, this.install, [...result.installed, ...result.unchanged]);
    return {
      added: this.serviceNames(addedUnits),
      changed: this.serviceNames(chosen),
      removed: this.serviceNames(removedUnits),
      ...(held.length ? { held: this.serviceNames(held) } : {}),
    };
  }

  /**
   * The service units that installing `files` affects: a plain unit itself, a drop-in its instance, a
   * template every instance among `known` files (their drop-in folders). Targets are left out.
   */
  private affectedUnits(files: string[], known: string[]): string[] {
    const units = new Set<string>();
    for (const file of files) {
      const unit = unitOfFile(file);
      if (!unit.endsWith(".service")) continue;
      if (unit.endsWith("@.service")) {
        const stem = unit.slice(0, -".service".length);
        for (const k of known) if (unitOfFile(k).startsWith(stem) && unitOfFile(k) !== unit) units.add(unitOfFile(k));
      } else units.add(unit);
    }
    return [...units].sort();
  }

  /** `systemctl reset-failed` (clears a start-limit hit, like starting a FATAL supervisord program) then `start --no-block`. */
  async start(name: string): Promise<void> {
    const unit = this.unitName(name);
    await this.systemctl.run(["reset-failed", unit]); // fails harmlessly when the unit is not failed
    const result = await this.systemctl.run(["start", "--no-block", unit]);
    if (result.exitCode !== 0) throw systemctlError(result, `start ${unit}`, this.systemctl.scope);
  }

  /** `systemctl stop` waits for the stop job (SIGKILL after TimeoutStopSec=). A unit not loaded is already stopped. */
  async stop(name: string): Promise<void> {
    await this.stopUnit(this.unitName(name));
  }

  /** Stop (waiting), then start (not waiting), as the Backend contract says. */
  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /** Status of the named services, or of every rendered or installed service. Unknown units are ABSENT. */
  async status(names?: string[]): Promise<ProgramStatus[]> {
    const list = names ?? (await this.knownServices());
    const records = await this.unitRecords(list);
    return records.map((record, i) => toProgramStatus(list[i], record));
  }

  /** NRestarts and the last ExecMain exit of each named unit (one `systemctl show`). */
  async crashHistory(names: string[]): Promise<Map<string, CrashHistory>> {
    if (!names.length) return new Map();
    const records = await this.unitRecords(names);
    return new Map(
      records.map((record, i) => {
        const history = toCrashHistory(record);
        // the unit's own record outlives an automatic restart; systemctl show knows only the current process
        const recorded = lastRecordedExit(exitRecordFiles(this.options.runDir, names[i]).exits);
        if (recorded && (!history.lastExit || recorded.at >= history.lastExit.at - 1000)) history.lastExit = recorded;
        return [names[i], history];
      }),
    );
  }

  /** Raw `systemctl show` records of the named services. */
  private unitRecords(names: string[]): Promise<UnitRecord[]> {
    return this.systemctl.show(names.map((n) => this.unitName(n)));
  }

  /**
   * The last `bytes` of the service's `append:` log file; when no file is known or it does not exist,
   * the unit's journal (`journalctl -u UNIT -o cat`, both streams mixed) instead.
   */
  async tailLog(name: string, stream: "stdout" | "stderr", bytes: number): Promise<string> {
    const path = this.options.logs?.[name]?.[stream];
    if (path !== undefined) {
      try {
        return tailBytes(path, bytes);
      } catch {
        /* no append: file yet: the journal may have it */
      }
    }
    const lines = Math.max(50, Math.ceil(bytes / 40));
    const result = await this.systemctl.journal(["-u", this.unitName(name), "-o", "cat", "-n", String(lines)]);
    if (result.exitCode !== 0)
      throw systemctlError(result, `read the journal of ${this.unitName(name)}`, this.systemctl.scope);
    return result.stdout.slice(-bytes);
  }

  /**
   * `systemctl stop PROJECT.target`: PartOf= stops every service; systemd itself keeps running. Returns once
   * every known service is no longer active or deactivating: systemctl can return when the target's job is
   * done while a unit stopped through PartOf= is still waiting for its processes to exit (seen in the
   * sandbox e2e: a process still listening 50 ms later). Waits at most 2 minutes (each unit's
   * TimeoutStopSec is shorter; SIGKILL follows it).
   */
  async shutdown(): Promise<void> {
    await this.stopUnit(this.targetName);
    const names = Object.keys(this.options.logs ?? {});
    if (!names.length) return;
    const deadline = Date.now() + 120_000;
    let pause = 20;
    while (Date.now() < deadline) {
      const statuses = await this.status(names);
      if (
        statuses.every(
          (st) =>
            st.state !== "RUNNING" && st.state !== "STARTING" && st.state !== "STOPPING" && st.state !== "BACKOFF",
        )
      )
        return;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 250);
    }
  }

  private async stopUnit(unit: string): Promise<void> {
    const result = await this.systemctl.run(["stop", unit]);
    if (result.exitCode === 0 || classifyFailure(result) === "unit-not-found") return;
    throw systemctlError(result, `stop ${unit}`, this.systemctl.scope);
  }

  /** Program names (NAME, NAME@I) of service units and instance units; template units are not programs. */
  private serviceNames(units: string[]): string[] {
    const prefix = `${this.options.project}-`;
    return [...new Set(units.map((u) => unitOfFile(u).replace(/\.service\.d$/, ".service")))]
      .filter((u) => u.startsWith(prefix) && u.endsWith(".service") && !u.endsWith("@.service"))
      .map((u) => u.slice(prefix.length, -".service".length));
  }

  /** Programs of units/systemd/ (units, and instances by their drop-in folders) and of the install record. */
  private async knownServices(): Promise<string[]> {
    const rendered = await readdir(this.install.unitsDir).catch(() => [] as string[]);
    const installed = await readInstalled(this.install.stateFile, this.install.unitDir);
    return [...new Set(this.serviceNames([...rendered, ...installed]))].sort();
  }
}
