/**
 * The supervisord {@link Backend}: drives the project's private supervisord over XML-RPC on
 * run/supervisord.sock (methods: the supervisord docs, "XML-RPC API Documentation"), or, with `serverUrl`,
 * only this project's programs in the machine's supervisord (./system.ts). One program per group, named
 * after the instance (NAME, or NAME@I with `instances`), so a group name and a program name are the same
 * string.
 */
import { basename, join, relative } from "node:path";
import { OperationError, UsageError } from "../../errors";
import type { Model, ProjectPaths } from "../../model/types";
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
import { inProgramTree, isAlive, type ProcessInfo as LiveProcess } from "../../inspect/processes";
import { stopSupervisord, type DaemonStopTimeouts } from "./emergency-stop";
import { readPidfile } from "./pids";
import { SupervisorConnectionError, SupervisorFault, SupervisorRpc } from "./client";
import { livePid, shutdownDaemon, startDaemon, type DaemonOptions, type ShutdownReport } from "./daemon";
import { tailBytes } from "../../inspect/log-tail";
import { parseCrashHistory, readCrashHistory } from "./crash-history";
import { SupervisorStates, toProgramStatus, type ProcessInfo } from "./states";
import {
  ignoringFaults,
  LoadedConfigs,
  reread,
  stopWaitMs,
  updateGroups,
  type RereadDiff,
  type UpdateOptions,
} from "./update";
import {
  forgetUnloaded,
  installSupervisorPrograms,
  undoSupervisorInstall,
  unloadedPrograms,
  type SupervisorInstall,
} from "./install-conf-dir";
import {
  runningPrograms,
  stopByPriority,
  systemConfDir,
  systemProgramFiles,
  systemPrograms,
  systemUnreachable,
} from "./system";

/** Options of {@link SupervisordBackend}: daemon timeouts plus the default RPC timeout (ms, default 5000). */
export interface SupervisordBackendOptions extends DaemonOptions {
  rpcTimeoutMs?: number;
  /**
   * A supervisord that is not orchestrate's own (the machine's, after `install --supervisor-conf-dir`):
   * its `serverurl` as supervisorctl takes it (supervisord docs, "[supervisorctl] Section Settings":
   * `unix:///var/run/supervisor.sock`). orchestrate then reads and drives only this project's programs
   * there and never starts, reconfigures or stops that supervisord itself.
   */
  serverUrl?: string;
  /**
   * With `serverUrl`: the model the command runs with — its project names the fleet in messages.
   */
  model?: Model;
  /** timeouts of {@link SupervisordBackend.emergencyStop} (recover step 1) */
  emergency?: DaemonStopTimeouts;
}

/** Backend for the private supervisord of one project. Construct from the project's {@link ProjectPaths}. */
export class SupervisordBackend implements Backend {
  readonly kind = "supervisor" as const;
  readonly label = "supervisord";
  /** false: every generated program has autostart=false (src/render/supervisord/programs.ts); orchestrate starts them */
  readonly applyStartsPrograms = false;
  /** The XML-RPC client; other modules (verify, inspect) may read through it. */
  readonly rpc: SupervisorRpc;

  /** The private supervisord: yes (recover kills it, its children outlive it). The machine's: no, it is never stopped. */
  get leavesOrphans(): boolean {
    return !this.options.serverUrl;
  }

  /** recover step 1 stops the private supervisord itself; in the machine's, only this project's programs. */
  get fleetName(): string {
    return this.options.serverUrl ? `the programs of ${this.options.model?.project ?? "this project"}` : "supervisord";
  }

  constructor(
    readonly paths: ProjectPaths,
    private readonly options: SupervisordBackendOptions = {},
  ) {
    this.rpc = new SupervisorRpc({
      socketPath: options.serverUrl ? socketOfServerUrl(options.serverUrl) : paths.socket,
      timeoutMs: options.rpcTimeoutMs,
    });
    this.configs = new LoadedConfigs(this.rpc);
  }

