/** The verify table printed by verify, restart, add-service and recover. */
import { paint, type Context } from "../context";
import { table } from "../format";
import { lastExitCell } from "./crash";
import { formatBytes } from "../../verify/usage";
import type { ServiceCheck } from "../../verify/verify";

function uptime(seconds?: number): string {
  if (seconds === undefined) return "-";
  const h = Math.floor(seconds / 3600),
    m = Math.floor((seconds % 3600) / 60),
    s = Math.floor(seconds % 60);
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
}

/** Rows of the verify table, then one line per problem. `write` receives each line. */
export function printChecks(ctx: Pick<Context, "color">, checks: ServiceCheck[], write: (line: string) => void): void {
  const measured = checks.some((c) => c.usage); // restart does not sample CPU/memory: no empty columns then
  const rows = [
    [
      "SERVICE",
      "STATE",
      "PID",
      "PORT",
      "LISTENER",
      "HEALTH",
      ...(measured ? ["CPU", "MEM"] : []),
      "UPTIME",
      "RESTARTS",
      "LAST EXIT",
      "RESULT",
    ],
  ];
  for (const c of checks) {
    const listener =
      c.port === undefined
        ? "-"
        : c.owner?.kind === "service"
          ? `ours (${c.owner.pid})`
          : c.owner?.kind === "foreign"
            ? `${c.owner.stale ? "stale" : "FOREIGN"} ${c.owner.pid ?? "?"}`
            : "none";
    const health = c.health
      ? c.health.ok
        ? String(c.health.status)
        : c.health.status
          ? String(c.health.status)
          : "error"
      : "-";
    rows.push([
      c.name,
      // stopped by design (autostart: false), or a oneshot's last run with its exit code
      c.manual
        ? `${c.state} (manual)`
        : c.type === "oneshot" && c.exitStatus !== undefined
          ? `${c.state} (exit ${c.exitStatus})`
          : c.state,
      c.pid ? String(c.pid) : "-",
      c.port ? String(c.port) : "-",
      listener,
      health,
      ...(measured
        ? [c.usage ? `${c.usage.cpu.toFixed(1)}%` : "-", c.usage ? formatBytes(c.usage.memoryBytes) : "-"]
        : []),
      uptime(c.uptimeSeconds),
      c.restarts !== undefined ? String(c.restarts) : "-",
      lastExitCell(c.lastExit),
      c.ok ? "ok" : "FAIL",
    ]);
  }
  for (const line of table(rows).trimEnd().split("\n"))
    write(line.replace(/ FAIL$/, ` ${paint(ctx, "red", "FAIL")}`).replace(/ ok$/, ` ${paint(ctx, "green", "ok")}`));
  for (const c of checks) {
    for (const p of c.problems) write(`${paint(ctx, "red", "✗")} ${c.name}: ${p}`);
    if (c.logTail && !c.ok) {
      // one line per write: a caller that indents each line (a step of restart) indents the tail with it
      write("  last lines of its log:");
      for (const line of c.logTail.replace(/\n$/, "").split("\n")) write(`  | ${line}`);
    }
  }
}
