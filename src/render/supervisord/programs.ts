/**
 * The supervisord renderer: the model in, files out (never written here). `units/supervisord.conf` is a
 * private supervisord (unix socket and pidfile under run/, logs under logs/) that includes one
 * `units/supervisor/PROGRAM.conf` per instance of each enabled service; each program file also works on its
 * own from /etc/supervisor/conf.d (absolute paths only, no `%(here)s`).
 *
 * One program per instance (NAME@I), not `numprocs` and not a `[group:]`: supervisord's `update` restarts every
 * process of a program whose section changed, and every member of a group it adds to (supervisord docs,
 * supervisorctl `update`), so scaling a service from 2 to 3 instances would restart the 2 that run. With a
 * program each, adding NAME@2 leaves NAME@0 and NAME@1 with their PIDs, and every process gets its own PORT
 * and argv without `%(process_num)d` expansion.
 *
 * Every value goes through src/render/supervisord/escape.ts; keys and defaults follow docs/facts.md "supervisord: a program that binds a port", keys for a
 * program that binds a port". Output is deterministic: no timestamps, manifest order.
 */
import { basename, dirname, relative } from "node:path";
import { UsageError } from "../../errors";
import { launchSpec } from "./launch";
import type { Model, RenderedFile, Service } from "../../model/types";
import { renderEnvFile, renderEnvfileExec } from "./envfile-exec";
import { commandLine, environmentValue, generatedHeader, logfileValue, pathValue, plainValue } from "./escape";

/** Longest unix socket path, in bytes: `sun_path` is 108 bytes including the final NUL (docs/facts.md). */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Program names supervisord and supervisorctl accept safely: the README service names (not `all`), with
 * `@I` for an instance of a service that has the `instances` key (`:` is supervisorctl's group separator).
 */
const PROGRAM_NAME = /^[a-z0-9][a-z0-9_.-]*(?:@\d+)?$/;

/** supervisord `autorestart` for a manifest `restart` (supervisord docs, [program:x] `autorestart`). */
export const AUTORESTART = { always: "true", "on-failure": "unexpected", never: "false" } as const;

/** Characters `glob.glob` treats specially in the `[include]` pattern that supervisord builds. */
const GLOB_CHARS = /[*?[\]]/;

function header(model: Model): string {
  return generatedHeader(basename(model.paths.manifest));
}

function rel(model: Model, absolute: string): string {
  return relative(model.paths.root, absolute);
}

/** A whole number of seconds or a count, as supervisord's `integer()` reads it. */
function count(value: number, where: string): string {
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(
      `${where}: supervisord expects a whole number >= 0, found ${value}`,
      `set ${where} to a whole number`,
    );
  }
  return String(value);
}

function checkSocket(model: Model): void {
  const bytes = Buffer.byteLength(model.paths.socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new UsageError(
      `supervisord socket path ${model.paths.socket} is ${bytes} bytes; a unix socket path must be shorter than 108 bytes`,
      "move the project to a shorter folder (for example /srv/" + model.project + ")",
    );
  }
}

/**
 * `files=` of `[include]`: exactly the program files this model renders (supervisor/NAME.conf, relative
 * to the conf's folder, which supervisord joins and globs: supervisord docs, "[include] Section Settings";
 * options.py), one per continuation line (configparser joins them with newlines; supervisord splits the
 * value at whitespace). Never a `*.conf` glob: a file someone else drops into units/supervisor/ must not
 * be run by the private supervisord. So supervisord.conf changes whenever the set of programs changes;
 * `apply` (supervisord's reloadConfig) re-reads it with its includes. Undefined when there is no program.
 */
function includeFiles(model: Model): string | undefined {
  const folder = relative(dirname(model.paths.supervisordConf), model.paths.supervisorDir);
  if (GLOB_CHARS.test(model.paths.supervisorDir) || /\s/.test(folder)) {
    throw new UsageError(
      `${model.paths.supervisorDir}: supervisord's [include] splits files= at whitespace and globs the path, ` +
        "so a path containing * ? [ ] (or whitespace below units/) would not find the program files",
      "move the project to a folder whose path has none of * ? [ ]",
    );
  }
  const programs = model.services.filter((s) => s.enabled).flatMap((s) => s.instances.map((i) => i.program));
  if (!programs.length) return undefined;
  return programs.map((p) => plainValue(`${folder}/${p}.conf`, { field: "include.files" })).join("\n  ");
}

/**
 * `units/supervisord.conf`: the private supervisord of the project (docs/facts.md "supervisord: a program that binds a port"):
 * `[unix_http_server]` (socket, chmod 0700), `[supervisord]` (pidfile, logfile, childlogdir, identifier
 * `orchestrate-PROJECT`, daemonizes), `[rpcinterface:supervisor]`, `[supervisorctl]`, `[include]` of
 * exactly the generated `supervisor/PROGRAM.conf` files. No `[inet_http_server]`: nothing listens on TCP.
 * @throws UsageError when the socket path is 108 bytes or longer, or a path cannot be written (pathValue).
 */
