/**
 * `orchestrate import supervisord.conf [--ports MASTER_PORT_MANIFEST.json]`: each [program:NAME] becomes
 * a service with exactly the argv, directory and environment supervisord gives it (read by
 * ./ini-reader.ts with supervisord's own rules), ports from the legacy manifest or the command/env,
 * secrets moved to env files (./secrets.ts). Pure: returns manifest, notes and files; writes nothing.
 */
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { UsageError } from "../errors";
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
} from "./import-legacy";
import {
  expandPercent,
  iniError,
  pyStrip,
  readIni,
  splitCommand,
  splitEnvironment,
  type IniLocation,
  type IniSection,
  type PercentVars,
} from "./ini-reader";
import { ENV_KEY, STOP_SIGNALS, type Manifest, type ServiceEntry } from "./schema";
import { planSecrets } from "./secrets";

/** Options of importSupervisordConf. */
export interface SupervisordImportOptions {
  /** The file's name or path, for messages and `%(here)s` (its folder). */
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
}

/** Variables orchestrate gives every program itself (DESIGN.md), so an import drops them from env. */
const PROVIDED = ["PORT", "HOST", "SERVICE_NAME"];
/** Program keys read into the manifest; every other key is reported as ignored, with the reason. */
const IGNORED_BECAUSE: Record<string, string> = {
  autorestart: "orchestrate always restarts a program that exits",
  stopasgroup: "orchestrate always sets it",
  killasgroup: "orchestrate always sets it",
  stdout_logfile: "logs go to logs/NAME.out.log",
  stderr_logfile: "logs go to logs/NAME.err.log",
  redirect_stderr: "stdout and stderr are kept apart in logs/",
  priority: "start order comes from dependsOn: add it where order matters",
  autostart: "every enabled service is started; set enabled:false to keep one stopped",
};
/** Settings equal to what orchestrate generates anyway: nothing is lost, so no note. */
const SAME_AS_GENERATED: Record<string, string> = {
  autostart: "true",
  autorestart: "true",
  stopasgroup: "true",
  killasgroup: "true",
};
const LOG_KEY = /^std(out|err)_(logfile_maxbytes|logfile_backups|capture_maxbytes|events_enabled|syslog)$/;

/** One program as supervisord reads it. */
interface Program {
  section: IniSection;
  name: string;
  argv: string[];
  directory?: string;
  env: Map<string, string>;
  /** The `%` expansions supervisord uses for this program's keys. */
  vars: PercentVars;
}

function location(file: string, section: IniSection, key: string): IniLocation {
  return { file, section: section.name, key, line: section.entries.get(key)?.line ?? section.line };
}

function integerOf(
  file: string,
  section: IniSection,
  key: string,
  vars: PercentVars,
  min: number,
  max: number,
): number | undefined {
  const entry = section.entries.get(key);
  if (!entry) return undefined;
  const where = location(file, section, key);
  const text = pyStrip(expandPercent(entry.value, vars, where));
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw iniError(where, entry.value, `expected an integer from ${min} to ${max}`);
  return n;
}

