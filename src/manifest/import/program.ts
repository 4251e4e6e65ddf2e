/**
 * One `[program:x]` as supervisord reads it (supervisor 4.2.5 options.py `_processes_from_section`, the
 * key list and defaults of supervisord docs "[program:x] Section Settings"): every key with its default
 * when absent, each process of `numprocs` with its own `%(process_num)d` expansion, and the refusals
 * supervisord makes, collected (never thrown) so that one run lists them all.
 */
import {
  expandPercent,
  pyStrip,
  splitCommand,
  splitEnvironment,
  type IniLocation,
  type PercentVars,
} from "../ini-reader";
import type { SourcedSection } from "./files";

/** The settings of a program, with supervisord's defaults applied. */
export interface ProgramSettings {
  priority: number;
  autostart: boolean;
  autorestart: "true" | "false" | "unexpected";
  startsecs: number;
  startretries: number;
  stopsignal: string;
  stopwaitsecs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
  exitcodes: number[];
  redirectStderr: boolean;
  numprocs: number;
  numprocsStart: number;
  user?: string;
  umask?: string;
  directory?: string;
  stdoutLogfile?: string;
  stderrLogfile?: string;
  stdoutSyslog: boolean;
  stderrSyslog: boolean;
}

/** One process: what supervisord execs. */
export interface ProcessRead {
  name: string;
  num: number;
  argv: string[];
  env: Map<string, string>;
}

/** One program read: its processes and settings; `template` is argv with markers (see MARK). */
export interface ProgramRead {
  section: SourcedSection;
  name: string;
  group: string;
  settings: ProgramSettings;
  processes: ProcessRead[];
  /** argv/env of process 0 with `%(process_num)…` → MARK.instance and start-time `%(ENV_X)s` → MARK.env(X). */
  template: { argv: string[]; env: Map<string, string> };
  /** `%(process_num)` was formatted with a width or flags (`%(process_num)02d`), which `{instance}` cannot do. */
  paddedProcessNum: boolean;
  /** Keys whose `%(ENV_X)s` were frozen at import (key → variable names). */
  frozen: Map<string, string[]>;
  /** Variables kept as start-time values in the command. */
  startTime: string[];
}

/** Markers put into templates; never valid in a supervisord file (control characters). */
export const MARK = {
  instance: "\u0001I\u0001",
  env: (name: string) => `\u0002${name}\u0002`,
  envPattern: /\u0002(\w+)\u0002/g,
};

const TRUE = ["yes", "true", "on", "1"];
const FALSE = ["no", "false", "off", "0"];
const SIGNALS = [
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
];

/** Reads keys of a section, expanding `%` with `vars`; problems are pushed, never thrown. */
export class SectionReader {
  constructor(
    readonly section: SourcedSection,
    readonly problems: string[],
    public vars: PercentVars,
  ) {}

  where(key: string): IniLocation {
    const e = this.section.entries.get(key);
    return { file: e?.file ?? this.section.file, line: e?.line ?? this.section.line, section: this.section.name, key };
  }

  fail(key: string, value: string, why: string, fix: string): void {
    const w = this.where(key);
    this.problems.push(`${w.file}:${w.line}: [${w.section}] ${key}=${JSON.stringify(value)}: ${why}; ${fix}`);
  }

  raw(key: string): string | undefined {
    return this.section.entries.get(key)?.value;
  }

  /** The %-expanded value, or undefined when absent or unexpandable (a problem is recorded). */
  text(key: string, vars: PercentVars = this.vars): string | undefined {
    const raw = this.raw(key);
    if (raw === undefined) return undefined;
    try {
      return expandPercent(raw, vars, this.where(key));
    } catch (e) {
      this.problems.push(envMessage((e as Error).message));
      return undefined;
    }
  }

  integer(key: string, fallback: number): number {
    const t = this.text(key);
    if (t === undefined) return fallback;
    if (!/^[+-]?\d+(_\d+)*$/.test(pyStrip(t))) {
      this.fail(key, t, "supervisord refuses it: not an integer", "write a whole number");
      return fallback;
    }
    return Number(pyStrip(t).replace(/_/g, ""));
  }

  boolean(key: string, fallback: boolean): boolean {
    const t = this.text(key);
    if (t === undefined) return fallback;
    if (TRUE.includes(t.toLowerCase())) return true;
    if (FALSE.includes(t.toLowerCase())) return false;
    this.fail(key, t, "supervisord refuses it: not a valid boolean value", "write true or false");
    return fallback;
  }
}

