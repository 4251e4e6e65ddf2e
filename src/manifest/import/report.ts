/**
 * The import report: what orchestrate changes on purpose ("changed on import"), what a manifest does not
 * hold ("not carried"), values fixed at import ("frozen at import"), and warnings per section, each
 * with the services it affects and the supervisord fields (supervisor's own ProcessConfig names) that
 * differ because of it. The same report is printed as text and, with `--json`, as JSON.
 */

/** A supervisord process field, as supervisor's ProcessConfig names it (test/oracle/import_oracle.py). */
export type ProcessField =
  | "name"
  | "group"
  | "argv"
  | "environment"
  | "directory"
  | "uid"
  | "umask"
  | "autostart"
  | "autorestart"
  | "exitcodes"
  | "priority"
  | "startsecs"
  | "startretries"
  | "stopsignal"
  | "stopwaitsecs"
  | "stopasgroup"
  | "killasgroup"
  | "redirect_stderr"
  | "stdout_logfile"
  | "stderr_logfile";

export type ReportKind = "changed" | "not carried" | "frozen" | "warning" | "note";

/** One statement of the report. `services` empty: the whole import. */
export interface ReportItem {
  kind: ReportKind;
  what: string;
  services: string[];
  fields: ProcessField[];
}

/** How one process supervisord ran maps to the imported manifest. */
export interface ProcessMapping {
  /** supervisord's group and process name (`supervisorctl status` shows GROUP:NAME). */
  group: string;
  process: string;
  service: string;
  /** 0-based instance, or undefined for a service without `instances`. */
  instance?: number;
}

/** Collects items; the same `kind` + `what` is one item listing every service. */
export class ImportReport {
  readonly items: ReportItem[] = [];

  add(kind: ReportKind, what: string, services: string[] = [], fields: ProcessField[] = []): void {
    const same = this.items.find((i) => i.kind === kind && i.what === what);
    if (!same) {
      this.items.push({ kind, what, services: [...services], fields: [...fields] });
      return;
    }
    for (const s of services) if (!same.services.includes(s)) same.services.push(s);
    for (const f of fields) if (!same.fields.includes(f)) same.fields.push(f);
  }
}

const HEAD: Record<ReportKind, string> = {
  changed: "changed on import",
  "not carried": "not carried",
  frozen: "frozen at import",
  warning: "WARNING",
  note: "note",
};

/** The report as lines: one summary per kind ("changed on import: …; …"), then warnings, then notes. */
export function formatReport(items: ReportItem[], totalServices: number): string[] {
  const who = (s: string[]) =>
    s.length === 0
      ? ""
      : s.length === totalServices && s.length > 1
        ? ` (all ${s.length} services)`
        : ` (${s.join(", ")})`;
  const lines: string[] = [];
  for (const kind of ["changed", "not carried", "frozen"] as ReportKind[]) {
    const of = items.filter((i) => i.kind === kind);
    if (of.length) lines.push(`${HEAD[kind]}:\n${of.map((i) => `  - ${i.what}${who(i.services)}`).join("\n")}`);
  }
  for (const i of items.filter((i) => i.kind === "warning")) lines.push(`WARNING ${i.what}${who(i.services)}`);
  for (const i of items.filter((i) => i.kind === "note")) lines.push(`note: ${i.what}${who(i.services)}`);
  return lines;
}