  /** The socket, relative to the project: "run/supervisord.sock"; the server URL for the machine's supervisord. */
  get endpoint(): string {
    return this.options.serverUrl ?? relative(this.paths.root, this.paths.socket);
  }

  /**
   * The private supervisord: nothing to check, orchestrate starts it itself (ensureRunning). The machine's
   * (--server-url): it must answer. @throws OperationError naming its socket and `systemctl start supervisor`.
   */
  async requireReachable(): Promise<void> {
    if (this.options.serverUrl && !(await this.isRunning()))
      throw systemUnreachable(this.options.serverUrl, this.rpc.socketPath);
  }

  /** One program per instance, named as the model names it (NAME or NAME@I). */
  programName(program: string): string {
    return program;
  }

  /** The main PID, its descendants and its process group. */
  ownsProcess(
    _service: string,
    mainPid: number | undefined,
    pid: number,
    processes: Map<number, LiveProcess>,
  ): boolean {
    return mainPid !== undefined && mainPid > 0 && inProgramTree(pid, mainPid, processes);
  }

  /** run/supervisord.pid when that PID is gone. */
  formerManagerPid(): number | undefined {
    if (this.options.serverUrl) return undefined;
    const pid = readPidfile(this.paths.pidfile);
    return pid !== undefined && !isAlive(pid) ? pid : undefined;
  }

  /** Closes the RPC client's idle socket. */
  close(): void {
    this.rpc.close();
  }

  /**
   * recover step 1 (./emergency-stop.ts): RPC shutdown, else TERM (+CONT) and KILL of run/supervisord.pid.
   * The machine's supervisord is never stopped: only this project's programs there are (stopProcess).
   */
  async emergencyStop(step: DetailSink, options: { dryRun: boolean }): Promise<EmergencyStopResult> {
    if (this.options.serverUrl) {
      const url = this.options.serverUrl;
      if (options.dryRun) {
        const running = await this.runningOfOurs();
        step.detail(`would stop ${running.join(" ") || "nothing (none running)"} in the supervisord at ${url}`);
        return { summary: "planned", changes: [], answered: true };
      }
      const stopped = await this.stopOurs();
      const keeps = `the supervisord at ${url} and its other programs keep running`;
      return {
        summary: `${stopped.length ? `stopped ${stopped.join(" ")}` : "none was running"}; ${keeps}`,
        changes: stopped.length ? [`stopped ${stopped.join(" ")} in the supervisord at ${url}`] : [],
        answered: true,
      };
    }
    const pidfileBefore = readPidfile(this.paths.pidfile);
    const daemon = await stopSupervisord(this.paths, step, {
      dryRun: options.dryRun,
      timeouts: this.options.emergency,
    });
    const stopped = !options.dryRun && daemon.pid !== undefined;
    return {
      summary:
        daemon.pid === undefined
          ? "was not running"
          : options.dryRun
            ? "planned"
            : `stopped (${daemon.escalation === "rpc" ? "RPC shutdown" : daemon.escalation})`,
      changes: stopped ? [`stopped supervisord PID ${daemon.pid} (${daemon.escalation})`] : [],
      pid: daemon.pid,
      answered: daemon.answered,
      orphanEvidence: {
        serverUrl: `unix://${this.paths.socket}`,
        // the supervisord whose session its orphans keep: the one stopped now, else a dead one from the pidfile
        formerManagerPid:
          daemon.pid ?? (pidfileBefore !== undefined && !isAlive(pidfileBefore) ? pidfileBefore : undefined),
        observedChildren: daemon.children,
      },
    };
  }

  /** Whether supervisord answers `getState` as RUNNING within the probe timeout. Never throws for "down". */
  async isRunning(): Promise<boolean> {
    try {
      const state = await this.rpc.request<{ statecode: number }>("supervisor.getState", [], {
        timeoutMs: this.options.probeTimeoutMs ?? 2000,
      });
      return state.statecode === SupervisorStates.RUNNING;
    } catch {
      return false;
    }
  }

