/**
 * `orchestrate import supervisord.conf [--ports MASTER_PORT_MANIFEST.json]`: every process supervisord
 * would run from the file (and the files its `[include]` names) becomes a service or an instance of one
 * (manifest v1.1: `instances`, `autostart`, `restart` + `exitCodes`, `type: "oneshot"`, `stderr: "merge"`,
 * `priority`), with the exact argv, directory and environment supervisord gives it. What orchestrate
 * changes on purpose, what a manifest cannot hold and what was frozen is said once, per service, in
 * the report (./report.ts). Pure apart from reading the configuration files: writes nothing.
 */
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { OperationError, UsageError } from "../../errors";
import {
  applyGroups,
  checkImported,
  groupDescription,
  placeholderCommand,
  portClashes,
  projectName,
  readLegacyManifest,
  toServiceName,
  type ImportResult,
  type LegacyPorts,
} from "../import-legacy";
import { expandPercent, splitEnvironment, type PercentVars } from "../ini-reader";
import type { Manifest, ServiceEntry } from "../schema";
import { diskFiles, readConfigFiles, type FileSource, type SourcedSection } from "./files";
import { readProgram, SectionReader, type ProgramRead } from "./program";
import { buildService } from "./service";
import { formatReport, ImportReport, type ProcessMapping } from "./report";
import { checkListener, sectionWarning } from "./sections";
import { importGroups, type GroupRead } from "./groups";

/** Options of importSupervisordConf. */
export interface SupervisordImportOptions {
  /** The file's path: `%(here)s` is its folder, `[include]` patterns are relative to it. */
  fileName: string;
  /** The parsed MASTER_PORT_MANIFEST.json, when there is one: ports, groups, descriptions. */
  legacyPorts?: unknown;
  legacyFileName?: string;
  project?: string;
  /** Folder for the env files that receive secrets, relative to the manifest (default "secrets"). */
  secretsDir?: string;
  /** supervisord's environment, for `%(ENV_X)s` (default: this process's environment). */
  environ?: Record<string, string | undefined>;
  /** `%(host_node_name)s` (default: os.hostname(), as supervisord's platform.node()). */
  hostNodeName?: string;
  /** Freeze `%(ENV_X)s` of the command at its value now instead of reading it when the program starts. */
  freezeEnv?: boolean;
  /** Where included files are read from (default: the file system). */
  files?: FileSource;
}

/**
 * Imports a supervisord configuration. See the file comment; the report is in `report` (items) and
 * `notes` (the same, as text lines).
 * @throws UsageError (exit 2) listing every problem supervisord itself would refuse (file:line, section,
 *   key, value and the fix), or that a manifest cannot hold (an environment name, two programs that
 *   become one service name).
 * @throws OperationError (exit 1) when the configuration runs no program.
 */
