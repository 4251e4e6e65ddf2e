/** status: one row per service with the manager's state, pid, port, uptime, CPU, memory and health. */
import type { Backend, LastExit } from "../backend/types";
import type { Model } from "../model/types";
import { verifyServices } from "../verify/verify";

/** One service in `orchestrate status`; values from the manager and a verify pass. */
export interface StatusRow {
  name: string;
  enabled: boolean;
  /** the manager's state (ProgramState), or NOT RUNNING / DISABLED */
  state: string;
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
  manager: "running" | "not running";
  services: StatusRow[];
}

/**
 * The services of `report` that should run and do not: enabled, and neither RUNNING nor a oneshot that
 * EXITED nor a service with autostart false that is STOPPED. `orchestrate status` exits 3 when there is
 * one, as `supervisorctl status` does (supervisor/supervisorctl.py: `LSBStatusExitStatuses.NOT_RUNNING`
 * = 3, the LSB init script status code "program is not running").
 */
export function notRunning(model: Model, report: StatusReport): StatusRow[] {
  const byName = new Map(model.services.map((s) => [s.name, s]));
  return report.services.filter((row) => {
    const s = byName.get(row.name);
    if (!row.enabled || !s || row.state === "RUNNING") return false;
    if (s.type === "oneshot" && row.state === "EXITED") return false;
    return !(s.autostart === false && row.state === "STOPPED");
  });
}

/** Gathers the status of every service; with the manager down, every enabled service is "not running". */
export async function statusReport(model: Model, backend: Backend): Promise<StatusReport> {
  // the probe and the verify pass run together (one round trip less); a verify that fails because the
  // manager does not answer is the "not running" answer the probe gives
  const verifying = verifyServices(model, backend, model.services);
  verifying.catch(() => {});
  const running = await backend.isRunning();
  if (!running)
    return {
      manager: "not running",
      services: model.services.map((s) => ({
        name: s.name,
        enabled: s.enabled,
        state: s.enabled ? "NOT RUNNING" : "DISABLED",
        port: s.port,
        problems: [],
      })),
    };
  const checks = new Map((await verifying).map((c) => [c.name, c]));
  return {
    manager: "running",
    services: model.services.map((s) => {
      const c = checks.get(s.name);
      if (!c) return { name: s.name, enabled: false, state: "DISABLED", port: s.port, problems: [] };
      return {
        name: s.name,
        enabled: true,
        state: c.state,
        pid: c.pid,
        port: s.port,
        uptimeSeconds: c.uptimeSeconds,
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
