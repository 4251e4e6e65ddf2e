/**
 * "The machine's own supervisord" for e2e tests: a SECOND supervisord started as a system one would be — its
 * own supervisord.conf with [unix_http_server], [supervisorctl] serverurl and [include] files = conf.d/*.conf,
 * another application's program in conf.d — all inside a temp folder, never /etc/supervisor. It daemonizes
 * like the system one; {@link SystemSupervisord.stop} shuts exactly it down (its pidfile's PID).
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { isAlive } from "../../src/backend/supervisord/pids";
import { fixture, waitFor, type TestProject } from "./project";

const SUPERVISORD = "/usr/bin/supervisord";

/** Options of {@link SystemSupervisord.start}. */
export interface SystemSupervisordOptions {
  /** temp folder prefix under /tmp (short: the socket path must stay under 108 bytes) */
  prefix: string;
  /** port of the other application's program (binds-port.js) */
  otherPort: number;
  /** extra `environment=` of the other program, e.g. `SERVICE_NAME="other-app"` */
  otherEnv?: string;
  /** write paths as `%(here)s/…` (how packaged configs are written) instead of absolute ones */
  here?: boolean;
  /** further folders to create below the temp folder */
  folders?: string[];
}

/** The text of a system-style supervisord.conf in `dir` (`here`: paths relative to its folder). */
export function systemConfText(dir: string, here = false): string {
  const at = (p: string) => (here ? `%(here)s/${p}` : join(dir, p));
  return `[unix_http_server]
file=${at("supervisor.sock")}
chmod=0700

[supervisord]
logfile=${at("log/supervisord.log")}
pidfile=${at("supervisord.pid")}
childlogdir=${at("log")}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${at("supervisor.sock")}

[include]
files = conf.d/*.conf
`;
}

/** A running second supervisord and the means to look at it as supervisorctl does. */
export class SystemSupervisord {
  /** PID from its pidfile once it answers */
  pid = 0;
  private backend?: SupervisordBackend;

  private constructor(
    /** the "system" folder: supervisord.conf, conf.d/, log/ */
    readonly dir: string,
  ) {}

  /** its supervisord.conf */
  get conf(): string {
    return join(this.dir, "supervisord.conf");
  }

  /** its serverurl, as `--server-url` takes it */
  get url(): string {
    return `unix://${join(this.dir, "supervisor.sock")}`;
  }

  /** Writes the folder and starts supervisord; resolves once the other program is RUNNING. */
  static async start(options: SystemSupervisordOptions): Promise<SystemSupervisord> {
    const sup = new SystemSupervisord(mkdtempSync(`/tmp/${options.prefix}`));
    for (const d of ["conf.d", "log", ...(options.folders ?? [])]) mkdirSync(join(sup.dir, d), { recursive: true });
    writeFileSync(sup.conf, systemConfText(sup.dir, options.here));
    writeFileSync(
      join(sup.dir, "conf.d", "other.conf"),
      `[program:other]\ncommand=${process.execPath} ${fixture("binds-port.js")}\nenvironment=PORT="${options.otherPort}"${options.otherEnv ? `,${options.otherEnv}` : ""}\nstartsecs=1\n`,
    );
    const started = spawnSync(SUPERVISORD, ["-c", sup.conf], { encoding: "utf8" }); // daemonizes like the system one
    expect(started.status, started.stderr).toBe(0);
    await waitFor("the system supervisord to answer", () => sup.stateOf("other") === "RUNNING", 20_000);
    sup.pid = Number(readFileSync(join(sup.dir, "supervisord.pid"), "utf8"));
    return sup;
  }

  /** `supervisorctl -c CONF ARGS…` (30 s at most). */
  ctl(...args: string[]): SpawnSyncReturns<string> {
    return spawnSync("supervisorctl", ["-c", this.conf, ...args], { encoding: "utf8", timeout: 30_000 });
  }

  /** The state supervisorctl shows for `name`, or undefined when that supervisord does not know it. */
  stateOf(name: string): string | undefined {
    return new RegExp(`^${name}\\s+([A-Z]+)`, "m").exec(this.ctl("status").stdout)?.[1];
  }

  /** PID of each of its programs (ours and the other one); each is tracked by `project` for cleanup. */
  async pids(project: TestProject): Promise<Map<string, number>> {
    this.backend ??= new SupervisordBackend(project.paths, { serverUrl: this.url });
    const rows = await this.backend.status();
    for (const r of rows) project.track(r.pid);
    return new Map(rows.filter((r) => r.pid).map((r) => [r.name, r.pid!]));
  }

  /**
   * Records its programs' PIDs in `project` (so the project's cleanup kills any left), shuts it down, waits
   * for its PID to exit (SIGKILL of exactly that PID after 20 s), removes the folder unless KEEP_E2E is set.
   */
  async stop(project: TestProject | undefined): Promise<void> {
    if (this.backend && project) await this.pids(project).catch(() => undefined);
    this.backend?.close();
    this.ctl("shutdown");
    const pid = this.pid;
    if (pid)
      await waitFor("the system supervisord to exit", () => !isAlive(pid), 20_000).catch(() =>
        process.kill(pid, "SIGKILL"),
      );
    if (!process.env.KEEP_E2E) rmSync(this.dir, { recursive: true, force: true });
  }
}
