/**
 * Text output of the hardcoded-port lint: one block per finding (where, what, the line, the fix) and a
 * summary line. `--json` prints the findings themselves.
 */
import type { LintFinding } from "./hardcoded-ports";

/**
 * One finding as three lines:
 * `services/api.py:12:34: 8007 is the port of active_trade_supervisor in manifest.json, …`,
 * the line itself, and `fix: …`.
 */
export function formatLintFinding(finding: LintFinding): string {
  const where = `${finding.file}:${finding.line}:${finding.column}`;
  const note = finding.inComment ? " (in a comment)" : "";
  return `${where}: ${finding.message}${note}\n    ${finding.text}\n    fix: ${finding.fix}`;
}

/** "No hardcoded ports in 12 files." or "3 hardcoded ports in 2 of 12 files: services must read PORT …". */
export function formatLintSummary(findings: readonly LintFinding[], fileCount: number): string {
  const files = (n: number) => `${n} file${n === 1 ? "" : "s"}`;
  if (findings.length === 0) return `No hardcoded ports in ${files(fileCount)}.`;
  const affected = new Set(findings.map((f) => f.file)).size;
  const ports = `${findings.length} hardcoded port${findings.length === 1 ? "" : "s"}`;
  return `${ports} in ${affected} of ${files(fileCount)}: services must read PORT (and other services' ports from units/) so manifest.json stays the only place ports are written.`;
}
