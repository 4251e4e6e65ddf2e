/**
 * A throw-away orchestrate project for end-to-end tests: a short temp folder under /tmp (the supervisord
 * socket path must stay under 108 bytes), a manifest written from an object, the BUILT CLI run as a child
 * process (corepack style: {exitCode, stdout, stderr}), and a cleanup that shuts the project's private
 * supervisord down through the backend and then SIGKILLs exactly the processes this project recorded —
 * never by name.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { isAlive, readPidfile } from "../../src/backend/supervisord/pids";
import { startTimeOf } from "../../src/inspect/processes";
import { pollUntil } from "../../src/signal/poll";
import { signalProcess, type SignalTarget } from "../../src/signal/send";
import { run } from "../../src/exec/run";
import { spawnService, type SpawnedProcess } from "../../src/exec/run";
import { projectPaths } from "../../src/model/paths";
import type { ProjectPaths } from "../../src/model/types";

/** The repository root (this file is test/helpers/project.ts). */
export const REPO_ROOT = resolve(__dirname, "../..");
/** The built CLI the tests run: dist/cli.cjs, or ORCHESTRATE_TEST_CLI (a bundle built elsewhere, used as is). */
export const CLI_PATH = process.env.ORCHESTRATE_TEST_CLI ?? join(REPO_ROOT, "dist", "cli.cjs");
/** The fixture services folder. */
export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "services");

/** Absolute path of a fixture service, e.g. `fixture("binds-port.js")`. */
export function fixture(file: string): string {
  const path = join(FIXTURES, file);
  if (!existsSync(path)) throw new Error(`expected fixture ${path} to exist`);
  return path;
}

/** Newest mtime (ms) of any file under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/cli.cjs when it is missing or older than src/ (test/global-setup.ts normally did it once
 * before any worker started; this keeps a single file runnable on its own).
 */
export function ensureBuilt(): void {
  // built by test/global-setup.ts for this run (rebuilding here could race a file running the CLI), or
  // a bundle given explicitly
  if (process.env.ORCHESTRATE_TEST_CLI || process.env.ORCHESTRATE_TEST_BUILT) return;
  const stale = !existsSync(CLI_PATH) || statSync(CLI_PATH).mtimeMs < newestMtime(join(REPO_ROOT, "src"));
  if (stale)
    execFileSync(process.execPath, [join(REPO_ROOT, "scripts", "build.mjs")], { cwd: REPO_ROOT, stdio: "pipe" });
}

/** What a CLI run gave back. `output` is stdout then stderr, for "is it named anywhere" checks. */
export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  output: string;
  durationMs: number;
}

/** Runs `node dist/cli.cjs ARGS` to completion (NO_COLOR set: plain text to match). */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const result = await run(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    extraEnv: { NO_COLOR: "1", ...options.env },
    timeoutMs: options.timeoutMs ?? 100_000,
  });
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    output: result.stdout + result.stderr,
    durationMs: result.durationMs,
  };
}

/** Readable dump of a CLI result for assertion messages. */
export function show(result: CliResult): string {
  return `exit ${result.exitCode} after ${Math.round(result.durationMs)} ms\n--- stdout ---\n${result.stdout}--- stderr ---\n${result.stderr}`;
}

/** Polls `done` until true or `timeoutMs`; throws "expected WHAT within N ms" (plus `detail()`) otherwise. */
export async function waitFor(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  detail?: () => string | Promise<string>,
): Promise<void> {
  if (await pollUntil(done, timeoutMs, { maxDelayMs: 200 })) return;
  throw new Error(`expected ${what} within ${timeoutMs} ms${detail ? `; last seen: ${await detail()}` : ""}`);
}

/** A node program that listens on 127.0.0.1:argv[1] and prints "ready" (a "foreign" port holder). */
const LISTENER_JS = `require("net").createServer((c) => c.end()).listen(+process.argv[1], "127.0.0.1", () => console.log("ready")); setInterval(() => {}, 1 << 30);`;

export class TestProject {
  readonly root: string;
  readonly manifestPath: string;
  readonly paths: ProjectPaths;
  /** The project's private supervisord, driven in-process (status, shutdown). */
  readonly backend: SupervisordBackend;
  private readonly known = new Map<number, SignalTarget>();
  private readonly spawned: SpawnedProcess[] = [];

