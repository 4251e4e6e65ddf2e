/**
 * Small process facts about the private supervisord: whether a PID from its pidfile is a live
 * supervisord of this project, its children, and stopping the programs a killed supervisord leaves behind
 * (after `kill -9` of supervisord its children keep running and keep their ports: docs/facts.md). Linux
 * only, like the rest of the backend. Signals go through src/signal/.
 */
import { readFileSync } from "node:fs";
import { isAlive, listProcesses, type ProcessInfo } from "../../inspect/processes";
import { signalGroup, signalProcess } from "../../signal/send";
import { pollUntil } from "../../signal/poll";

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

/** Live children of `pid` (processes whose parent is `pid`), from one scan of /proc. */
export async function childrenOf(pid: number): Promise<ProcessInfo[]> {
  return [...(await listProcesses()).values()].filter((p) => p.ppid === pid && p.state !== "Z");
}

/**
 * TERM, then after `termTimeoutMs` KILL, every process group left by a killed supervisord (its programs
 * keep running otherwise). Each is signalled only while its PID has the start time seen in `orphans`.
 * Returns the PIDs signalled.
 */
export async function stopOrphans(orphans: ProcessInfo[], termTimeoutMs: number): Promise<number[]> {
  const signalled: ProcessInfo[] = [];
  for (const child of orphans)
    if ((await signalProcess(child, "SIGTERM", { group: true })) === "sent") signalled.push(child);
  await pollUntil(() => signalled.every((c) => !isAlive(c.pid, c.startTime)), termTimeoutMs);
  for (const child of signalled) {
    if (isAlive(child.pid, child.startTime)) await signalProcess(child, "SIGKILL", { group: true });
    // A group can outlive its leader (a wrapper's child that ignored TERM): KILL what is left of it.
    else if (child.pgid === child.pid) signalGroup(child.pgid, "SIGKILL");
  }
  return signalled.map((c) => c.pid);
}