/** Reads command, directory and environment the way supervisor's options.py `_processes_from_section` does. */
function readProgram(
  file: string,
  section: IniSection,
  base: PercentVars,
  environ: Record<string, string | undefined>,
  global: Map<string, string>,
): Program {
  const raw = section.name.slice(section.name.indexOf(":") + 1);
  const name = pyStrip(raw);
  const bad = [" ", ":", "/"].find((c) => name.includes(c));
  if (bad)
    throw new UsageError(
      `${file}:${section.line}: [${section.name}]: supervisord refuses the name ${JSON.stringify(name)} because of ${JSON.stringify(bad)}`,
      "rename the program",
    );
  const vars: PercentVars = { ...base, program_name: name, group_name: name };
  for (const [k, v] of Object.entries(environ)) if (v !== undefined) vars[`ENV_${k}`] = v;
  for (const [k, v] of global) vars[`ENV_${k}`] = v;
  const numprocs = integerOf(file, section, "numprocs", vars, 0, 1_000_000) ?? 1;
  if (numprocs !== 1)
    throw iniError(
      location(file, section, "numprocs"),
      String(numprocs),
      "one program runs several processes; a manifest service is one process",
      "write one service per process and remove numprocs",
    );
  vars.process_num = integerOf(file, section, "numprocs_start", vars, 0, 1_000_000) ?? 0;
  vars.numprocs = numprocs;
  const envEntry = section.entries.get("environment");
  const envWhere = location(file, section, "environment");
  const own = envEntry
    ? splitEnvironment(expandPercent(envEntry.value, vars, envWhere), envWhere)
    : new Map<string, string>();
  for (const [k, v] of own) vars[`ENV_${k}`] = v;
  const env = new Map([...global, ...own]);
  const command = section.entries.get("command");
  if (!command)
    throw new UsageError(
      `${file}:${section.line}: [${section.name}] has no command=`,
      "supervisord refuses it too: add the command",
    );
  const cmdWhere = location(file, section, "command");
  const argv = splitCommand(expandPercent(command.value, vars, cmdWhere), cmdWhere);
  if (argv.length === 0) throw iniError(cmdWhere, command.value, "the command has no words");
  const dir = section.entries.get("directory");
  const directory = dir ? expandPercent(dir.value, vars, location(file, section, "directory")) : undefined;
  return { section, name, argv, directory, env, vars };
}

/** `--port N` / `--port=N` in argv. */
function portInArgv(argv: string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const m = /^--port(?:=(\d+))?$/.exec(argv[i]);
    const text = m ? (m[1] ?? argv[i + 1]) : undefined;
    if (text && /^\d{1,5}$/.test(text) && +text >= 1 && +text <= 65535) return +text;
  }
  return undefined;
}

const TECHNOLOGY: Array<[RegExp, string]> = [
  [/^python[0-9.]*$|^uvicorn$|^gunicorn$/, "python"],
  [/^(node|nodejs|npm|npx|tsx|bun|deno)$/, "node"],
];

/**
 * Imports a supervisord.conf. Each [program:NAME] becomes service NAME (lower-cased into a valid name,
 * with a note) with `command` as the exact argv supervisord execs, `directory`, and `env` from
 * `environment=` minus PORT/HOST/SERVICE_NAME (orchestrate provides them). Port: `--port N` in the
 * command, else the legacy manifest, else `PORT=` (a mismatch is noted); no port → a worker. Group: the
 * legacy one, else "default" for programs with a port. Secret-looking variables go to
 * `SECRETS_DIR/NAME.env` (mode 0600, listed in `files`), referenced by `envFile`. Legacy services with
 * no program are kept disabled (port reserved). Other sections and ignored keys are reported in notes.
 * @throws UsageError (exit 2) naming file, line, section, key and value for anything supervisord itself
 *   would refuse, or that a v1 manifest cannot hold (numprocs > 1, an unknown stopsignal, a bad env name).
 */
