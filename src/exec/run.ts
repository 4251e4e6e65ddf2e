/**
 * The one module that spawns processes. Everything else (backends, inspectors, test-start) calls these.
 * execa is loaded lazily: it costs 25-76 ms to import (docs/facts.md) and the lookup commands never need it.
 */
import type { ChildProcess } from "node:child_process";
import { signalGroup } from "../signal/kill";

/** Outcome of a finished command. `exitCode` is undefined when it was killed by a signal. */
export interface RunResult {
  command: string;
  exitCode: number | undefined;
  signal?: string;
  stdout: string;
  stderr: string;
  /** true when the executable could not be started at all (ENOENT, EACCES). */
  failedToStart: boolean;
  /** ms from spawn to exit */
  durationMs: number;
}

/** Options of {@link run}. Times in ms. */
export interface RunOptions {
  /** Working directory of the child (default: ours). */
  cwd?: string;
  /** Full environment of the child; when set, nothing of ours is inherited (extendEnv false). */
  env?: Record<string, string>;
  /** Added to our own environment; ignored when `env` is set. */
  extraEnv?: Record<string, string>;
  /** Written to the child's stdin. */
  input?: string;
  /** Kill with SIGKILL after this many ms. */
  timeoutMs?: number;
}

/**
 * Runs `file` with `args` (no shell) to completion and returns its output; never throws for a non-zero
 * exit or a missing executable — callers decide what a failure means.
 */
export async function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import("execa");
  const started = performance.now();
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env ?? options.extraEnv,
    extendEnv: options.env === undefined,
    input: options.input,
    timeout: options.timeoutMs,
    killSignal: "SIGKILL",
    reject: false,
    stripFinalNewline: false,
    encoding: "utf8",
  });
  const code = (result as { code?: string }).code;
  return {
    command: [file, ...args].join(" "),
    exitCode: result.exitCode,
    signal: result.signal ?? undefined,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    failedToStart: code === "ENOENT" || code === "EACCES",
    durationMs: performance.now() - started,
  };
}

/** A long-running child started by {@link spawnService}. */
export interface SpawnedProcess {
  pid: number;
  /** Resolves with the exit code (or undefined and the signal) when the process ends. */
  exited: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** Combined stdout+stderr captured so far (bounded to the last 64 KiB). */
  output(): string;
  /** Sends a signal to the process group (the child leads its own group). */
  signalGroup(signal: NodeJS.Signals): void;
  child: ChildProcess;
}

/**
 * Starts a program the way supervisord would: exact argv (no shell), exact environment, its own
 * process group (so a signal reaches the whole tree, like stopasgroup/killasgroup). Output is captured.
 * Throws Error with code ENOENT/EACCES when the executable cannot be started.
 */
export async function spawnService(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; uid?: number; gid?: number },
): Promise<SpawnedProcess> {
  const { spawn } = await import("node:child_process");
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    uid: options.uid,
    gid: options.gid,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let buffer = "";
  const append = (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    if (buffer.length > 65536) buffer = buffer.slice(-65536);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (err) => reject(err));
  });
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
  // A grandchild that outlives the child (a daemon) keeps the pipes open, and open pipes keep this process
  // alive: once the child has exited, its last output is read for 250 ms, then the pipes are closed.
  child.once("exit", () => {
    const timer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, 250);
    child.once("close", () => clearTimeout(timer));
  });
  return {
    pid: child.pid!,
    exited,
    output: () => buffer,
    signalGroup(signal) {
      // our own child, not yet reaped: its PID cannot have been reused
      signalGroup(child.pid!, signal);
    },
    child,
  };
}
