/**
 * `orchestrate import` of the legacy MASTER_PORT_MANIFEST.json (`*_services`, `port_ranges`,
 * `notes.avoid_ports`, the hand-kept port registry several teams kept beside their supervisord.conf) into a manifest v1. Pure: returns the manifest,
 * notes saying what was mapped and what was dropped, and files to create (none for this format).
 * The legacy reading and the group ranges are shared with ./import-supervisord.ts.
 */
import { UsageError } from "../errors";
import { manifestSchema, PROJECT_NAME, SERVICE_NAME, type Manifest, type ServiceEntry } from "./schema";
import type { PlannedFile } from "./secrets";

/** What an import produces; nothing is written by the importer. */
export interface ImportResult {
  manifest: Manifest;
  /** What was mapped, what was dropped and why, one sentence each. Never contains a secret value. */
  notes: string[];
  /** Files to create beside the manifest (e.g. secrets/NAME.env, mode 0o600). */
  files: PlannedFile[];
  /** supervisord imports: the report as items (same content as `notes`), for `--json`. */
  report?: import("./import/report").ReportItem[];
  /** supervisord imports: which service (and instance) each process supervisord ran became. */
  processes?: import("./import/report").ProcessMapping[];
  /** supervisord imports: every file read (the main file, then the included ones). */
  sources?: string[];
}

/** One service of a legacy manifest, its name already made a valid v1 name. */
export interface LegacyService {
  name: string;
  legacyName: string;
  group: string;
  port?: number;
  description?: string;
}

/** A legacy manifest, read and checked. */
export interface LegacyPorts {
  services: LegacyService[];
  /** Group names in the order of their `*_services` keys. */
  groups: string[];
  safeRange?: { low: number; high: number; description?: string };
  avoid: number[];
  systemName?: string;
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/**
 * A valid v1 name (`^[a-z0-9][a-z0-9_.-]*$`, not `all`) for a legacy or supervisord name: lower-cased,
 * other characters replaced by `_`, leading `_.-` dropped.
 * @throws UsageError when nothing usable is left, or the name is `all`.
 */
export function toServiceName(raw: string, where: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, "_")
    .replace(/^[^a-z0-9]+/, "");
  if (!SERVICE_NAME.test(name))
    throw new UsageError(
      `${where}: name ${JSON.stringify(raw)} cannot be made a service name`,
      "service names are lower-case letters, digits and _ . -, starting with a letter or digit",
    );
  if (name === "all")
    throw new UsageError(
      `${where}: a service cannot be named "all" (supervisorctl reads it as every program)`,
      "rename it",
    );
  return name;
}

/** Project name from `options.project`, else the slug of `system_name` ("REC.IO Trading System" → "recio-trading-system"). */
export function projectName(systemName: string | undefined, project: string | undefined, notes: string[]): string {
  if (project !== undefined) {
    if (!PROJECT_NAME.test(project))
      throw new UsageError(
        `project ${JSON.stringify(project)} is not a valid project name`,
        'use lower-case letters, digits and "-", starting with a letter, e.g. "recio"',
      );
    return project;
  }
  const slug = (systemName ?? "")
    .toLowerCase()
    .replace(/([a-z0-9])\.(?=[a-z0-9])/g, "$1")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  const name = slug || "imported";
  notes.push(
    `project "${name}" ${systemName ? `from system_name ${JSON.stringify(systemName)}` : "(no system_name)"}: it prefixes systemd units; pass --project NAME to choose another`,
  );
  return name;
}

/**
 * Reads a legacy manifest: every `X_services` object becomes group X; a service is `{port, description,
 * status}` or a bare port number. `port_ranges.safe_range_start/end` and `notes.avoid_ports` are kept.
 * @throws UsageError naming `fileName` and the JSON path of a value that is not what the format holds.
 */
