/**
 * status: one row per instance (NAME, or NAME:I with `instances`) with the manager's state, pid, port,
 * uptime, CPU, memory and health. A stopped `autostart: false` service is MANUAL (stopped by design); a
 * oneshot that ran is EXITED with its exit code.
 */
import type { Backend } from "../backend/types";
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
  /** restarts counted by the manager (systemd NRestarts); absent for supervisord, which does not count them */
  restarts?: number;
  /** why verify fails for it; empty when it passes */
  problems: string[];
}

/** What `orchestrate status [--json]` shows: the manager's state and one row per service, in manifest order. */
export interface StatusReport {
  manager: "running" | "not running";
  services: StatusRow[];
}

/** Gathers the status of every service; with the manager down, every enabled service is "not running". */
export async function statusReport(model: Model, backend: Backend): Promise<StatusReport> {
  const rows = model.services.flatMap((s) =>
    s.instances.map((i) => ({ name: i.label, service: s.name, instance: i.index, type: s.type, port: i.port, s, i })),
  );
  const running = await backend.isRunning();
  if (!running)
    return {
      manager: "not running",
      services: rows.map(({ s, i: _i, ...row }) => ({
        ...row,
        enabled: s.enabled,
        state: s.enabled ? "NOT RUNNING" : "DISABLED",
        problems: [],
      })),
    };
  const checks = new Map((await verifyServices(model, backend, model.services)).map((c) => [c.program, c]));
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
        problems: c.problems,
      };
    }),
  };
}
