/**
 * recover steps 2 and 3, the acting part: find the processes of this project that nobody manages any
 * more (./ours.ts says what counts, and why that is safe on a shared host), and stop processes —
 * leftovers, or a foreign holder the user named with --kill-foreign — with their stop signal, then KILL
 * after their stop timeout. Every signal is guarded against PID reuse: it is sent only while the PID
 * still has the start time seen when it was chosen.
 */
import type { Listener } from "../inspect/listeners";
import type { ProcessInfo, ProcessTable } from "../inspect/processes";
import { waitForExit } from "../signal/poll";
import { signalProcess } from "../signal/send";
import type { Model, Service } from "../model/types";
import { oneLine } from "../live-ports/check-ports";
import { leftoverEvidence, type OursFacts } from "../live-ports/ours";

/** A process chosen to be stopped, with why and how. */
export interface Target {
  pid: number;
  startTime: number;
  command: string;
  user: string;
  /** the service it belongs to, when known */
  service?: string;
  /** why it may be stopped, in words */
  reason: string;
  /** managed service ports it listens on */
  ports: number[];
  /** signal first sent (the service's stopSignal, else TERM) */
  signal: NodeJS.Signals;
  /** ms between that signal and KILL (the service's stopTimeout, else 10 s) */
  timeoutMs: number;
}

/** How stopping one target ended. */
export interface StopOutcome {
  target: Target;
  outcome: "exited" | "killed" | "gone" | "not permitted" | "survived";
  ms: number;
  /** e.g. "exited 120 ms after TERM", "ignored TERM for 10 s: killed with KILL" */
  text: string;
}

/** The signal and timeout recover uses for a process of `service` (its manifest stopSignal / stopTimeout). */
export function stopPlan(service: Service | undefined): { signal: NodeJS.Signals; timeoutMs: number } {
  return {
    signal: `SIG${service?.stopSignal ?? "TERM"}` as NodeJS.Signals,
    timeoutMs: (service?.stopTimeout ?? 10) * 1000,
  };
}

/**
 * Every leftover of this project in `table`: processes proven ours by ./ours.ts, plus the members of
 * their process groups (same session). `exclude` holds PIDs that must not be chosen (a live supervisord
 * and what it still manages, during a dry run). Sorted by PID.
 */
export function findLeftovers(
  models: Model[],
  facts: OursFacts,
  table: ProcessTable,
  listeners: Listener[],
  exclude: Set<number> = new Set(),
): Target[] {
  // by service name and by program name (NAME@I of a service with `instances`): evidence names the program
  const services = new Map<string, Service>();
  for (const m of [...models].reverse())
    for (const s of m.services) for (const key of [s.name, ...s.instances.map((i) => i.program)]) services.set(key, s);
  const ports = new Map<number, number[]>();
  for (const l of listeners)
    for (const pid of l.pids) ports.set(pid, [...new Set([...(ports.get(pid) ?? []), l.port])]);
  const self = new Set<number>([process.pid, process.ppid, 1]);
  const found = new Map<number, Target>();
  const add = (info: ProcessInfo, service: string | undefined, reason: string) => {
    if (found.has(info.pid) || self.has(info.pid) || exclude.has(info.pid) || info.command.startsWith("[")) return;
    found.set(info.pid, {
      pid: info.pid,
      startTime: info.startTime,
      command: info.command,
      user: info.user,
      service,
      reason,
      ports: ports.get(info.pid) ?? [],
      ...stopPlan(service ? services.get(service) : undefined),
    });
  };
  for (const info of table.values()) {
    if (self.has(info.pid) || exclude.has(info.pid) || info.state === "Z") continue;
    const evidence = leftoverEvidence(info, facts);
    if (evidence) add(info, evidence.service, evidence.reason);
  }
  for (const leader of [...found.values()]) {
    const info = table.get(leader.pid);
    if (!info || info.pgid !== info.pid) continue;
    for (const member of table.values()) {
      if (member.pgid === info.pid && member.sid === info.sid && member.state !== "Z")
        add(member, leader.service, `in the process group of leftover PID ${leader.pid} (${leader.service ?? "?"})`);
    }
  }
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

/** Stops one target: its signal, wait up to its timeout, then KILL and wait up to `killWaitMs`. */
export async function stopTarget(target: Target, killWaitMs = 3000): Promise<StopOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const name = target.signal.replace(/^SIG/, "");
  const first = await signalProcess(target, target.signal);
  if (first === "gone")
    return {
      target,
      outcome: "gone",
      ms: 0,
      text: "already gone (or its PID now belongs to another process): not signalled",
    };
  if (first === "not permitted")
    return {
      target,
      outcome: "not permitted",
      ms: 0,
      text: `not permitted to signal it (user ${target.user}); run recover as that user or as root`,
    };
  if (await waitForExit(target.pid, target.timeoutMs, target.startTime))
    return { target, outcome: "exited", ms: ms(), text: `exited ${ms()} ms after ${name}` };
  if ((await signalProcess(target, "SIGKILL")) === "gone")
    return { target, outcome: "exited", ms: ms(), text: `exited after ${name} (at the timeout)` };
  if (await waitForExit(target.pid, killWaitMs, target.startTime)) {
    return {
      target,
      outcome: "killed",
      ms: ms(),
      text: `ignored ${name} for ${target.timeoutMs / 1000} s (stopTimeout): killed with KILL`,
    };
  }
  return {
    target,
    outcome: "survived",
    ms: ms(),
    text: `still alive ${killWaitMs / 1000} s after KILL (uninterruptible? check \`ps -o pid,stat,wchan,cmd -p ${target.pid}\`)`,
  };
}

/**
 * Stops all targets at once and returns each outcome (same order). Group members that appeared after
 * the scan (forked meanwhile) are not chased: the caller re-scans (recover does, in step 3).
 */
export async function stopTargets(targets: Target[]): Promise<StopOutcome[]> {
  return Promise.all(targets.map((t) => stopTarget(t)));
}

/** One line for a target: "PID 4242 web (node server.js, user app) on 27001 — why". */
export function targetText(t: Target): string {
  return `PID ${t.pid}${t.service ? ` ${t.service}` : ""} (${oneLine(t.command, 80)}, user ${t.user})${t.ports.length ? ` on port ${t.ports.join(", ")}` : ""} — ${t.reason}`;
}