export function readLegacyManifest(json: unknown, fileName: string): LegacyPorts {
  const fail = (path: string, message: string) =>
    new UsageError(
      `${fileName}: ${path}: ${message}`,
      "fix the legacy manifest, or write manifest.json by hand (orchestrate init)",
    );
  if (!isObject(json)) throw fail("(root)", "expected a JSON object with core_services, watchdog_services, …");
  const out: LegacyPorts = { services: [], groups: [], avoid: [], notes: [] };
  const dropped: string[] = [];
  const statuses: string[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const m = /^(.+)_services$/.exec(key);
    if (m) {
      if (!isObject(value)) throw fail(key, "expected an object of services");
      const group = toServiceName(m[1], `${fileName}: ${key}`);
      out.groups.push(group);
      out.notes.push(`${key} → group ${group}`);
      for (const [legacyName, entry] of Object.entries(value)) {
        const path = `${key}.${legacyName}`;
        const name = toServiceName(legacyName, `${fileName}: ${path}`);
        if (seen.has(name)) throw fail(path, `service ${name} is also defined in ${seen.get(name)}`);
        seen.set(name, path);
        if (name !== legacyName)
          out.notes.push(`${path}: renamed to ${name} (service names are lower-case a-z 0-9 _ . -)`);
        const service: LegacyService = { name, legacyName, group };
        if (isPort(entry)) service.port = entry;
        else if (!isObject(entry))
          throw fail(path, `expected {"port": N, "description": "…"} or a port number, got ${JSON.stringify(entry)}`);
        else {
          for (const [k, v] of Object.entries(entry)) {
            if (k === "port") {
              if (!isPort(v))
                throw fail(`${path}.port`, `expected an integer from 1 to 65535, got ${JSON.stringify(v)}`);
              service.port = v;
            } else if (k === "description" && typeof v === "string") service.description = v;
            else if (k === "status") statuses.push(`${name}=${String(v)}`);
            else dropped.push(`${path}.${k}`);
          }
        }
        if (service.port === undefined) out.notes.push(`${path}: no port: imported as a worker`);
        out.services.push(service);
      }
    } else if (key === "port_ranges" && isObject(value)) {
      const { safe_range_start: low, safe_range_end: high, description, ...rest } = value;
      if (low !== undefined || high !== undefined) {
        if (!isPort(low) || !isPort(high) || low > high)
          throw fail(
            key,
            `safe_range_start/end must be ports with start <= end, got ${JSON.stringify(low)}-${JSON.stringify(high)}`,
          );
        out.safeRange = { low, high, description: typeof description === "string" ? description : undefined };
      }
      dropped.push(...Object.keys(rest).map((k) => `${key}.${k}`));
    } else if (key === "notes" && isObject(value)) {
      const { avoid_ports: avoid, reason, ...rest } = value;
      if (avoid !== undefined) {
        if (!Array.isArray(avoid) || !avoid.every(isPort))
          throw fail("notes.avoid_ports", `expected a list of ports, got ${JSON.stringify(avoid)}`);
        out.avoid = [...new Set(avoid)];
        out.notes.push(
          `notes.avoid_ports → ports.avoid ${JSON.stringify(out.avoid)}` +
            (typeof reason === "string"
              ? `; their reason is not kept (ports.avoid has no reason field): ${JSON.stringify(reason)}`
              : ""),
        );
      }
      dropped.push(...Object.keys(rest).map((k) => `notes.${k}`));
    } else if (key === "system_name" && typeof value === "string") out.systemName = value;
    else dropped.push(key);
  }
  if (statuses.length)
    out.notes.push(
      `status dropped for ${statuses.length} service(s) (${statuses.join(", ")}): orchestrate reads the live state (orchestrate status)`,
    );
  if (dropped.length) out.notes.push(`dropped (no v1 equivalent): ${dropped.join(", ")}`);
  if (out.services.length === 0)
    throw fail("(root)", "no services found (expected keys such as core_services and watchdog_services)");
  return out;
}

const rangeText = (low: number, high: number) => (low === high ? String(low) : `${low}-${high}`);
const span = (ports: number[]) => rangeText(Math.min(...ports), Math.max(...ports));

/**
 * The port range of each group, so that every service lies inside its group's range:
 * a group whose ports all lie in the safe range (or that has none yet) gets the whole safe range, room
 * to grow; any other group gets the span of its ports outside the safe range plus the span of those
 * inside it (REC.IO core: 3000-4000 and 8001-8009); without a safe range, the span of its ports.
 * A group with no ports and no safe range gets no range and is left out (returned as undefined).
 */
export function groupRanges(
  portsByGroup: Map<string, number[]>,
  safe: LegacyPorts["safeRange"],
): Map<string, string | string[] | undefined> {
  const out = new Map<string, string | string[] | undefined>();
  for (const [group, ports] of portsByGroup) {
    const inside = safe ? ports.filter((p) => p >= safe.low && p <= safe.high) : [];
    const outside = ports.filter((p) => !inside.includes(p));
    if (safe && outside.length === 0) out.set(group, rangeText(safe.low, safe.high));
    else if (ports.length === 0) out.set(group, undefined);
    else out.set(group, inside.length ? [span(outside), span(inside)] : span(outside));
  }
  return out;
}

