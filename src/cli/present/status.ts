/** The table of `orchestrate status`. */
import type { StatusReport } from "../../fleet/status";
import { formatBytes } from "../../verify/usage";
import { paint, type Context } from "../context";
import { table } from "../format";
import { lastExitCell } from "./crash";

/** Writes the report as a table to ctx.stdout, with a hint when the manager is not running. */
export function printStatus(ctx: Pick<Context, "stdout" | "color">, report: StatusReport): void {
  const rows = [["SERVICE", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "LAST EXIT", "CPU", "MEM", "HEALTH"]];
  for (const s of report.services) {
    rows.push([
      s.name,
      s.type === "oneshot" && s.exitStatus !== undefined ? `${s.state} (exit ${s.exitStatus})` : s.state,
      s.pid ? String(s.pid) : "-",
      s.port ? String(s.port) : "-",
      s.uptimeSeconds !== undefined ? `${s.uptimeSeconds} s` : "-",
      s.restarts !== undefined ? String(s.restarts) : "-",
      lastExitCell(s.lastExit),
      s.cpu !== undefined ? `${s.cpu.toFixed(1)}%` : "-",
      s.memoryBytes !== undefined ? formatBytes(s.memoryBytes) : "-",
      s.health !== undefined ? String(s.health) : "-",
    ]);
  }
  ctx.stdout.write(table(rows));
  if (report.problem) ctx.stdout.write(paint(ctx, "red", `${report.problem}\n`));
  if (report.manager === "not running")
    ctx.stdout.write(
      paint(ctx, "yellow", 'the process manager is not running: "orchestrate restart" starts the fleet\n'),
    );
}