export function importSupervisordConf(text: string, options: SupervisordImportOptions): ImportResult {
  const file = options.fileName;
  const secretsDir = options.secretsDir ?? "secrets";
  const legacyFile = options.legacyFileName ?? "MASTER_PORT_MANIFEST.json";
  const legacy: LegacyPorts | undefined =
    options.legacyPorts === undefined ? undefined : readLegacyManifest(options.legacyPorts, legacyFile);
  const notes = legacy ? legacy.notes.map((n) => `${legacyFile}: ${n}`) : [];
  const files: ImportResult["files"] = [];
  const base: PercentVars = { here: dirname(resolve(file)), host_node_name: options.hostNodeName ?? hostname() };
  const ignored = new Map<string, string[]>();
  const moved = new Map<string, string[]>();
  let programs = 0;
  const services: Record<string, ServiceEntry> = {};
  const groups = [...(legacy?.groups ?? [])];
  const sections = readIni(text, file);
  const environ = options.environ ?? process.env;
  const global = globalEnvironment(file, sections, base, environ, notes);
  for (const section of sections) {
    const kind = section.name.split(":")[0];
    if (kind !== "program") {
      notes.push(sectionNote(section));
      continue;
    }
    const p = readProgram(file, section, base, environ, global);
    const name = toServiceName(p.name, `${file}:${section.line}: [${section.name}]`);
    if (services[name])
      throw new UsageError(
        `${file}:${section.line}: [${section.name}] becomes service ${name}, which another program already is`,
        "rename one of the programs",
      );
    if (name !== p.name) notes.push(`[${section.name}] → service ${name} (service names are lower-case a-z 0-9 _ . -)`);
    const known = legacy?.services.find((s) => s.name === name);
    const argvPort = portInArgv(p.argv);
    const envPort = /^\d{1,5}$/.test(p.env.get("PORT") ?? "") ? Number(p.env.get("PORT")) : undefined;
    const port = argvPort ?? known?.port ?? envPort;
    if (argvPort !== undefined && known?.port !== undefined && known.port !== argvPort)
      notes.push(
        `WARNING ${name}: its command says --port ${argvPort} but ${legacyFile} says ${known.port}; kept ${argvPort}, what the program is told`,
      );
    if (envPort !== undefined && port !== undefined && envPort !== port)
      notes.push(
        `WARNING ${name}: environment PORT=${envPort} differs from its port ${port}; orchestrate will give it PORT=${port}`,
      );
    for (const key of PROVIDED)
      if (p.env.has(key))
        notes.push(
          `${name}: environment ${key}=${JSON.stringify(p.env.get(key))} dropped: orchestrate sets ${key} itself${key === "HOST" ? " (from the manifest's host)" : ""}`,
        );
    for (const key of PROVIDED) p.env.delete(key);
    for (const key of p.env.keys())
      if (!ENV_KEY.test(key))
        throw iniError(
          location(file, section, "environment"),
          key,
          `${JSON.stringify(key)} is not a valid environment variable name for the manifest`,
          "rename it ([A-Za-z_][A-Za-z0-9_]*)",
        );
    const plan = planSecrets(name, p.env, secretsDir, file);
    if (plan.file) {
      files.push(plan.file);
      const what = plan.moved.map((m) => `${m.name} (${m.reason})`).join(", ");
      moved.set(what, [...(moved.get(what) ?? []), name]);
    }
    const texts = [...p.argv, ...Object.values(plan.env)];
    if (texts.some((t) => /\{(port|host|name)\}/.test(t)))
      notes.push(
        `WARNING ${name}: its command or env contains {port}, {host} or {name} literally; orchestrate will replace them`,
      );
    const service: ServiceEntry = {
      ...(port !== undefined && { group: known?.group ?? "default", port }),
      command: p.argv,
      ...(p.directory !== undefined && { directory: p.directory }),
      ...(Object.keys(plan.env).length && { env: plan.env }),
      ...(plan.file && { envFile: plan.file.path }),
      ...(known?.description !== undefined && { description: known.description }),
      ...technologyOf(p.argv),
      ...programSettings(file, p, ignored),
    };
    if (service.group === "default" && !groups.includes("default")) groups.push("default");
    if (p.directory === undefined)
      notes.push(
        `${name}: no directory=: it will run in the manifest's folder (supervisord used its own start folder)`,
      );
    else if (!p.directory.startsWith("/"))
      notes.push(
        `WARNING ${name}: directory=${p.directory} was relative to supervisord's start folder; in the manifest it is relative to the manifest's folder`,
      );
    services[name] = service;
    programs++;
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
    notes.push(
      `${s.name} is in ${legacyFile} but has no [program:${s.legacyName}]: kept disabled (port reserved) with a placeholder command`,
    );
  }
  const inWhich = (names: string[]) =>
    names.length > 1 && names.length === programs ? `all ${names.length} programs` : names.join(", ");
  for (const [what, names] of moved)
    notes.push(
      `secrets moved out of the environment of ${inWhich(names)} into ${secretsDir}/NAME.env (mode 0600, envFile): ${what}`,
    );
  for (const [key, names] of ignored)
    notes.push(
      `${key}= ignored in ${inWhich(names)}: ${IGNORED_BECAUSE[key] ?? (LOG_KEY.test(key) ? "orchestrate sets log rotation from the manifest's logs" : "no manifest equivalent")}`,
    );
  if (files.length)
    notes.push(
      `secrets: add ${secretsDir}/ to .gitignore; ${file} still holds them in clear text: delete it, and rotate them if it was ever shared`,
    );
  const project = projectName(legacy?.systemName, options.project, notes);
  const manifest: Manifest = {
    $schema: "./manifest.schema.json",
    project,
    ...(legacy?.avoid.length && { ports: { avoid: legacy.avoid } }),
    services,
  };
  applyGroups(manifest, groups, legacy?.safeRange, groupDescription, notes);
  notes.push(...portClashes(manifest));
  return { manifest: checkImported(manifest, file), notes, files };
}