  /**
   * getState within the probe timeout: RUNNING → "running"; no socket / refused with no live supervisord in
   * run/supervisord.pid → "not running"; a timeout (the socket accepts, nobody reads: SIGSTOP, a hang), or a
   * live supervisord of this project that does not answer → "not answering".
   */
  async reachability(): Promise<Reachability> {
    try {
      const state = await this.rpc.request<{ statecode: number }>("supervisor.getState", [], {
        timeoutMs: this.options.probeTimeoutMs ?? 2000,
      });
      return state.statecode === SupervisorStates.RUNNING ? "running" : "not running";
    } catch (err) {
      if (err instanceof SupervisorConnectionError && err.reason === "timeout") return "not answering";
      return livePid(this.paths) !== undefined ? "not answering" : "not running";
    }
  }

  /**
   * Starts the private supervisord when it is not running; see {@link startDaemon} for errors. The machine's
   * is never started: @throws OperationError (its socket, `systemctl start supervisor`) when it does not answer.
   */
  async ensureRunning(): Promise<{ started: boolean }> {
    if (this.options.serverUrl) {
      await this.requireReachable();
      return { started: false };
    }
    return startDaemon(this.paths, this.rpc, this.options);
  }

  /**
   * Like `supervisorctl update`: `reloadConfig`, then stop + remove changed and removed groups, then
   * `addProcessGroup` for changed and added ones in supervisord priority order. The generated programs have
   * autostart=false, so added and changed programs are STOPPED when this returns: the caller starts them.
   *
   * The machine's supervisord (`serverUrl`): first the program files of units/supervisor/, with the manifest's
   * autostart, are installed into the include folder `install --supervisor-conf-dir` recorded (as install
   * does: another application's NAME.conf there is refused), then the same steps act only on this project's
   * programs, like `supervisorctl update NAME…`: another group that changed there is left as it is. Added
   * programs with autostart=true are started by that supervisord as they are added.
   * @throws OperationError when supervisord cannot read the configuration (CANT_REREAD: the installed files are
   *   put back as they were) or refuses a step; with `serverUrl`, when no include folder is recorded.
   */
  async apply(options: ApplyOptions = {}): Promise<ApplyResult> {
    this.configs.forget();
    const before = await this.configs.get();
    if (this.options.serverUrl) {
      const conf = systemConfDir(this.paths, this.options.serverUrl);
      const ours = systemPrograms(this.paths);
      const files = systemProgramFiles(this.paths);
      const install = installSupervisorPrograms({ paths: this.paths }, files, conf.dir);
      const diff = await this.rereadInstalled(install);
      const result = await updateGroups(this.rpc, this.configs, before, diff, this.updateOptions(ours, options.select));
      forgetUnloaded({ paths: this.paths });
      return result;
    }
    const diff = await reread(
      this.rpc,
      `${relative(this.paths.root, this.paths.supervisordConf)} or its includes`,
      "run `orchestrate generate` and check the file named in the message; running programs were not touched",
    );
    return updateGroups(this.rpc, this.configs, before, diff, this.updateOptions(undefined, options.select));
  }

