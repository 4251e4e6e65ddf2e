/**
 * A scripted process manager for fast procedure tests (as honcho's tests drive its Manager with a fake
 * process manager): every start of a program plays that program's scripted state history, one state per
 * status() read, the last state staying; every call is recorded in order. No process is spawned.
 */
import type {
  ApplyOptions,
  ApplyResult,
  Backend,
  CrashHistory,
  DetailSink,
  EmergencyStopResult,
  ProgramState,
  ProgramStatus,
} from "../../src/backend/types";
import type { ProcessInfo } from "../../src/inspect/processes";

/** Options of {@link FakeBackend}. */
export interface FakeOptions {
  /** the label a real backend would have ("supervisord" or "systemd"); default supervisord */
  label?: string;
  /** supervisord-like (apply starts programs, orphans possible) or systemd-like */
  like?: "supervisor" | "systemd";
  /** state history each start plays, per program; default ["STARTING", "RUNNING"] */
  script?: Record<string, ProgramState[]>;
  /**
   * state history of the n-th start of a program (n from 0; the last entry repeats); overrides `script` for it,
   * e.g. a new process that fails and the previous configuration that comes up again
   */
  startScripts?: Record<string, ProgramState[][]>;
  /** what apply() returns (then resets to nothing changed) */
  applied?: Partial<ApplyResult>;
  /** apply() throws this (e.g. to test a failed rollback) */
  applyError?: Error;
  /** the stderr log tail of each program */
  logs?: Record<string, string>;
  /** exit status reported for EXITED/FATAL programs, per program (default 1) */
  exitStatus?: Record<string, number>;
  /** the stdout log tail of each program (default empty) */
  stdout?: Record<string, string>;
  /** uptime reported for RUNNING programs, s (default 3600: past any startsecs) */
  uptimeSeconds?: number;
}

/** The fake. `calls` holds "start NAME", "stop NAME", "apply", "shutdown", … in order. */
export class FakeBackend implements Backend {
  readonly kind: "supervisor" | "systemd";
  readonly label: string;
  readonly endpoint = "fake";
  readonly fleetName: string;
  readonly applyStartsPrograms: boolean;
  readonly leavesOrphans: boolean;
  readonly calls: string[] = [];
  running = true;
  private readonly history = new Map<string, ProgramState[]>();
  private pids = 1_000_000;
  private readonly pid = new Map<string, number>();
  private held: string[] = [];
  private readonly starts = new Map<string, number>();

  constructor(private readonly options: FakeOptions = {}) {
    this.kind = options.like ?? "supervisor";
    this.label = options.label ?? (this.kind === "systemd" ? "systemd" : "supervisord");
    this.fleetName = this.kind === "systemd" ? "demo.target" : "supervisord";
    this.applyStartsPrograms = this.kind === "supervisor";
    this.leavesOrphans = this.kind === "supervisor";
  }

  /** Sets a program's current state without a start (e.g. RUNNING before a restart). */
  set(name: string, state: ProgramState): void {
    this.history.set(name, [state]);
    if (state === "RUNNING") this.pid.set(name, this.pids++);
  }

  async isRunning(): Promise<boolean> {
    return this.running;
  }
  /** "not answering" when `hung` is set (a SIGSTOPped supervisord), else running / not running. */
  async reachability(): Promise<"running" | "not running" | "not answering"> {
    return this.hung ? "not answering" : this.running ? "running" : "not running";
  }
  /** set to make the manager "not answering" */
  hung = false;
  async ensureRunning(): Promise<{ started: boolean }> {
    this.calls.push("ensureRunning");
    const started = !this.running;
    this.running = true;
    return { started };
  }
  async requireReachable(): Promise<void> {}
  async apply(options: ApplyOptions = {}): Promise<ApplyResult> {
    this.calls.push(options.select ? "apply(select)" : "apply");
    if (this.options.applyError) throw this.options.applyError;
    const result = { added: [], changed: [], removed: [], ...this.options.applied };
    // a changed program left out stays changed for the next apply, like supervisord's reloadConfig diff
    const changed = [...new Set([...this.held, ...(result.changed ?? [])])];
    const select = options.select ?? (() => true);
    this.held = changed.filter((p) => !select(p));
    this.options.applied = undefined;
    return {
      ...result,
      changed: changed.filter(select),
      ...(this.held.length ? { held: [...this.held] } : {}),
    };
  }
  async start(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    if (this.history.get(name)?.at(-1) === "RUNNING") return; // a no-op for a running program
    const n = this.starts.get(name) ?? 0;
    this.starts.set(name, n + 1);
    const byStart = this.options.startScripts?.[name];
    const script = byStart ? byStart[Math.min(n, byStart.length - 1)] : this.options.script?.[name];
    this.history.set(name, [...(script ?? ["STARTING", "RUNNING"])]);
    this.pid.set(name, this.pids++);
  }
  async stop(name: string): Promise<void> {
    this.calls.push(`stop ${name}`);
    this.history.set(name, ["STOPPED"]);
    this.pid.delete(name);
  }
  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }
  async status(names?: string[]): Promise<ProgramStatus[]> {
    return (names ?? [...this.history.keys()]).map((name) => {
      const states = this.history.get(name);
      if (!states) return { name, state: "ABSENT" as const };
      const state = states.length > 1 ? states.shift()! : states[0];
      const running = state === "RUNNING" || state === "STARTING";
      return {
        name,
        state,
        pid: running ? this.pid.get(name) : undefined,
        uptimeSeconds: state === "RUNNING" ? (this.options.uptimeSeconds ?? 3600) : undefined,
        exitStatus: state === "EXITED" || state === "FATAL" ? (this.options.exitStatus?.[name] ?? 1) : undefined,
      };
    });
  }
  /** crash history set by a test (default: none) */
  readonly history_: Map<string, CrashHistory> = new Map();
  async crashHistory(names: string[]): Promise<Map<string, CrashHistory>> {
    return new Map(names.flatMap((n) => (this.history_.has(n) ? [[n, this.history_.get(n)!] as const] : [])));
  }
  async tailLog(name: string, stream: "stdout" | "stderr"): Promise<string> {
    return (stream === "stderr" ? this.options.logs?.[name] : this.options.stdout?.[name]) ?? "";
  }
  async shutdown(): Promise<void> {
    this.calls.push("shutdown");
    for (const name of this.history.keys()) this.history.set(name, ["STOPPED"]);
    this.running = this.kind === "systemd";
  }
  programName(service: string): string {
    return this.kind === "systemd" ? `demo-${service}.service` : service;
  }
  ownsProcess(_service: string, mainPid: number | undefined, pid: number, _p: Map<number, ProcessInfo>): boolean {
    return mainPid !== undefined && pid === mainPid;
  }
  formerManagerPid(): number | undefined {
    return undefined;
  }
  close(): void {
    this.calls.push("close");
  }
  async emergencyStop(step: DetailSink, options: { dryRun: boolean }): Promise<EmergencyStopResult> {
    this.calls.push(options.dryRun ? "emergencyStop --dry-run" : "emergencyStop");
    step.detail(`fake: ${options.dryRun ? "would stop" : "stopping"} ${this.fleetName}`);
    if (!options.dryRun) await this.shutdown();
    return {
      summary: options.dryRun ? "planned" : "stopped",
      changes: options.dryRun ? [] : [`stopped ${this.fleetName}`],
      answered: true,
      orphanEvidence: this.leavesOrphans
        ? { serverUrl: "unix:///nonexistent/fake.sock", observedChildren: new Map() }
        : undefined,
    };
  }
}
