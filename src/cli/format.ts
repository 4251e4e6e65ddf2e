/** Plain-text output: aligned tables and problem lists. */
import type { Problem } from "../errors";
import { paint, type Context } from "./context";

/** Aligns rows into columns separated by two spaces; the first row is the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i] - [...cell].length)))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

/** Problems as a readable list: severity, location and value, message, fix. */
export function formatProblems(ctx: Pick<Context, "color">, problems: Problem[], file?: string): string {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  const head = `${file ?? "manifest"}: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}\n`;
  const sorted = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  return (
    head +
    sorted
      .map((p) => {
        const label = p.severity === "error" ? paint(ctx, "red", "error  ") : paint(ctx, "yellow", "warning");
        const where = p.value === undefined ? p.path : `${p.path} = ${show(p.value)}`;
        return `  ${label} ${where}\n          ${p.message}\n${p.fix ? `          fix: ${p.fix}\n` : ""}`;
      })
      .join("")
  );
}

export { duration } from "../progress/text";