  /**
   * `install --supervisor-conf-dir DIR` when the machine's supervisord (`serverUrl`) answers: like
   * `supervisorctl reread` then `supervisorctl update NAME…` with NAME the programs `install` wrote, kept or
   * removed in DIR, and those an earlier install removed without the supervisord being told — this project's only; another application's program there, changed or not, is left as it
   * is. Added programs with autostart=true are started by that supervisord as they are added; a changed one
   * is stopped, reloaded and (autostart=true) started again, as `supervisorctl update` does.
   * @returns what was added, changed and removed, and `missing`: programs installed into DIR that the
   *   supervisord did not load (its `[include] files=` does not read DIR).
   * @throws OperationError when it cannot read its configuration (CANT_REREAD): the files of `install` are put
   *   back as they were; or when it refuses a step.
   */
  async updateInstalled(install: SupervisorInstall): Promise<ApplyResult & { missing: string[] }> {
    const name = (f: string) => basename(f).replace(/\.conf$/, "");
    const wanted = [...install.installed, ...install.unchanged].map(name);
    this.configs.forget();
    const before = await this.configs.get();
    const ours = [...wanted, ...install.removed.map(name), ...unloadedPrograms({ paths: this.paths })];
    const diff = await this.rereadInstalled(install);
    const result = await updateGroups(this.rpc, this.configs, before, diff, this.updateOptions(new Set(ours)));
    forgetUnloaded({ paths: this.paths });
    const loaded = await this.configs.get();
    return { ...result, missing: wanted.filter((n) => !loaded.has(n)).sort() };
  }

  /** With `serverUrl`: `reloadConfig` after `install`; CANT_REREAD puts the installed files back, then throws. */
  private async rereadInstalled(install: SupervisorInstall): Promise<RereadDiff> {
    try {
      return await reread(
        this.rpc,
        `its configuration (${this.options.serverUrl}, this project's programs in ${install.dir})`,
        `check the file named in the message (supervisorctl reread says the same); this project's files in ${install.dir} were put back as they were, running programs were not touched`,
      );
    } catch (err) {
      undoSupervisorInstall({ paths: this.paths }, install);
      throw err;
    }
  }

  /** {@link updateGroups} options: only `ours` (all when undefined), the changed ones `select` takes. */
  private updateOptions(ours?: Set<string>, select?: (name: string) => boolean): UpdateOptions {
    return { ours, select, rpcTimeoutMs: this.options.rpcTimeoutMs ?? 5000 };
  }

  /** This project's programs the machine's supervisord has loaded and that are not stopped. */
  private async runningOfOurs(): Promise<string[]> {
    return runningPrograms(systemPrograms(this.paths), await this.status());
  }

  /** Stops this project's programs in the machine's supervisord ({@link stopByPriority}); returns their names. */
  private async stopOurs(): Promise<string[]> {
    const running = await this.runningOfOurs();
    const configs = await this.configs.get();
    await stopByPriority(
      running,
      (name) => configs.get(name)?.group_prio ?? 999,
      (name) => this.stop(name),
    );
    return running;
  }

  /** `startProcess(name, false)`: asks supervisord to start it, without waiting; ALREADY_STARTED is fine. */
  async start(name: string): Promise<void> {
    await this.ignoring(["ALREADY_STARTED"], () => this.rpc.call("supervisor.startProcess", name, false), name);
  }

  /** `stopProcess(name, true)`: returns once stopped (supervisord sends SIGKILL after stopwaitsecs); NOT_RUNNING is fine. */
  async stop(name: string): Promise<void> {
    const timeoutMs = stopWaitMs(await this.configs.get(), name, this.options.rpcTimeoutMs ?? 5000);
    await this.ignoring(
      ["NOT_RUNNING"],
      () => this.rpc.request("supervisor.stopProcess", [name, true], { timeoutMs }),
      name,
    );
  }

  /** Stop (waiting), then start (not waiting). */
  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /** Restarts and last exits since supervisord started, from its activity log (./crash-history.ts). */
  async crashHistory(names: string[]): Promise<Map<string, CrashHistory>> {
    // the machine's supervisord logs elsewhere (its [supervisord] logfile): read it through `readLog`
    const all = this.options.serverUrl
      ? parseCrashHistory(await this.rpc.call<string>("supervisor.readLog", -256 * 1024, 0).catch(() => "")).programs
      : readCrashHistory(this.paths.supervisordLog);
    return new Map(names.flatMap((n) => (all.has(n) ? [[n, all.get(n)!] as const] : [])));
  }

