/**
 * Small process facts read from /proc and kill(2), used to tell a live supervisord from a stale pidfile
 * and to find the programs a killed supervisord leaves behind (FACTS.md: after `kill -9` of supervisord
 * its children keep running and keep their ports). Linux only, like the rest of the backend.
 */
import { readFileSync, readdirSync } from "node:fs";
import { isAlive, parseStat } from "../../inspect/processes";

/** Fields of /proc/PID/stat that matter here. */
export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, T stopped, Z zombie, … (proc(5)). */
  state: string;
  ppid: number;
  /** Process group id. supervisord makes every program the leader of its own group. */
  pgrp: number;
  /** Start time in clock ticks after boot: with `pid`, identifies one process even after pid reuse. */
  startTicks: number;
}

/** Reads /proc/PID/stat (parsed by src/inspect/processes.ts); undefined when the process does not exist. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const stat = parseStat(text);
  return stat && { pid, state: stat.state, ppid: stat.ppid, pgrp: stat.pgid, startTicks: stat.startTime };
}

/** Whether `pid` is a live process (not a zombie): src/inspect/processes.ts, the one place that decides it. */
export { isAlive };

/**
 * Whether `pid` runs supervisord (an argument names `supervisord`, e.g. `python3 /usr/bin/supervisord -c …`)
 * and, when `conf` is given, was started with that config file — so a recycled pid that now belongs to
 * another supervisord (the system one) is not taken for ours.
 */
export function isSupervisord(pid: number, conf?: string): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  if (!args.some((arg) => /(^|\/)supervisord$/.test(arg))) return false;
  return conf === undefined || args.some((arg) => arg === conf || arg === `--configuration=${conf}`);
}

/** Reads a pidfile; undefined when it is missing or does not hold a positive integer. */
export function readPidfile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
}

/** Live children of `pid` (processes whose parent is `pid`), from /proc. */
export function childrenOf(pid: number): ProcStat[] {
  const children: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat && stat.ppid === pid && stat.state !== "Z") children.push(stat);
  }
  return children;
}

/**
 * Sends `signal` to a process, or to its whole group when it leads one (like supervisord's
 * killasgroup) — only when it is still the process `stat` describes (same start time), so a pid reused
 * by an unrelated process is never signalled. Returns false when there was nothing to signal.
 */
export function signalTree(stat: ProcStat, signal: NodeJS.Signals): boolean {
  const now = procStat(stat.pid);
  if (!now || now.startTicks !== stat.startTicks || now.state === "Z") return false;
  try {
    process.kill(stat.pgrp === stat.pid ? -stat.pid : stat.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `done` with a growing delay (5 ms doubling up to `maxDelayMs`) until it returns true or
 * `timeoutMs` has passed. Returns whether `done` became true. Never a fixed sleep.
 */
export async function pollUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  maxDelayMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (await done()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/** kill(2) that ignores a process already gone. */
export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* exited meanwhile */
  }
}

/**
 * TERM, then after `termTimeoutMs` KILL, every process group left by a killed supervisord (its programs
 * keep running otherwise: FACTS.md). Returns the PIDs signalled.
 */
export async function stopOrphans(orphans: ProcStat[], termTimeoutMs: number): Promise<number[]> {
  const signalled = orphans.filter((child) => signalTree(child, "SIGTERM"));
  await pollUntil(() => signalled.every((c) => !isAlive(c.pid)), termTimeoutMs);
  for (const child of signalled) {
    if (isAlive(child.pid)) signalTree(child, "SIGKILL");
    // A group can outlive its leader (a wrapper's child that ignored TERM): KILL what is left of it.
    else if (child.pgrp === child.pid) signalPid(-child.pgrp, "SIGKILL");
  }
  return signalled.map((c) => c.pid);
}
