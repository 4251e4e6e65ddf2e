/**
 * status: one row per instance (NAME, or NAME:I with `instances`) with the manager's state, pid, port,
 * uptime, CPU, memory and health. A stopped `autostart: false` service is MANUAL (stopped by design); a
 * oneshot that ran is EXITED with its exit code.
 */
import { notAnsweringMessage, type Backend, type LastExit } from "../backend/types";
import type { Model } from "../model/types";
import { verifyServices } from "../verify/verify";

/** One service in `orchestrate status`; values from the manager and a verify pass. */
export interface StatusRow {
  /** NAME, or NAME:I for an instance of a service with `instances` */
  name: string;
  /** the service (manifest name) and the instance index */
  service: string;
  instance: number;
  /** "oneshot" for a task that runs to completion */
  type: "service" | "oneshot";
  enabled: boolean;
  /** the manager's state (ProgramState), MANUAL (autostart: false, stopped by design), or NOT RUNNING / DISABLED */
  state: string;
  /** exit code of a oneshot's last run */
  exitStatus?: number;
  pid?: number;
  port?: number;
  /** seconds in the current run */
  uptimeSeconds?: number;
  /** CPU percent (100 = one core), summed over the program's processes */
  cpu?: number;
  /** resident memory in bytes, summed over the program's processes */
  memoryBytes?: number;
  /** HTTP status of the health path, or "error" when the request failed; absent without health */
  health?: number | "error";
  /** automatic restarts since the fleet was started (supervisord: counted from its log; systemd: NRestarts) */
  restarts?: number;
  /** the last exit of its process: code or signal, when (ms since epoch), how long it had run (s) */
  lastExit?: LastExit;
  /** why verify fails for it; empty when it passes */
  problems: string[];
}

/** What `orchestrate status [--json]` shows: the manager's state and one row per service, in manifest order. */
export interface StatusReport {
  /** "not answering": the manager is there but does not answer (stopped or hung) — nothing is known of its programs */
  manager: "running" | "not running" | "not answering";
  /** what to tell the user when the manager is not answering */
  problem?: string;
  services: StatusRow[];
}

/**
/**
 * The rows of `report` that should run and do not: enabled, and neither RUNNING nor a oneshot that EXITED
 * nor a service with autostart false that is stopped (MANUAL); UNKNOWN rows (the manager does not answer)
 * are not known not to run. `orchestrate status` exits 3 when there is one, as `supervisorctl status` does
 * (supervisor/supervisorctl.py: `LSBStatusExitStatuses.NOT_RUNNING` = 3, the LSB init script status code
 * "program is not running").
 */
export function notRunning(model: Model, report: StatusReport): StatusRow[] {
  const byName = new Map(model.services.map((s) => [s.name, s]));
  return report.services.filter((row) => {
    const s = byName.get(row.service);
    if (!row.enabled || !s || row.state === "RUNNING" || row.state === "UNKNOWN") return false;
    if (s.type === "oneshot" && row.state === "EXITED") return false;
    return !(s.autostart === false && (row.state === "STOPPED" || row.state === "MANUAL"));
  });
}

/**
 * Gathers the status of every service; with the manager down, every enabled service is "NOT RUNNING"; with
 * the manager there but not answering (SIGSTOPped, hung), "UNKNOWN" and `problem` says so.
 */
export async function statusReport(model: Model, backend: Backend): Promise<StatusReport> {
  const rows = model.services.flatMap((s) =>
    s.instances.map((i) => ({ name: i.label, service: s.name, instance: i.index, type: s.type, port: i.port, s, i })),
  );
  // the probe and the verify pass run together (one round trip less); a verify that fails because the
  // manager does not answer is the answer the probe gives
  const verifying = verifyServices(model, backend, model.services);
  verifying.catch(() => {});
  const reach = await backend.reachability();
  if (reach !== "running")
    return {
      manager: reach,
      ...(reach === "not answering" ? { problem: notAnsweringMessage(backend.label) } : {}),
      services: rows.map(({ s, i: _i, ...row }) => ({
        ...row,
        enabled: s.enabled,
        // a stopped supervisord's programs may still run and serve: their state is unknown, not "not running"
        state: s.enabled ? (reach === "not answering" ? "UNKNOWN" : "NOT RUNNING") : "DISABLED",
        problems: [],
      })),
    };
  const checks = new Map((await verifying).map((c) => [c.program, c]));
  return {
    manager: "running",
    services: rows.map(({ s: _s, i, ...row }) => {
      const c = checks.get(i.program);
      if (!c) return { ...row, enabled: false, state: "DISABLED", problems: [] };
      return {
        ...row,
        enabled: true,
        state: c.manual ? "MANUAL" : c.state,
        pid: c.pid,
        uptimeSeconds: c.uptimeSeconds,
        exitStatus: c.exitStatus,
        cpu: c.usage?.cpu,
        memoryBytes: c.usage?.memoryBytes,
        health: c.health ? (c.health.status ?? "error") : undefined,
        restarts: c.restarts,
        lastExit: c.lastExit,
        problems: c.problems,
      };
    }),
  };
}