/** Adds `groups` (and `ports.allowed` when every port lies in the safe range) to a manifest being built. */
export function applyGroups(
  manifest: Manifest,
  order: string[],
  safe: LegacyPorts["safeRange"],
  describe: (group: string) => string,
  notes: string[],
): void {
  const portsByGroup = new Map<string, number[]>(order.map((g) => [g, []]));
  for (const s of Object.values(manifest.services))
    if (s.group && s.port !== undefined)
      for (let i = 0; i < (s.instances ?? 1); i++) portsByGroup.get(s.group)?.push(s.port + i);
  const groups: NonNullable<Manifest["groups"]> = {};
  for (const [group, range] of groupRanges(portsByGroup, safe)) {
    if (range === undefined) {
      for (const s of Object.values(manifest.services)) if (s.group === group) delete s.group;
      notes.push(
        `group ${group} has no ports and no safe range to take one from: its services are left without a group`,
      );
      continue;
    }
    const isSafe = safe && range === rangeText(safe.low, safe.high);
    groups[group] = {
      range,
      description: describe(group) + (isSafe && safe.description ? ` (${safe.description})` : ""),
    };
    notes.push(
      `group ${group}: range ${JSON.stringify(range)}${isSafe ? " (port_ranges' safe range)" : " (spans of its ports)"}`,
    );
  }
  manifest.groups = groups;
  if (!safe) return;
  const outside = Object.values(manifest.services).flatMap((s) =>
    s.port !== undefined && (s.port < safe.low || s.port > safe.high) ? [s.port] : [],
  );
  if (outside.length === 0) manifest.ports = { ...manifest.ports, allowed: [rangeText(safe.low, safe.high)] };
  else
    notes.push(
      `safe range ${rangeText(safe.low, safe.high)} not made ports.allowed: ports ${outside.join(", ")} lie outside it`,
    );
}

/** A command that validates but, if run, fails with what to do: the legacy format has no commands. */
export function placeholderCommand(name: string): string[] {
  return [
    "/bin/sh",
    "-c",
    `echo '${name}: no command was imported: set services.${name}.command in manifest.json' >&2; exit 1`,
  ];
}

/** Checks the built manifest against the schema. @throws UsageError listing every issue (a bug or an unrepresentable input). */
export function checkImported(manifest: Manifest, source: string): Manifest {
  const parsed = manifestSchema.safeParse(manifest);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  throw new UsageError(
    `${source}: the imported manifest would not be valid:\n  ${issues.join("\n  ")}`,
    "fix these values in the source and import again",
  );
}

/**
 * Imports a legacy MASTER_PORT_MANIFEST.json. Every service, port and description is kept; `status`
 * and other keys without a v1 meaning are dropped with a note. The legacy format has no commands, so
 * each service gets placeholderCommand() and a note: importing supervisord.conf with this file as
 * `legacyPorts` (import-supervisord.ts) fills the real ones.
 * @throws UsageError (exit 2) naming the file and JSON path of any value that cannot be imported.
 */
export function importLegacyManifest(json: unknown, options: { project?: string; fileName?: string }): ImportResult {
  const fileName = options.fileName ?? "MASTER_PORT_MANIFEST.json";
  const legacy = readLegacyManifest(json, fileName);
  const notes = [...legacy.notes];
  const project = projectName(legacy.systemName, options.project, notes);
  const services: Record<string, ServiceEntry> = {};
  for (const s of legacy.services) {
    services[s.name] = {
      group: s.group,
      ...(s.port !== undefined && { port: s.port }),
      command: placeholderCommand(s.name),
      ...(s.description !== undefined && { description: s.description }),
    };
  }
  const manifest: Manifest = {
    $schema: "./manifest.schema.json",
    project,
    ...(legacy.avoid.length && { ports: { avoid: legacy.avoid } }),
    services,
  };
  applyGroups(manifest, legacy.groups, legacy.safeRange, groupDescription, notes);
  notes.push(
    `commands: ${fileName} has none; each service got a placeholder that fails saying what to do. Set services.NAME.command, or import supervisord.conf with this file as --ports`,
  );
  notes.push(...portClashes(manifest));
  return { manifest: checkImported(manifest, fileName), notes, files: [] };
}

/** "core" → "Core services". */
export function groupDescription(group: string): string {
  return `${group.charAt(0).toUpperCase()}${group.slice(1).replace(/_/g, " ")} services`;
}

/** Notes for ports that `orchestrate validate` will refuse (shared, avoided): kept as found, not hidden. */
export function portClashes(manifest: Manifest): string[] {
  const notes: string[] = [];
  const owners = new Map<number, string>();
  const avoid = new Set(manifest.ports?.avoid ?? []);
  for (const [name, s] of Object.entries(manifest.services)) {
    if (s.port === undefined) continue;
    if (owners.has(s.port))
      notes.push(
        `WARNING port ${s.port} is used by both ${owners.get(s.port)} and ${name}: orchestrate validate will refuse it until one moves`,
      );
    else owners.set(s.port, name);
    if (avoid.has(s.port))
      notes.push(`WARNING ${name} uses port ${s.port}, which is in ports.avoid: orchestrate validate will refuse it`);
  }
  return notes;
}
