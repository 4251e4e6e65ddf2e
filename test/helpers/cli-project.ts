/**
 * End-to-end helpers for the built CLI against a real supervisord: a throw-away project under /tmp (short
 * path: the socket must stay under 108 bytes) with a manifest of fixture services, the CLI run as a child
 * process through src/exec/run.ts, and a record of every PID a test saw so cleanup kills exactly those.
 *
 * The CLI is dist/cli.cjs, built once for the whole run by test/global-setup.ts (or, for a file run without
 * it, once per file by scripts/build.mjs); ORCHESTRATE_TEST_CLI=path uses another bundle instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { readPidfile } from "../../src/backend/supervisord/pids";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { run, type RunResult } from "../../src/exec/run";
import { isAlive, processInfo } from "../../src/inspect/processes";
import { projectPaths } from "../../src/model/paths";
import type { ProjectPaths } from "../../src/model/types";

export const ROOT = resolve(__dirname, "../..");
export const FIXTURES = join(ROOT, "test/fixtures/services");

let built: Promise<string> | undefined;

/**
 * Path of the CLI: dist/cli.cjs as test/global-setup.ts built it for this run (ORCHESTRATE_TEST_BUILT). Only
 * without that is it built here, once per file: a rebuild while another file runs the CLI lets node load a
 * bundle esbuild is still writing ("runCli is not a function", seen in a full run). ORCHESTRATE_TEST_CLI
 * overrides.
 */
export function cliPath(): Promise<string> {
  if (process.env.ORCHESTRATE_TEST_CLI) return Promise.resolve(process.env.ORCHESTRATE_TEST_CLI);
  if (process.env.ORCHESTRATE_TEST_BUILT) return Promise.resolve(join(ROOT, "dist", "cli.cjs"));
  built ??= (async () => {
    const result = await run(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, timeoutMs: 120_000 });
    if (result.exitCode !== 0)
      throw new Error(`expected node scripts/build.mjs to succeed, found exit ${result.exitCode}: ${result.stderr}`);
    return join(ROOT, "dist", "cli.cjs");
  })();
  return built;
}

/** A fixture service: `node test/fixtures/services/FILE` on `port`. */
export function fixture(
  file: string,
  port: number | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    command: [process.execPath, join(FIXTURES, file)],
    ...(port === undefined ? {} : { port }),
    startSecs: 1,
    readyTimeout: 10,
    stopTimeout: 3,
    ...extra,
  };
}

/** A temp project: manifest.json written, paths resolved. */
export interface TestProject {
  root: string;
  manifest: string;
  paths: ProjectPaths;
}

export function makeCliProject(prefix: string, manifest: Record<string, unknown>): TestProject {
  const root = mkdtempSync(join("/tmp", prefix));
  mkdirSync(join(root, "run"), { recursive: true });
  const file = join(root, "manifest.json");
  writeFileSync(file, JSON.stringify({ host: "127.0.0.1", ...manifest }, null, 2) + "\n");
  return { root, manifest: file, paths: projectPaths(file) };
}

/** Runs `orchestrate --manifest M --no-color ARGS` and returns code and output. */
export async function orchestrate(project: TestProject, ...args: string[]): Promise<RunResult> {
  return run(process.execPath, [await cliPath(), "--manifest", project.manifest, "--no-color", ...args], {
    extraEnv: { NO_COLOR: "1" },
    timeoutMs: 120_000,
    cwd: project.root,
  });
}

/** Every process a test saw, by PID and start time: the only ones cleanup may kill. */
export class Seen {
  private readonly pids = new Map<number, number>();
  private readonly projects: TestProject[] = [];

  async add(...pids: (number | undefined)[]): Promise<void> {
    for (const pid of pids) {
      if (!pid) continue;
      const info = await processInfo(pid);
      if (info && !this.pids.has(pid)) this.pids.set(pid, info.startTime);
    }
  }

  project(p: TestProject): TestProject {
    this.projects.push(p);
    return p;
  }

  /**
   * Shuts each project's supervisord down, SIGKILLs every recorded PID that is still the same process (its
   * whole group when it leads one), deletes the projects.
   */
  async cleanup(): Promise<void> {
    for (const p of this.projects.splice(0)) {
      await this.add(readPidfile(p.paths.pidfile));
      const backend = new SupervisordBackend(p.paths, {
        probeTimeoutMs: 1000,
        termTimeoutMs: 1000,
        exitTimeoutMs: 10_000,
      });
      await backend.stopDaemon().catch(() => undefined);
      rmSync(p.root, { recursive: true, force: true });
    }
    for (const [pid, startTime] of this.pids) {
      if (!isAlive(pid, startTime)) continue;
      // a program leads its own group (a shell wrapper's child is in it): kill the group, never more
      const target = (await processInfo(pid))?.pgid === pid ? -pid : pid;
      try {
        process.kill(target, "SIGCONT");
        process.kill(target, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    this.pids.clear();
  }
}

/** `status --json` → service name → pid. */
export async function programPids(project: TestProject): Promise<Map<string, number>> {
  const result = await orchestrate(project, "status", "--json");
  const report = JSON.parse(result.stdout) as { services: { name: string; pid?: number }[] };
  return new Map(report.services.filter((s) => s.pid).map((s) => [s.name, s.pid!]));
}
