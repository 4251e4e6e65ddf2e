/**
 * recover step 3: who still holds a managed port after the leftovers are gone. A FOREIGN holder (see
 * ./check-ports.ts) is never stopped by default — reported with PID, user and command and how to free
 * it. Only a port the user names with `--kill-foreign PORT` has its holders stopped (TERM, then KILL
 * after the stop timeout of the service on that port, else 10 s), each guarded against PID reuse.
 */
import { UsageError } from "../errors";
import type { Model } from "../model/types";
import { holderText, managedPorts, type CheckPortsReport } from "../live-ports/check-ports";
import { stopPlan, stopTargets, type StopOutcome, type Target } from "./leftovers";
import type { Step } from "../progress/steps";

/**
 * Checks `--kill-foreign` ports before anything is done: each must be a service's or a reserved port of
 * the model. An external's port is refused: its holder is the external (a database, a cache), not a stray.
 * @throws UsageError naming the port and the managed ports.
 */
export function checkKillForeign(model: Model | undefined, ports: number[]): void {
  if (ports.length === 0) return;
  if (!model)
    throw new UsageError(
      `--kill-foreign ${ports.join(", ")}: no valid manifest (and no last good one) says which ports are managed`,
      "fix the manifest first (orchestrate validate)",
    );
  const managed = managedPorts(model);
  for (const port of ports) {
    const m = managed.find((p) => p.port === port);
    if (!m) {
      throw new UsageError(
        `--kill-foreign ${port}: expected a managed port of this project, found none at ${port}`,
        `managed ports: ${
          managed
            .filter((p) => p.kind !== "external")
            .map((p) => `${p.port} (${p.kind === "service" ? p.name : "reserved"})`)
            .join(", ") || "none"
        }`,
      );
    }
    if (m.kind === "external")
      throw new UsageError(
        `--kill-foreign ${port}: port ${port} belongs to external ${m.name}; recover never stops an external`,
        "stop it with its own tools if you really mean to",
      );
  }
}

/** What step 3 found and did. */
export interface ForeignResult {
  /** ports still held by a foreign process, left running */
  leftRunning: number[];
  stopped: StopOutcome[];
}

/** Reports every foreign holder; stops those on `killForeign` ports (unless `dryRun`). */
export async function handleForeign(
  model: Model,
  report: CheckPortsReport,
  step: Step,
  options: { dryRun: boolean; killForeign: number[] },
): Promise<ForeignResult> {
  const result: ForeignResult = { leftRunning: [], stopped: [] };
  const targets: Target[] = [];
  for (const check of report.ports) {
    for (const h of check.holders.filter((x) => x.owner === "foreign")) {
      const label = check.kind === "service" ? `port ${check.port} (${check.name})` : `reserved port ${check.port}`;
      const kill = options.killForeign.includes(check.port);
      if (!kill || h.pid === undefined || h.startTime === undefined) {
        step.detail(`${label}: FOREIGN ${holderText(h)} — ${h.reason}`);
        step.detail(
          `  left running${check.kind === "service" && check.enabled ? `: ${check.name} cannot bind its port while it is there` : ""}; to free it: stop it yourself, or \`orchestrate recover --kill-foreign ${check.port}\``,
        );
        if (!result.leftRunning.includes(check.port)) result.leftRunning.push(check.port);
        continue;
      }
      const service = model.services.find((s) => s.instances.some((i) => i.port === check.port));
      const target: Target = {
        pid: h.pid,
        startTime: h.startTime,
        command: h.command ?? "?",
        user: h.user ?? "?",
        service: service?.name,
        reason: `--kill-foreign ${check.port}`,
        ports: [check.port],
        ...stopPlan(service),
      };
      if (targets.some((t) => t.pid === target.pid)) continue;
      targets.push(target);
      step.detail(
        `${label}: FOREIGN ${holderText(h)} — ${options.dryRun ? "would stop it" : "stopping it"} as asked (--kill-foreign ${check.port}): ${target.signal.slice(3)}, then KILL after ${target.timeoutMs / 1000} s`,
      );
    }
  }
  if (options.dryRun || targets.length === 0) return result;
  result.stopped = await stopTargets(targets);
  for (const o of result.stopped) step.detail(`  PID ${o.target.pid}: ${o.text}`);
  return result;
}