export function renderSupervisordConf(model: Model): RenderedFile {
  checkSocket(model);
  const p = model.paths;
  const socket = pathValue(p.socket, { field: "paths.socket" });
  pathValue(p.supervisordConf, { field: "paths.supervisordConf" }); // shown in a comment: must not break the line
  const lines = [
    header(model),
    `; Private supervisord of project ${model.project}: supervisord -c ${p.supervisordConf}`,
    "",
    "[unix_http_server]",
    `file=${socket}`,
    "chmod=0700",
    "",
    "[supervisord]",
    `pidfile=${pathValue(p.pidfile, { field: "paths.pidfile" })}`,
    `logfile=${pathValue(p.supervisordLog, { field: "paths.supervisordLog" })}`,
    `logfile_maxbytes=${count(model.logs.maxBytes, "logs.maxBytes")}`,
    `logfile_backups=${count(model.logs.backups, "logs.backups")}`,
    `childlogdir=${pathValue(p.logs, { field: "paths.logs" })}`,
    `identifier=${plainValue(`orchestrate-${model.project}`, { field: "project" })}`,
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    `serverurl=unix://${socket}`,
  ];
  const include = includeFiles(model);
  if (include !== undefined)
    lines.push(
      "",
      "; exactly the generated programs (never a glob): see generate --check",
      "[include]",
      `files=${include}`,
    );
  return { path: rel(model, p.supervisordConf), content: lines.join("\n") + "\n", mode: 0o644 };
}

/** True when the program section needs `exitcodes=` (supervisord's default is 0, v1 never wrote it). */
function writesExitCodes(service: Service): boolean {
  return (
    service.type === "oneshot" ||
    service.restart !== "always" ||
    service.exitCodes.length !== 1 ||
    service.exitCodes[0] !== 0
  );
}

/**
 * `units/supervisor/PROGRAM.conf`: one `[program:PROGRAM]` for one instance of a service (default instance 0;
 * PROGRAM is NAME, or NAME@I when the manifest has `instances`), running {@link launchSpec}'s argv in the
 * service's directory with the instance's inline environment (its own PORT, HOST, SERVICE_NAME, then the
 * manifest's env with {instance}/{port} filled; every value quoted), start and stop settings,
 * stopasgroup/killasgroup (docs/facts.md: else a wrapper's child keeps the port), priority, logs with rotation from
 * `model.logs`, and `user=` when set. Keys from manifest v1.1 (supervisord docs, [program:x]):
 * `autostart` = the manifest's autostart; `autorestart` = true|unexpected|false for restart
 * always|on-failure|never; `exitcodes` = exitCodes (written when not the v1 default); a oneshot gets
 * `startsecs=0` (RUNNING at once, then EXITED with an expected or unexpected code); `stderr: "merge"` gives
 * `redirect_stderr=true` and no stderr_logfile. `stopwaitsecs` is `stopTimeout` rounded up (whole seconds).
 * @throws UsageError for a name or value supervisord cannot read back exactly.
 */
export function renderProgram(
  model: Model,
  service: Service,
  instance = service.instances[0],
  target: ProgramTarget = "private",
): RenderedFile {
  const name = instance.program;
  if (!PROGRAM_NAME.test(name) || name === "all") {
    throw new UsageError(
      `services.${service.name}: expected a name matching ${PROGRAM_NAME} other than "all", found ${JSON.stringify(name)}`,
      "rename the service",
    );
  }
  const spec = launchSpec(model, service, instance);
  const at = (field: string) => ({ service: service.name, field });
  const env = Object.entries(spec.env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new UsageError(
        `services.${service.name}.env: expected a variable name, found ${JSON.stringify(k)}`,
        "use letters, digits and _",
      );
    }
    return `${k}=${environmentValue(v, at(`env.${k}`))}`;
  });
  const logs = model.logs;
  const where = `services.${service.name}`;
  const startSecs = service.type === "oneshot" ? 0 : service.startSecs;
  const stderr =
    service.stderr === "merge"
      ? ["redirect_stderr=true"]
      : [
          `stderr_logfile=${logfileValue(instance.stderrLog, at("stderrLog"))}`,
          `stderr_logfile_maxbytes=${count(logs.maxBytes, "logs.maxBytes")}`,
          `stderr_logfile_backups=${count(logs.backups, "logs.backups")}`,
        ];
  const lines = [
    header(model),
    "",
    `[program:${name}]`,
    `command=${commandLine(spec.argv, name)}`,
    `directory=${pathValue(spec.cwd, at("directory"))}`,
    ...(env.length > 0 ? [`environment=${env.join(",")}`] : []),
    ...(service.user !== undefined ? [`user=${plainValue(service.user, at("user"))}`] : []),
    // the private supervisord starts nothing itself: orchestrate starts programs level by level, each level
    // ready before the next, and never the dependents of one that failed (README "Design notes")
    ...(target === "private"
      ? [`${PRIVATE_COMMENT} (the manifest's autostart: ${service.autostart})`, "autostart=false"]
      : [`autostart=${service.autostart}`]),
    `autorestart=${AUTORESTART[service.restart]}`,
    ...(writesExitCodes(service)
      ? [`exitcodes=${service.exitCodes.map((c) => count(c, `${where}.exitCodes`)).join(",")}`]
      : []),
    `startsecs=${count(startSecs, `${where}.startSecs`)}`,
    `startretries=${count(service.startRetries, `${where}.startRetries`)}`,
    `stopsignal=${service.stopSignal}`,
    `stopwaitsecs=${count(Math.ceil(service.stopTimeout), `${where}.stopTimeout`)}`,
    "stopasgroup=true",
    "killasgroup=true",
    `priority=${count(service.programPriority, `${where}.priority`)}`,
    `stdout_logfile=${logfileValue(instance.stdoutLog, at("stdoutLog"))}`,
    `stdout_logfile_maxbytes=${count(logs.maxBytes, "logs.maxBytes")}`,
    `stdout_logfile_backups=${count(logs.backups, "logs.backups")}`,
    ...stderr,
  ];
  return {
    path: rel(model, `${model.paths.supervisorDir}/${name}.conf`),
    content: lines.join("\n") + "\n",
    mode: 0o644,
  };
}