  constructor(prefix: string) {
    this.root = mkdtempSync(join("/tmp", `o-${prefix}-`));
    this.manifestPath = join(this.root, "manifest.json");
    this.paths = projectPaths(this.manifestPath);
    if (Buffer.byteLength(this.paths.socket) >= 100)
      throw new Error(`socket path too long for AF_UNIX: ${this.paths.socket}`);
    this.backend = new SupervisordBackend(this.paths, {
      probeTimeoutMs: 1000,
      termTimeoutMs: 2000,
      exitTimeoutMs: 20_000,
    });
  }

  /** Writes manifest.json from an object (or raw text). */
  writeManifest(manifest: object | string): void {
    writeFileSync(
      this.manifestPath,
      typeof manifest === "string" ? manifest : JSON.stringify(manifest, null, 2) + "\n",
    );
  }

  /** The manifest as an object. */
  readManifest<T = any>(): T {
    return JSON.parse(readFileSync(this.manifestPath, "utf8")) as T;
  }

  /** `orchestrate --manifest <this manifest> ARGS`, run from the project folder. */
  cli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(["--manifest", this.manifestPath, ...args], { cwd: this.root, ...options });
  }

  /** Records a process (pid + start time) that cleanup may SIGKILL if it is still that process. */
  track(pid: number | undefined): void {
    if (!pid) return;
    const startTime = startTimeOf(pid);
    if (startTime !== undefined && !this.known.has(pid)) this.known.set(pid, { pid, startTime });
  }

  /** Records supervisord (pidfile), the private nginx (run/nginx/nginx.pid) and every program PID supervisord reports now. Never throws. */
  async trackAll(): Promise<void> {
    this.track(readPidfile(this.paths.pidfile));
    // the private nginx of a project with a proxy (its master leads the group of its workers)
    this.track(readPidfile(join(this.paths.run, "nginx", "nginx.pid")));
    try {
      if (!(await this.backend.isRunning())) return;
      for (const s of await this.backend.status()) this.track(s.pid);
    } catch {
      /* supervisord gone: nothing more to learn */
    }
  }

  /** PID of every program supervisord reports as having one, by name (and tracks them). */
  async pids(): Promise<Map<string, number>> {
    const statuses = await this.backend.status();
    for (const s of statuses) this.track(s.pid);
    return new Map(statuses.filter((s) => s.pid).map((s) => [s.name, s.pid!]));
  }

  /** Starts a listener of our own on 127.0.0.1:`port` in its own process group; resolves once it listens. */
  async startListener(port: number, timeoutMs = 10_000): Promise<SpawnedProcess> {
    const proc = await spawnService([process.execPath, "-e", LISTENER_JS, String(port)], {
      cwd: this.root,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    this.spawned.push(proc);
    let exited = false;
    void proc.exited.then(() => (exited = true));
    await waitFor(
      `our listener on ${port} (pid ${proc.pid}) to print "ready"`,
      () => exited || proc.output().includes("ready"),
      timeoutMs,
      () => proc.output(),
    );
    if (exited) throw new Error(`our listener on ${port} exited before listening: ${proc.output()}`);
    return proc;
  }

  /** SIGKILLs one listener started by {@link startListener} and waits until it is gone. */
  async stopListener(proc: SpawnedProcess): Promise<void> {
    proc.signalGroup("SIGKILL");
    await proc.exited;
  }

  /**
   * Shuts the private supervisord down (RPC, then TERM/KILL: src/backend/supervisord/daemon.ts), then
   * SIGKILLs every recorded process still alive (that process or its own group, only if its start time
   * still matches), and our own listeners. Removes the folder unless KEEP_E2E is set.
   */
  async cleanup(): Promise<void> {
    await this.trackAll();
    const errors: unknown[] = [];
    try {
      await this.backend.stopDaemon();
    } catch (err) {
      errors.push(err);
    }
    for (const target of this.known.values()) await signalProcess(target, "SIGKILL", { group: true });
    for (const proc of this.spawned.splice(0)) proc.signalGroup("SIGKILL");
    await pollUntil(() => [...this.known.values()].every((s) => !isAlive(s.pid, s.startTime)), 5000);
    this.known.clear();
    if (!process.env.KEEP_E2E) rmSync(this.root, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}

/** A new temp project; with `manifest`, writes it. */
export function createProject(prefix: string, manifest?: object | string): TestProject {
  const project = new TestProject(prefix);
  if (manifest !== undefined) project.writeManifest(manifest);
  return project;
}
