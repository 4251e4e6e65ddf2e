/**
 * `units/PORTS.md` (also what `orchestrate docs` prints): the port tables teams kept by hand, per
 * group with its ranges and budget, then externals, reserved, avoided ports and workers.
 */
import { formatBudget, groupBudgets } from "../../model/budget";
import { formatRanges } from "../../model/port-ranges";
import type { Model, RenderedFile, Service } from "../../model/types";
import { generatedNote } from "./ports-json";

/** Text that needs no escaping: printable ASCII other than \ | < ` (the common case, and fast). */
const PLAIN = /^[ -;=-[\]-_a-{}~]*$/;

/**
 * Text safe inside a GitHub-flavoured table cell or heading: `\`, `|`, `<` and `` ` `` backslash-escaped,
 * line breaks as `<br>`, tabs as a space, other control characters and lone surrogates (which UTF-8
 * cannot encode) as U+FFFD, outer blanks trimmed.
 */
export function mdCell(text: string): string {
  if (PLAIN.test(text)) return text.trim();
  return text
    .trim()
    .replace(/[\\|<`]/g, (c) => `\\${c}`)
    .replace(/\r\n|[\r\n\u2028\u2029\u0085]/g, "<br>")
    .replace(/\t/g, " ")
    .replace(/[\p{Cc}\p{Cs}]/gu, "\uFFFD");
}

function row(cells: (string | number)[]): string {
  return `| ${cells.map((c) => (typeof c === "number" ? String(c) : mdCell(c))).join(" | ")} |`;
}

function tableOf(header: string[], rows: (string | number)[][]): string[] {
  return [row(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(row)];
}

/**
 * `enabled`, `disabled` (keeps its port, runs nothing), `worker` (enabled, no port), `oneshot` (a task run to
 * completion); `, manual` is added for `autostart: false` (started only by `orchestrate start`).
 */
export function serviceStatus(s: Service): string {
  if (!s.enabled) return "disabled";
  const kind = s.type === "oneshot" ? "oneshot" : s.port === undefined ? "worker" : "enabled";
  return s.autostart ? kind : `${kind}, manual`;
}

/** Port order, workers last, manifest order among equals. */
function byPort(services: Service[]): Service[] {
  return services
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.port ?? Infinity) - (b.s.port ?? Infinity) || a.i - b.i)
    .map(({ s }) => s);
}

/** One row per instance: NAME for a service without `instances`, NAME:I with its own port otherwise. */
function serviceTable(services: Service[]): string[] {
  return tableOf(
    ["Service", "Port", "Technology", "Description", "Status"],
    byPort(services).flatMap((s) =>
      s.instances.map((i) => [
        s.multi ? i.label : s.name,
        i.port ?? "—",
        s.technology ?? "",
        s.description,
        serviceStatus(s),
      ]),
    ),
  );
}

/** Renders `units/PORTS.md` (mode 0644). Deterministic; every manifest string is escaped with {@link mdCell}. */
export function renderPortsMd(model: Model): RenderedFile {
  const out: string[] = [
    `<!-- ${generatedNote(model)}. Print it with \`orchestrate docs\`. -->`,
    "",
    `# ${model.project} — ports`,
    "",
    `Host: ${mdCell(model.host)} · Allowed ports: ${model.ports.allowed ? formatRanges(model.ports.allowed) : "any (1-65535)"}`,
  ];
  const budgets = groupBudgets(model);
  const byGroup = new Map<string, Service[]>();
  for (const s of model.services) {
    if (s.group === undefined) continue;
    const list = byGroup.get(s.group);
    if (list) list.push(s);
    else byGroup.set(s.group, [s]);
  }
  for (const [i, group] of model.groups.entries()) {
    const budget = budgets[i];
    const members = byGroup.get(group.name) ?? [];
    out.push("", `## ${mdCell(group.name)}${group.description.trim() ? ` — ${mdCell(group.description)}` : ""}`, "");
    out.push(`Ranges: ${formatRanges(budget.ranges)} · ${formatBudget(budget)}`, "");
    out.push(...(members.length ? serviceTable(members) : ["No services yet."]));
  }
  const known = new Set(model.groups.map((g) => g.name));
  const ungrouped = model.services.filter((s) => s.group === undefined || !known.has(s.group));
  if (ungrouped.length) out.push("", "## Services without a group", "", ...serviceTable(ungrouped));

  out.push("", "## External", "");
  out.push(
    ...(model.external.length
      ? tableOf(
          ["Name", "Port", "Host", "Description"],
          [...model.external].sort((a, b) => a.port - b.port).map((e) => [e.name, e.port, e.host ?? "", e.description]),
        )
      : ["None."]),
  );

  out.push("", "## Reserved ports", "", "Not allocated automatically.", "");
  const reserved = [...model.ports.reserved].sort((a, b) => a[0] - b[0]);
  out.push(
    ...(reserved.length
      ? tableOf(
          ["Port", "Reason"],
          reserved.map(([p, r]) => [p, r]),
        )
      : ["None."]),
  );

  const avoid = [...new Set(model.ports.avoid)].sort((a, b) => a - b);
  out.push("", "## Avoided ports", "", avoid.length ? `Never valid, never allocated: ${avoid.join(", ")}` : "None.");

  const workers = model.services.filter((s) => s.port === undefined);
  out.push("", "## Workers (no port)", "");
  out.push(
    ...(workers.length
      ? workers.map((s) => `- ${mdCell(s.name)}${s.group ? ` (${mdCell(s.group)})` : ""}`)
      : ["None."]),
  );
  // process groups (manifest processGroups): only when there are some, so a manifest without them renders as before
  if (model.processGroups.length) {
    out.push(
      "",
      "## Process groups",
      "",
      "`orchestrate start|stop|restart NAME` acts on every instance of the services.",
      "",
    );
    out.push(
      ...tableOf(
        ["Name", "Services"],
        model.processGroups.map((g) => [g.name, g.services.join(", ")]),
      ),
    );
  }
  return { path: "units/PORTS.md", content: out.join("\n") + "\n", mode: 0o644 };
}
