/**
 * One program read from supervisord (./program.ts) → one manifest v1.1 service: the port found in the
 * command becomes `{port}` (instances: the base port), `%(process_num)` becomes `{instance}`, start-time
 * `%(ENV_X)s` run through `/bin/sh -c`, every setting with supervisord's meaning (autorestart →
 * restart, exitcodes → exitCodes, redirect_stderr → stderr merge, …), and the report items that name
 * every difference from what supervisord ran.
 */
import { UsageError } from "../../errors";
import type { ImportResult, LegacyPorts } from "../import-legacy";
import { ENV_KEY, STOP_SIGNALS, type ServiceEntry } from "../schema";
import { planSecrets } from "../secrets";
import { findPort } from "./ports";
import { MARK, type ProgramRead } from "./program";
import type { ImportReport, ProcessMapping } from "./report";

/** Variables orchestrate gives every program itself, so an import drops them from env. */
const PROVIDED = ["PORT", "HOST", "SERVICE_NAME", "BIND_ADDRESS"];
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
const shellQuote = (s: string) => (s === "" ? "''" : SAFE_WORD.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A template word as a POSIX shell word: literal parts quoted, start-time variables as ${X}. */
function shellWord(word: string): string {
  const whole = /^\u0002(\w+)\u0002$/.exec(word);
  if (whole) return `\${${whole[1]}}`;
  return word
    .split(/(\u0002\w+\u0002)/)
    .filter((p) => p !== "")
    .map((p) => (/^\u0002\w+\u0002$/.test(p) ? `"\${${p.slice(1, -1)}}"` : shellQuote(p)))
    .join("");
}

const fill = (t: string, i: number, port: number | undefined, environ: Record<string, string | undefined>) =>
  t
    .split(MARK.instance)
    .join(String(i))
    .replace(/\{port\}/g, port === undefined ? "{port}" : String(port))
    .replace(MARK.envPattern, (_m, n: string) => environ[n] ?? "");

/** A service entry and the processes it stands for. */
export interface Built {
  entry: ServiceEntry;
  mapping: ProcessMapping[];
}

/** What building a service needs from the whole import. */
export interface BuildContext {
  legacy?: LegacyPorts;
  legacyFile: string;
  report: ImportReport;
  environ: Record<string, string | undefined>;
  anyPriority: boolean;
  daemonDir?: string;
  secretsDir: string;
  files: ImportResult["files"];
  groupOf: Map<string, string>;
}

/** One program → one service entry (instances for numprocs), with its report items. */
export function buildService(p: ProgramRead, name: string, c: BuildContext): Built {
  const { report } = c;
  const st = p.settings;
  const n = p.processes.length;
  const at = `[${p.section.name}]`;
  // port: the same argv word in every process, base + i
  const matches = p.processes.map((q) => findPort(q.argv));
  const m0 = matches[0];
  let port: number | undefined;
  const argv = [...p.template.argv];
  if (m0 && matches.every((m, i) => m && m.word === m0.word && m.port === m0.port + i)) {
    const word = p.processes[0].argv[m0.word];
    const [prefix, suffix] = [word.slice(0, m0.start), word.slice(m0.end)];
    const t = argv[m0.word];
    if (t !== undefined && t.startsWith(prefix) && t.endsWith(suffix) && t.length >= prefix.length + suffix.length) {
      argv[m0.word] = prefix + "{port}" + suffix;
      port = m0.port;
      report.add("note", `port found in the command (${m0.form}): replaced by {port}`, [name]);
    }
  } else if (m0)
    report.add(
      "warning",
      `${at}: a port is in the command (${m0.form} ${m0.port}) but not as base + instance in every process: kept as written, no port set`,
      [name],
    );
  const envPort = /^\d{1,5}$/.test(p.processes[0].env.get("PORT") ?? "")
    ? Number(p.processes[0].env.get("PORT"))
    : undefined;
  const known = c.legacy?.services.find((s) => s.name === name);
  if (port === undefined && envPort !== undefined && n === 1) port = envPort;
  if (port === undefined && known?.port !== undefined) port = known.port;
  if (port !== undefined && known?.port !== undefined && known.port !== port)
    report.add(
      "warning",
      `${name}: the command says port ${port} but ${c.legacyFile} says ${known.port}; kept ${port}, what the program is told`,
      [name],
    );
  if (envPort !== undefined && port !== undefined && envPort !== port)
    report.add(
      "changed",
      `environment PORT=${envPort} differs from the port ${port}: orchestrate gives PORT=${port}`,
      [name],
      ["environment"],
    );
  if (port === undefined)
    report.add("note", "no port found in the command or environment (a worker: no port, or set port by hand)", [name]);

  // command: placeholders, then start-time variables through /bin/sh -c
  let command = argv.map((w) => w.split(MARK.instance).join("{instance}"));
  if (p.startTime.length) {
    command = [
      "/bin/sh",
      "-c",
      "exec " + argv.map((w) => shellWord(w.split(MARK.instance).join("{instance}"))).join(" "),
    ];
    report.add(
      "changed",
      `the command runs through /bin/sh -c so that ${p.startTime.map((v) => `%(ENV_${v})s`).join(", ")} is read when the program starts, as supervisord did (--freeze-env writes today's value instead)`,
      [name],
      ["argv"],
    );
  }
  if (command.some((t) => /\{(host|name)\}/.test(t)) || p.processes[0].argv.some((t) => /\{(port|instance)\}/.test(t)))
    report.add(
      "warning",
      `${name}: its command contains {port}, {instance}, {host} or {name} literally; orchestrate will replace them`,
      [name],
    );
  const realized = p.processes.map((_, i) =>
    argv.map((w) => fill(w, i, port === undefined ? undefined : port + i, c.environ)),
  );
  if (!p.startTime.length && realized.some((r, i) => JSON.stringify(r) !== JSON.stringify(p.processes[i].argv)))
    report.add(
      "changed",
      p.paddedProcessNum
        ? "%(process_num) was formatted with a width (e.g. %(process_num)02d); {instance} is not padded"
        : st.numprocsStart
          ? `numprocs_start=${st.numprocsStart}: {instance} counts from 0`
          : "the command of some instances differs from what supervisord ran",
      [name],
      ["argv"],
    );

  // environment: [supervisord] environment= merged under the program's; PORT/HOST/SERVICE_NAME are orchestrate's
  const env = new Map([...p.template.env].map(([k, v]) => [k, v.split(MARK.instance).join("{instance}")]));
  for (const key of PROVIDED)
    if (env.has(key)) {
      if (key !== "PORT" || env.get(key) !== String(port))
        report.add(
          "changed",
          `environment ${key}= is set by orchestrate itself${key === "HOST" ? " (the manifest's host)" : ""}: ${key}=${JSON.stringify(env.get(key))} dropped`,
          [name],
          ["environment"],
        );
      env.delete(key);
    }
  for (const key of env.keys())
    if (!ENV_KEY.test(key))
      throw new UsageError(
        `${p.section.file}: ${at} environment=: ${JSON.stringify(key)} is not a valid environment variable name for the manifest`,
        "rename it ([A-Za-z_][A-Za-z0-9_]*)",
      );
  report.add(
    "changed",
    "every program also receives PORT and BIND_ADDRESS (when it has a port), HOST and SERVICE_NAME",
    [name],
  );
  const plan = planSecrets(name, env, c.secretsDir, p.section.file);
  if (plan.file) {
    c.files.push(plan.file);
    report.add(
      "changed",
      `secrets moved out of environment= into ${c.secretsDir}/NAME.env (mode 0600, envFile; the program runs through units/bin/envfile-exec): ${plan.moved.map((x) => `${x.name} (${x.reason})`).join(", ")}`,
      [name],
      ["argv", "environment"],
    );
  }

  // directory: supervisord's, else [supervisord] directory= when it daemonizes, else its start folder
  const directory = p.settings.directory ?? c.daemonDir;
  if (directory === undefined)
    report.add(
      "changed",
      "no directory=: it runs in the manifest's folder (supervisord ran it in the folder supervisord was started from)",
      [name],
      ["directory"],
    );
  else if (!directory.startsWith("/"))
    report.add(
      "changed",
      `directory=${directory} was relative to supervisord's start folder; in the manifest it is relative to the manifest's folder`,
      [name],
      ["directory"],
    );

  // settings
  const entry: ServiceEntry = {
    ...(port !== undefined && { group: known?.group ?? "default", port }),
    ...(n > 1 && { instances: n }),
    command,
    ...(directory !== undefined && { directory }),
    ...(Object.keys(plan.env).length && { env: plan.env }),
    ...(plan.file && { envFile: plan.file.path }),
    ...(known?.description !== undefined && { description: known.description }),
  };
  // a [group:] member's group is reported by ./groups.ts (manifest processGroups)
  if (!c.groupOf.has(p.section.name) && n > 1)
    report.add(
      "changed",
      "supervisord's group of numprocs processes becomes one service with instances",
      [name],
      ["group"],
    );
  const tech = /^python[0-9.]*$|^uvicorn$|^gunicorn$|^daphne$|^celery$/.test(
    p.processes[0].argv[0]?.split("/").pop() ?? "",
  )
    ? "python"
    : /^(node|nodejs|npm|npx|tsx|bun|deno)$/.test(p.processes[0].argv[0]?.split("/").pop() ?? "")
      ? "node"
      : undefined;
  if (tech) entry.technology = tech;
  if (st.user !== undefined) entry.user = st.user;
  if (st.startsecs !== 2) {
    if (st.startsecs <= 3600) entry.startSecs = st.startsecs;
    else
      report.add(
        "not carried",
        `startsecs=${st.startsecs} (the manifest's startSecs is at most 3600)`,
        [name],
        ["startsecs"],
      );
  }
  if (st.startretries !== 3) {
    if (st.startretries <= 100) entry.startRetries = st.startretries;
    else
      report.add(
        "not carried",
        `startretries=${st.startretries} (the manifest's startRetries is at most 100; 3 is used)`,
        [name],
        ["startretries"],
      );
  }
  if (st.stopwaitsecs !== 10) {
    if (st.stopwaitsecs > 0 && st.stopwaitsecs <= 86400) entry.stopTimeout = st.stopwaitsecs;
    else
      report.add(
        "not carried",
        `stopwaitsecs=${st.stopwaitsecs} (the manifest's stopTimeout is 1-86400 s; 10 is used)`,
        [name],
        ["stopwaitsecs"],
      );
  }
  if (st.stopsignal !== "TERM") {
    if ((STOP_SIGNALS as readonly string[]).includes(st.stopsignal))
      entry.stopSignal = st.stopsignal as ServiceEntry["stopSignal"];
    else
      report.add(
        "not carried",
        `stopsignal=${st.stopsignal} (the manifest's stopSignal is one of ${STOP_SIGNALS.join(", ")}; TERM is used)`,
        [name],
        ["stopsignal"],
      );
  }
  if (!st.stopasgroup || !st.killasgroup)
    report.add(
      "changed",
      "stopasgroup and killasgroup become true, so that no child outlives its program",
      [name],
      ["stopasgroup", "killasgroup"],
    );
  if (!st.autostart) entry.autostart = false;
  const oneshot = st.startsecs === 0 && st.autorestart === "false" && port === undefined;
  if (oneshot) {
    entry.type = "oneshot";
    report.add(
      "note",
      'startsecs=0 with autorestart=false and no port: imported as type "oneshot" (it is expected to run once and exit); set type "service" if it keeps running',
      [name],
    );
  }
  if (st.autorestart === "unexpected") entry.restart = "on-failure";
  else if (st.autorestart === "false") entry.restart = "never";
  if (st.exitcodes.join(",") !== "0") entry.exitCodes = st.exitcodes;
  if (st.redirectStderr) entry.stderr = "merge";
  if (c.anyPriority) entry.priority = st.priority;
  if (st.umask !== undefined)
    report.add(
      "not carried",
      `umask=${st.umask} (a manifest has no umask; the program gets supervisord's)`,
      [name],
      ["umask"],
    );
  logReport(p, name, report);
  for (const [key, names] of p.frozen)
    report.add(
      "frozen",
      `${key}= uses ${names.map((v) => `%(ENV_${v})s`).join(", ")}: imported with the value it has now`,
      [name],
    );
  if (n > 1 || p.processes[0].name !== name)
    report.add(
      "changed",
      n > 1 ? "process names become NAME@I (instance I counts from 0)" : "the process name becomes the service name",
      [name],
      ["name"],
    );

  const mapping = p.processes.map((q, i) => ({
    group: p.group,
    process: q.name,
    service: name,
    ...(n > 1 && { instance: i }),
  }));
  return { entry, mapping };
}

function logReport(p: ProgramRead, name: string, report: ImportReport): void {
  report.add(
    "changed",
    "logs go to logs/NAME.out.log and logs/NAME.err.log, rotated as the manifest's logs says",
    [name],
    ["stdout_logfile", "stderr_logfile"],
  );
  const st = p.settings;
  for (const [key, value, syslog] of [
    ["stdout", st.stdoutLogfile, st.stdoutSyslog],
    ["stderr", st.stderrLogfile, st.stderrSyslog],
  ] as const) {
    if (syslog || /^syslog$/i.test(value ?? ""))
      report.add(
        "warning",
        `[${p.section.name}] ${key} went to syslog; orchestrate writes logs/${name}.${key === "stdout" ? "out" : "err"}.log: read it with orchestrate logs ${name}, or forward that file to syslog`,
        [name],
      );
    else if (value && /^\/dev\/(stdout|stderr|fd\/\d+)$/.test(value.trim()))
      report.add(
        "warning",
        `[${p.section.name}] ${key}_logfile=${value.trim()}: supervisord wrote it to its own output (a container's log); orchestrate writes logs/${name}.${key === "stdout" ? "out" : "err"}.log instead: read it with orchestrate logs ${name}`,
        [name],
      );
  }
}