/** user, stopsignal, stopwaitsecs, startsecs, startretries → manifest keys; other keys recorded as ignored. */
function programSettings(
  file: string,
  { section, vars, name }: Program,
  ignored: Map<string, string[]>,
): Partial<ServiceEntry> {
  const out: Partial<ServiceEntry> = {};
  for (const [key, entry] of section.entries) {
    const where = location(file, section, key);
    if (["command", "directory", "environment", "numprocs", "numprocs_start"].includes(key)) continue;
    if (key === "user") out.user = pyStrip(expandPercent(entry.value, vars, where));
    else if (key === "stopsignal") {
      const signal = pyStrip(expandPercent(entry.value, vars, where))
        .toUpperCase()
        .replace(/^SIG/, "");
      if (!(STOP_SIGNALS as readonly string[]).includes(signal))
        throw iniError(where, entry.value, `the manifest's stopSignal is one of ${STOP_SIGNALS.join(", ")}`);
      out.stopSignal = signal as ServiceEntry["stopSignal"];
    } else if (key === "stopwaitsecs") out.stopTimeout = integerOf(file, section, key, vars, 1, 86400);
    else if (key === "startsecs") out.startSecs = integerOf(file, section, key, vars, 0, 3600);
    else if (key === "startretries") out.startRetries = integerOf(file, section, key, vars, 0, 100);
    else if (SAME_AS_GENERATED[key] !== pyStrip(entry.value).toLowerCase())
      ignored.set(key, [...(ignored.get(key) ?? []), name]);
  }
  return out;
}

function technologyOf(argv: string[]): Partial<ServiceEntry> {
  const program = argv[0].split("/").pop() ?? "";
  const hit = TECHNOLOGY.find(([re]) => re.test(program));
  return hit ? { technology: hit[1] } : {};
}

/** The note for a section that is not a program. */
function sectionNote(section: IniSection): string {
  const keys = [...section.entries.keys()].filter((k) => k !== "environment").join(", "); // names only: values may be secrets
  const kind = section.name.split(":")[0];
  switch (kind) {
    case "supervisord":
      return `[supervisord] ${keys} ignored: orchestrate generates its own (units/supervisord.conf)`;
    case "supervisorctl":
    case "unix_http_server":
    case "inet_http_server":
    case "rpcinterface":
      return `[${section.name}] ignored: orchestrate's private supervisord has its own socket under run/ and no inet server`;
    case "include":
      return `WARNING [include] files=${section.entries.get("files")?.value ?? ""} not followed: import the included files too, or their programs are missing`;
    case "group":
      return `[${section.name}] ignored: orchestrate runs one program per group (a group restarts all its members)`;
    case "eventlistener":
    case "fcgi-program":
      return `WARNING [${section.name}] not imported: only [program:x] sections become services`;
    default:
      return `[${section.name}] ignored: not a section orchestrate knows`;
  }
}

/**
 * `[supervisord] environment=`: supervisord puts it into its own environment, so every program inherits
 * it and `%(ENV_X)s` sees it. supervisor's options.py expands this value twice (so a literal % needs
 * `%%%%` there), which is mirrored. Merged under each program's own environment.
 */
function globalEnvironment(
  file: string,
  sections: IniSection[],
  base: PercentVars,
  environ: Record<string, string | undefined>,
  notes: string[],
): Map<string, string> {
  const section = sections.find((s) => s.name === "supervisord");
  const entry = section?.entries.get("environment");
  if (!section || !entry) return new Map();
  const vars: PercentVars = { ...base };
  for (const [k, v] of Object.entries(environ)) if (v !== undefined) vars[`ENV_${k}`] = v;
  const where = location(file, section, "environment");
  const env = splitEnvironment(expandPercent(expandPercent(entry.value, vars, where), vars, where), where);
  notes.push(
    `[supervisord] environment= (${[...env.keys()].join(", ")}) is inherited by every program: merged into each service's environment`,
  );
  return env;
}
