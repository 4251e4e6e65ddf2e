/** The text form of a {@link CheckPortsReport}: conflicts first with their fix, the port table, free ports per group. */
import { paint, type Context } from "../context";
import { table } from "../format";
import { oneLine, type CheckPortsReport } from "../../live-ports/check-ports";
import type { ExposureFinding } from "../../verify/exposure";

function clip(text: string | undefined, width = 60): string {
  return text ? oneLine(text, width) : "-";
}

/** Lines of the report for people; `write` receives each line. */
export function printCheckPorts(
  ctx: Pick<Context, "color">,
  report: CheckPortsReport,
  write: (line: string) => void,
): void {
  const conflicts = report.ports.filter((p) => p.conflict);
  const warnings = report.ports.filter((p) => !p.conflict && p.problem);
  if (conflicts.length) write(paint(ctx, "red", `${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}:`));
  for (const p of conflicts) write(`  ${paint(ctx, "red", "✗")} ${p.problem}\n    fix: ${p.fix}`);
  if (warnings.length) write(paint(ctx, "yellow", `${warnings.length} warning${warnings.length === 1 ? "" : "s"}:`));
  for (const p of warnings)
    write(
      `  ${paint(ctx, "yellow", "!")} ${p.problem}${p.enabled ? "" : ` (${p.name} is disabled)`}\n    fix: ${p.fix}`,
    );
  if (conflicts.length || warnings.length) write("");

  const rows = [["PORT", "KIND", "NAME", "STATE", "OWNER", "PID", "USER", "ADDRESS", "COMMAND"]];
  for (const p of report.ports) {
    const name = p.kind === "reserved" ? clip(`(${p.name})`, 24) : p.enabled ? p.name : `${p.name} (disabled)`;
    if (p.holders.length === 0) rows.push([String(p.port), p.kind, name, "free", "-", "-", "-", "-", "-"]);
    for (const [i, h] of p.holders.entries()) {
      const owner = h.owner === "foreign" || h.owner === "stale" ? h.owner.toUpperCase() : h.owner;
      rows.push(i === 0 ? [String(p.port), p.kind, name, "listening", owner] : ["", "", "", "", owner]);
      rows[rows.length - 1].push(h.pid ? String(h.pid) : "?", h.user ?? "-", h.address, clip(h.command));
    }
  }
  for (const line of table(rows).trimEnd().split("\n")) write(line);

  if (report.groups.length) {
    write("");
    write("free ports per group:");
    const width = Math.max(...report.groups.map((g) => g.group.length));
    for (const g of report.groups) {
      const next = g.next.length ? ` — next ${g.next.join(" ")}` : " — full";
      const held = g.heldByOthers.length
        ? `; ${g.heldByOthers.length} more held by unmanaged processes (${g.heldByOthers.slice(0, 5).join(", ")}${g.heldByOthers.length > 5 ? ", …" : ""})`
        : "";
      write(`  ${g.group.padEnd(width)}  ${g.free} free${next}${held}`);
    }
  }
  write("");
  write(
    `${report.manager.label} ${report.manager.running ? "is running" : "is not running"}; listeners read with ${report.source}`,
  );
  for (const note of report.notes) write(paint(ctx, "yellow", `note: ${note}`));
  write(
    report.ok
      ? paint(ctx, "green", "no conflict")
      : paint(ctx, "red", `${report.conflicts} conflict${report.conflicts === 1 ? "" : "s"}: see the fixes above`),
  );
}

/** Exposure findings (errors first), each with its fix; nothing when there is none. */
export function printExposure(
  ctx: Pick<Context, "color">,
  findings: ExposureFinding[],
  write: (line: string) => void,
): void {
  if (findings.length === 0) return;
  const errors = findings.filter((f) => f.severity === "error").length;
  write(
    paint(ctx, errors ? "red" : "yellow", `${findings.length} exposure finding${findings.length === 1 ? "" : "s"}:`),
  );
  for (const f of findings) {
    const mark = f.severity === "error" ? paint(ctx, "red", "✗") : paint(ctx, "yellow", "!");
    const who = f.pid ? ` (PID ${f.pid}${f.command ? ` ${clip(f.command, 40)}` : ""})` : "";
    write(`  ${mark} ${f.message}${who}\n    fix: ${f.fix}`);
  }
  write("");
}