/**
 * Who reads a program file: "private" (units/supervisor/, the project's own supervisord: `autostart=false`,
 * orchestrate starts programs in dependency order) or "system" (installed into a system supervisord's
 * conf.d by `install --supervisor-conf-dir`: `autostart=` the manifest's value, since nothing else starts them).
 */
export type ProgramTarget = "private" | "system";

/**
 * The comment above `autostart=false` in a "private" program file. It carries the manifest's autostart, so
 * the file alone says what a "system" rendering of it is: a rollback or a rollout that puts files back in
 * units/ puts back their autostart with them, and nothing has to read the manifest again.
 */
const PRIVATE_COMMENT = "; started by orchestrate in dependency order";
const PRIVATE_AUTOSTART =
  /\n; started by orchestrate in dependency order \(the manifest's autostart: (true|false)\)\nautostart=false\n/;

/**
 * The "system" text of a "private" program file of units/supervisor/: the same text with `autostart=` the
 * manifest's value, read from the file's own comment — exactly what {@link renderProgram} renders with target
 * "system". The machine's supervisord (`--server-url`) is given the program files of units/ this way, so that
 * what a rollback or a rollout puts back in units/ is what it loads.
 * @throws Error when `text` is not a private program file (a bug, or a file from an orchestrate before the
 *   comment carried autostart: `orchestrate generate` rewrites it).
 */
export function systemProgramText(text: string): string {
  const match = PRIVATE_AUTOSTART.exec(text);
  if (!match)
    throw new Error(
      `not a generated private program file (no "autostart=false" after its comment naming the manifest's autostart): ${text.slice(0, 120)}`,
    );
  return text.replace(PRIVATE_AUTOSTART, `\nautostart=${match[1]}\n`);
}

/** Every program file of a service: one per instance, in index order (module header: why no `[group:]`). */
export function renderPrograms(model: Model, service: Service, target: ProgramTarget = "private"): RenderedFile[] {
  return service.instances.map((i) => renderProgram(model, service, i, target));
}

/** The program files for a system supervisord (`install --supervisor-conf-dir`): every enabled service. */
export function renderSystemPrograms(model: Model): RenderedFile[] {
  return model.services.filter((s) => s.enabled).flatMap((s) => renderPrograms(model, s, "system"));
}

/**
 * Every supervisord file of the project: the conf, one program per instance of each ENABLED service (a
 * disabled service gets none; its port stays reserved by validation), then `units/bin/envfile-exec` and `units/env/NAME.env` when
 * some enabled service needs them. Paths are relative to `model.paths.root`. `target` "system": the
 * programs as `install --supervisor-conf-dir` writes them (the manifest's autostart).
 * @throws UsageError (see {@link renderSupervisordConf} and {@link renderProgram}).
 */
export function renderSupervisord(model: Model, target: ProgramTarget = "private"): RenderedFile[] {
  const enabled = model.services.filter((s) => s.enabled);
  const files = [renderSupervisordConf(model), ...enabled.flatMap((s) => renderPrograms(model, s, target))];
  const envFiles = enabled
    .flatMap((s) => s.instances.map((i) => renderEnvFile(model, s, i)))
    .filter((f): f is RenderedFile => f !== undefined);
  if (enabled.some((s) => launchSpec(model, s).envFiles.length > 0)) files.push(renderEnvfileExec(model));
  return [...files, ...envFiles];
}