  /** Status from one `getAllProcessInfo`; a requested name supervisord does not know is ABSENT. */
  async status(names?: string[]): Promise<ProgramStatus[]> {
    this.inflightStatus ??= this.rpc
      .call<ProcessInfo[]>("supervisor.getAllProcessInfo")
      .finally(() => (this.inflightStatus = undefined));
    const all = (await this.inflightStatus).map(toProgramStatus);
    if (!names) return all;
    const byName = new Map(all.map((s) => [s.name, s]));
    return names.map((name) => byName.get(name) ?? { name, state: "ABSENT" });
  }

  /**
   * The last `bytes` bytes of a program's log, via `readProcessStdoutLog`/`readProcessStderrLog` with a
   * negative offset; when the RPC fails (supervisord down, program removed, a cut UTF-8 sequence that
   * supervisord cannot decode), read logs/NAME.out.log or logs/NAME.err.log directly.
   * @throws OperationError when neither works.
   */
  async tailLog(name: string, stream: "stdout" | "stderr", bytes: number): Promise<string> {
    const method = stream === "stdout" ? "supervisor.readProcessStdoutLog" : "supervisor.readProcessStderrLog";
    try {
      return await this.rpc.call<string>(method, name, -Math.max(1, Math.floor(bytes)), 0);
    } catch (rpcError) {
      const file = join(this.paths.logs, `${name}.${stream === "stdout" ? "out" : "err"}.log`);
      try {
        return tailBytes(file, bytes);
      } catch (fileError) {
        throw new OperationError(
          `cannot read the ${stream} log of "${name}": ${(rpcError as Error).message}; ` +
            `${relative(this.paths.root, file)}: ${(fileError as Error).message}`,
          "check the service name (`orchestrate status`) and that it has run at least once",
        );
      }
    }
  }

  /**
   * Stops every program and supervisord; see {@link stopDaemon}. The machine's supervisord keeps running:
   * only this project's programs there are stopped.
   */
  async shutdown(): Promise<void> {
    if (this.options.serverUrl) await this.stopOurs();
    else await this.stopDaemon();
  }

  /** {@link shutdownDaemon} with this backend's timeouts, returning what it had to do. */
  stopDaemon(): Promise<ShutdownReport> {
    return shutdownDaemon(this.paths, this.rpc, this.options);
  }

  /** supervisord's loaded configuration set, fetched once until the next apply (./update.ts) */
  private readonly configs: LoadedConfigs;
  /** The `getAllProcessInfo` call in flight: concurrent status() calls (one per service waiting for readiness) share it. */
  private inflightStatus?: Promise<ProcessInfo[]>;

  /** Runs an RPC, treating the listed faults as success; BAD_NAME of `program` gets a clear message. */
  private async ignoring(
    faults: SupervisorFault["faultName"][],
    call: () => Promise<unknown>,
    program?: string,
  ): Promise<void> {
    try {
      await ignoringFaults(faults, call);
    } catch (err) {
      if (err instanceof SupervisorFault && err.is("BAD_NAME") && program !== undefined) {
        throw new OperationError(
          `supervisord has no program "${program}" (expected ${relative(this.paths.root, join(this.paths.supervisorDir, `${program}.conf`))}, loaded by apply)`,
          "run `orchestrate generate`, then `orchestrate restart` to load it",
        );
      }
      throw err;
    }
  }
}

/**
 * The socket path of a supervisorctl `serverurl` (`unix:///var/run/supervisor.sock`).
 * @throws UsageError for another scheme: orchestrate talks to supervisord over its unix socket only.
 */
export function socketOfServerUrl(url: string): string {
  const m = /^unix:\/\/(\/.+)$/.exec(url);
  if (!m)
    throw new UsageError(
      `--server-url expects unix:///PATH (supervisorctl's serverurl of a unix socket), found "${url}"`,
      "e.g. --server-url unix:///var/run/supervisor.sock (the [unix_http_server] file= of that supervisord)",
    );
  return m[1];
}