/** Rewrites "%(ENV_X) cannot be expanded" into the variable to set. */
function envMessage(message: string): string {
  const m = /%\(ENV_(\w+)\) cannot be expanded/.exec(message);
  if (!m) return message;
  return `${message.split(": %(ENV_")[0]}: environment variable ${m[1]} is not set (supervisord refuses the file too); set it (export ${m[1]}=…) before importing`;
}

/** `%(process_num)…d` (not after `%%`) → marker; reports whether a width or flags were used. */
function markProcessNum(raw: string): { text: string; padded: boolean } {
  let padded = false;
  const text = raw.replace(/%%|%\(process_num\)([-+ #0]*\d*(?:\.\d*)?)[hlL]?([diusr])/g, (m, spec: string) => {
    if (m === "%%") return m;
    if (spec) padded = true;
    return MARK.instance;
  });
  return { text, padded };
}

/** `%(ENV_X)s` of variables that come from supervisord's own environment (not from the file) → marker. */
function markEnv(raw: string, startTime: Set<string>, used: string[]): string {
  return raw.replace(/%%|%\(ENV_(\w+)\)s/g, (m, name: string) => {
    if (m === "%%" || !startTime.has(name)) return m;
    used.push(name);
    return MARK.env(name).replace(/%/g, "%%");
  });
}

/**
 * Reads a [program:x] section. `base` holds here, host_node_name and every ENV_X supervisord knows
 * (its environment, then [supervisord] environment=); `global` is [supervisord] environment=;
 * `osEnv` names the variables that come from the environment supervisord is started in (kept as
 * start-time values in the command unless `freeze`).
 */
export function readProgram(
  section: SourcedSection,
  group: string | undefined,
  base: PercentVars,
  global: Map<string, string>,
  osEnv: Set<string>,
  freeze: boolean,
  problems: string[],
): ProgramRead | undefined {
  const before = problems.length;
  const name = pyStrip(section.name.slice(section.name.indexOf(":") + 1));
  const bad = [" ", ":", "/"].find((c) => name.includes(c));
  if (bad)
    problems.push(
      `${section.file}:${section.line}: [${section.name}]: supervisord refuses the name ${JSON.stringify(name)} because of ${JSON.stringify(bad)}; rename the program`,
    );
  const vars: PercentVars = { ...base, program_name: name, group_name: group ?? name };
  const r = new SectionReader(section, problems, vars);
  const frozen = new Map<string, string[]>();
  const noteFrozen = (key: string) => {
    const names = [...(r.raw(key) ?? "").matchAll(/%\(ENV_(\w+)\)s/g)].map((m) => m[1]).filter((n) => osEnv.has(n));
    if (names.length) frozen.set(key, names);
  };
  for (const key of section.entries.keys()) if (key !== "command") noteFrozen(key);
  const restart = (r.text("autorestart") ?? "unexpected").toLowerCase();
  const autorestart = TRUE.includes(restart)
    ? "true"
    : FALSE.includes(restart)
      ? "false"
      : restart === "unexpected"
        ? "unexpected"
        : undefined;
  if (!autorestart)
    r.fail("autorestart", restart, "supervisord refuses it: not true, false or unexpected", "write one of those");
  const stopsignalText = pyStrip(r.text("stopsignal") ?? "TERM")
    .toUpperCase()
    .replace(/^SIG/, "");
  let stopsignal = stopsignalText;
  if (/^\d+$/.test(stopsignalText)) stopsignal = SIGNALS[+stopsignalText - 1] ?? "";
  if (!SIGNALS.includes(stopsignal))
    r.fail(
      "stopsignal",
      stopsignalText,
      "supervisord refuses it: not a signal name or number",
      "write TERM, INT, QUIT, HUP, KILL, USR1 or USR2",
    );
  const stopasgroup = r.boolean("stopasgroup", false);
  const killasgroup = r.boolean("killasgroup", stopasgroup);
  if (stopasgroup && !killasgroup)
    r.fail(
      "killasgroup",
      r.raw("killasgroup") ?? "",
      "supervisord refuses stopasgroup=true with killasgroup=false",
      "set killasgroup=true (or remove it)",
    );
  const exitText = r.text("exitcodes") ?? "0";
  const exitcodes = exitText ? exitText.split(",").map((x) => pyStrip(x)) : [];
  if (!exitcodes.every((x) => /^[+-]?\d+$/.test(x) && +x >= 0 && +x <= 255))
    r.fail("exitcodes", exitText, "supervisord refuses it: not a list of exit codes 0-255", "write e.g. 0,2");
  const umask = r.text("umask");
  if (umask !== undefined && !/^[0-7]+$/.test(pyStrip(umask)))
    r.fail("umask", umask, "supervisord refuses it: not an octal number", "write e.g. 022");
  const settings: ProgramSettings = {
    priority: r.integer("priority", 999),
    autostart: r.boolean("autostart", true),
    autorestart: autorestart ?? "unexpected",
    startsecs: r.integer("startsecs", 1),
    startretries: r.integer("startretries", 3),
    stopsignal,
    stopwaitsecs: r.integer("stopwaitsecs", 10),
    stopasgroup,
    killasgroup,
    exitcodes: exitcodes.map(Number),
    redirectStderr: r.boolean("redirect_stderr", false),
    numprocs: r.integer("numprocs", 1),
    numprocsStart: r.integer("numprocs_start", 0),
    user: r.text("user"),
    umask,
    stdoutLogfile: r.raw("stdout_logfile"),
    stderrLogfile: r.raw("stderr_logfile"),
    stdoutSyslog: r.boolean("stdout_syslog", false),
    stderrSyslog: r.boolean("stderr_syslog", false),
  };
  const processName = pyStrip(r.raw("process_name") ?? "%(program_name)s");
  if (settings.numprocs > 1 && !processName.includes("%(process_num)"))
    r.fail(
      "process_name",
      processName,
      "supervisord refuses numprocs > 1 without %(process_num) in process_name",
      "add %(process_num)d to process_name, e.g. %(program_name)s_%(process_num)02d",
    );
  const command = r.raw("command");
  if (command === undefined)
    problems.push(
      `${section.file}:${section.line}: [${section.name}] has no command=; supervisord refuses it too: add the command`,
    );
  if (command === undefined) return undefined;

  const processes: ProcessRead[] = [];
  const envRaw = r.raw("environment") ?? "";
  for (let n = settings.numprocsStart; n < settings.numprocsStart + settings.numprocs; n++) {
    const pv: PercentVars = { ...vars, process_num: n, numprocs: settings.numprocs };
    const envText = r.text("environment", pv);
    let own = new Map<string, string>();
    try {
      own = envText ? splitEnvironment(envText, r.where("environment")) : own;
    } catch (e) {
      problems.push((e as Error).message);
    }
    for (const [k, v] of own) pv[`ENV_${k}`] = v;
    if (n === settings.numprocsStart) settings.directory = r.text("directory", pv);
    const cmd = r.text("command", pv);
    let argv: string[] = [];
    try {
      argv = cmd === undefined ? [] : splitCommand(cmd, r.where("command"));
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (cmd !== undefined && argv.length === 0)
      problems.push(
        `${r.where("command").file}:${r.where("command").line}: [${section.name}] command= has no words; supervisord cannot run it`,
      );
    let pname = name;
    try {
      pname = expandPercent(processName, pv, r.where("process_name"));
    } catch (e) {
      problems.push((e as Error).message);
    }
    processes.push({ name: pname, num: n, argv, env: new Map([...global, ...own]) });
  }
  if (problems.length > before) return undefined;

  // the template: process 0's values with %(process_num) and start-time %(ENV_X)s left as markers
  // one process: %(process_num) is a constant of it, written as supervisord expands it
  const tv: PercentVars = { ...vars, numprocs: settings.numprocs, process_num: settings.numprocsStart };
  const mark = settings.numprocs > 1 ? markProcessNum : (text: string) => ({ text, padded: false });
  const startTimeUsed: string[] = [];
  const envMarked = mark(envRaw);
  const templateEnv = envMarked.text
    ? splitEnvironment(expandPercent(envMarked.text, tv), r.where("environment"))
    : new Map<string, string>();
  for (const [k, v] of templateEnv) tv[`ENV_${k}`] = v;
  const own = new Set(templateEnv.keys());
  const startTime = freeze ? new Set<string>() : new Set([...osEnv].filter((n) => !own.has(n) && !global.has(n)));
  const cmdMarked = mark(command);
  const argvTemplate = splitCommand(
    expandPercent(markEnv(cmdMarked.text, startTime, startTimeUsed), tv),
    r.where("command"),
  );
  if (
    startTimeUsed.length === 0 &&
    osEnv.size &&
    [...command.matchAll(/%\(ENV_(\w+)\)s/g)].some((m) => osEnv.has(m[1]))
  )
    noteFrozen("command");
  else if (freeze) noteFrozen("command");
  return {
    section,
    name,
    group: group ?? name,
    settings,
    processes,
    template: { argv: argvTemplate, env: new Map([...global, ...templateEnv]) },
    paddedProcessNum: cmdMarked.padded || envMarked.padded,
    frozen,
    startTime: [...new Set(startTimeUsed)],
  };
}