export function importSupervisordConf(text: string | undefined, options: SupervisordImportOptions): ImportResult {
  const file = resolve(options.fileName);
  const environ = options.environ ?? process.env;
  const fs: FileSource =
    text === undefined
      ? (options.files ?? diskFiles)
      : { ...(options.files ?? diskFiles), read: (p) => (p === file ? text : (options.files ?? diskFiles).read(p)) };
  const legacyFile = options.legacyFileName ?? "MASTER_PORT_MANIFEST.json";
  const legacy: LegacyPorts | undefined =
    options.legacyPorts === undefined ? undefined : readLegacyManifest(options.legacyPorts, legacyFile);
  const notes = legacy ? legacy.notes.map((n) => `${legacyFile}: ${n}`) : [];
  const report = new ImportReport();
  const base: PercentVars = { here: dirname(file), host_node_name: options.hostNodeName ?? hostname() };
  for (const [k, v] of Object.entries(environ)) if (v !== undefined) base[`ENV_${k}`] = v;
  const read = readConfigFiles(file, base, fs);
  const problems = [...read.problems];
  for (const w of read.warnings) report.add("warning", w);
  const sections = read.sections;
  const byName = new Map(sections.map((s) => [s.name, s]));
  const sup = byName.get("supervisord");
  if (!sup && problems.length === 0)
    problems.push(
      `${file}: no [supervisord] section (supervisord refuses the file: ".ini file does not include supervisord section"); import the main supervisord.conf that includes this file, or add [supervisord]`,
    );
  const global = globalEnvironment(sup, base, problems);
  for (const [k, v] of global) base[`ENV_${k}`] = v;
  const osEnv = new Set(Object.keys(environ).filter((k) => environ[k] !== undefined));

  // [group:x] membership (supervisord: options.py process_groups_from_parser)
  const groupOf = new Map<string, string>();
  const groupsRead: GroupRead[] = [];
  for (const s of sections.filter((s) => s.name.startsWith("group:"))) {
    const r = new SectionReader(s, problems, base);
    const gname = s.name.slice(6).trim();
    const group: GroupRead = { name: gname, where: `${s.file}:${s.line}: [${s.name}]`, members: [] };
    groupsRead.push(group);
    const members = (r.text("programs") ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x);
    for (const m of members) {
      const program = byName.has(`program:${m}`);
      const fcgi = byName.has(`fcgi-program:${m}`);
      if (!program && !fcgi)
        r.fail(
          "programs",
          m,
          `supervisord refuses it: [${s.name}] names unknown program ${m}`,
          `add [program:${m}] or remove ${m} from programs=`,
        );
      else if (program && fcgi)
        r.fail("programs", m, `supervisord refuses it: ${m} is both a program and an fcgi-program`, "rename one");
      else {
        groupOf.set(program ? `program:${m}` : `fcgi-program:${m}`, gname);
        group.members.push(program ? `program:${m}` : `fcgi-program:${m}`);
      }
    }
    if (s.entries.has("priority")) group.priority = s.entries.get("priority")!.value;
  }

  const programs: ProgramRead[] = [];
  for (const s of sections) {
    const kind = s.name.split(":")[0];
    if (kind === "program") {
      const p = readProgram(s, groupOf.get(s.name), base, global, osEnv, options.freezeEnv ?? false, problems);
      if (p) programs.push(p);
    } else if (kind === "eventlistener" || kind === "fcgi-program") {
      checkListener(s, kind, groupOf.get(s.name), base, global, osEnv, problems);
      report.add("warning", sectionWarning(s, kind));
    } else if (s.name !== "supervisord" && s.name !== "include" && kind !== "group")
      report.add("note", sectionWarning(s, kind));
  }
  if (sup)
    report.add(
      "note",
      `[supervisord] ${[...sup.entries.keys()].filter((k) => k !== "environment").join(", ")} not imported: orchestrate runs its own supervisord (units/supervisord.conf)`,
    );
  if (problems.length) throw refusal(file, problems);
  if (programs.length === 0)
    throw new OperationError(
      `no program found: ${read.files.join(", ")} ${read.files.length === 1 ? "defines" : "define"} no [program:x] section`,
      "import the file that holds the [program:x] sections (or the main supervisord.conf that includes them)",
    );

  const services: Record<string, ServiceEntry> = {};
  const serviceOf = new Map<string, string>(); // program section name → service name
  const mappings: ProcessMapping[] = [];
  const files: ImportResult["files"] = [];
  const groups = [...(legacy?.groups ?? [])];
  const anyPriority = programs.some((p) => p.section.entries.has("priority"));
  const daemonDir =
    sup && !/^(true|yes|on|1)$/i.test(sup.entries.get("nodaemon")?.value ?? "")
      ? sup.entries.get("directory")?.value
      : undefined;
  for (const p of programs) {
    const name = toServiceName(p.name, `${p.section.file}:${p.section.line}: [${p.section.name}]`);
    if (services[name])
      throw new UsageError(
        `${p.section.file}:${p.section.line}: [${p.section.name}] becomes service ${name}, which another program already is`,
        "rename one of the programs",
      );
    if (name !== p.name)
      report.add("changed", `program names become valid service names: ${p.name} → ${name}`, [name], ["name"]);
    const built = buildService(p, name, {
      legacy,
      legacyFile,
      report,
      environ,
      anyPriority,
      daemonDir,
      secretsDir: options.secretsDir ?? "secrets",
      files,
      groupOf,
    });
    services[name] = built.entry;
    serviceOf.set(p.section.name, name);
    mappings.push(...built.mapping);
    if (built.entry.group === "default" && !groups.includes("default")) groups.push("default");
  }
  for (const s of legacy?.services ?? []) {
    if (services[s.name]) continue;
    services[s.name] = {
      group: s.group,
      ...(s.port !== undefined && { port: s.port }),
      command: placeholderCommand(s.name),
      enabled: false,
      ...(s.description !== undefined && { description: s.description }),
    };
    report.add(
      "note",
      `${s.name} is in ${legacyFile} but has no [program:${s.legacyName}]: kept disabled (port reserved) with a placeholder command`,
      [s.name],
    );
  }
  const project = projectName(legacy?.systemName, options.project, notes);
  const processGroups = importGroups(groupsRead, serviceOf, Object.keys(services), report);
  const manifest: Manifest = {
    $schema: "./manifest.schema.json",
    project,
    ...(legacy?.avoid.length && { ports: { avoid: legacy.avoid } }),
    services,
    ...(Object.keys(processGroups).length && { processGroups }),
  };
  applyGroups(manifest, groups, legacy?.safeRange, groupDescription, notes);
  notes.push(...portClashes(manifest));
  if (files.length)
    report.add(
      "warning",
      `secrets: add ${options.secretsDir ?? "secrets"}/ to .gitignore; ${file} still holds them in clear text: delete it, and rotate them if it was ever shared`,
    );
  const checked = checkImported(manifest, file);
  const all = [...formatReport(report.items, programs.length), ...notes];
  return { manifest: checked, notes: all, files, report: report.items, processes: mappings, sources: read.files };
}

/** `[supervisord] environment=`, expanded twice as supervisor options.py does; merged under every program's. */
function globalEnvironment(
  section: SourcedSection | undefined,
  base: PercentVars,
  problems: string[],
): Map<string, string> {
  const entry = section?.entries.get("environment");
  if (!section || !entry) return new Map();
  const where = { file: entry.file, line: entry.line, section: "supervisord", key: "environment" };
  try {
    return splitEnvironment(expandPercent(expandPercent(entry.value, base, where), base, where), where);
  } catch (e) {
    problems.push((e as Error).message);
    return new Map();
  }
}

function refusal(file: string, problems: string[]): UsageError {
  const unique = [...new Set(problems)];
  return new UsageError(
    `${file}: supervisord would refuse this configuration (${unique.length} problem${unique.length === 1 ? "" : "s"}):\n  ${unique.join("\n  ")}`,
    "fix them in the configuration and import again; nothing was written",
  );
}
