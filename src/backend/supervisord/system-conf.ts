/**
 * Which supervisord reads an include folder: the supervisord.conf whose `[include] files=` names files of
 * that folder, and the socket supervisorctl would use for it. `install --supervisor-conf-dir DIR` without
 * `--server-url` asks this to tell the machine's supervisord about the programs it installed.
 *
 * Candidates, in order: `DIR/../supervisord.conf` (Debian's /etc/supervisor/conf.d → /etc/supervisor/
 * supervisord.conf), supervisord's own default locations (supervisord docs, "Configuration File":
 * /etc/supervisord.conf, /etc/supervisor/supervisord.conf), and the `-c FILE` of every running supervisord
 * (/proc/PID/cmdline, relative to /proc/PID/cwd). Each is read as supervisord reads it
 * (src/manifest/import/files.ts readConfigFiles: `%(here)s`, `%(ENV_X)s`, globs relative to the main file).
 * Its socket: `[supervisorctl] serverurl=` when it is `unix://…`, else `unix://` + `[unix_http_server] file=`
 * (supervisord docs, "[supervisorctl] Section Settings" and "[unix_http_server] Section Settings").
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { expandPercent, type PercentVars } from "../../manifest/ini-reader";
import { readConfigFiles, type ConfigFiles } from "../../manifest/import/files";

/** A supervisord configuration that reads the folder, and the `unix://` URL of its socket. */
export interface ConfReading {
  /** the main supervisord.conf (absolute) */
  conf: string;
  /** `unix:///…`; undefined when the configuration has no unix socket (an inet-only server) */
  serverUrl?: string;
}

/** supervisord's default configuration files (supervisord docs, "Configuration File"). */
export const DEFAULT_SUPERVISORD_CONFS = ["/etc/supervisor/supervisord.conf", "/etc/supervisord.conf"];

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** The `-c FILE` / `--configuration FILE` of each running supervisord (absolute paths), from /proc. */
export function runningSupervisordConfs(proc = "/proc"): string[] {
  const out: string[] = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(join(proc, pid, "cmdline"), "utf8").split("\0");
      if (!argv.slice(0, 2).some((a) => /(^|\/)supervisord$/.test(a))) continue;
      let file: string | undefined;
      for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "-c" || argv[i] === "--configuration") file = argv[i + 1];
        else if (argv[i].startsWith("--configuration=")) file = argv[i].slice("--configuration=".length);
        else if (/^-c./.test(argv[i])) file = argv[i].slice(2);
      }
      if (file) out.push(isAbsolute(file) ? file : resolve(readlinkSync(join(proc, pid, "cwd")), file));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Where {@link confsReading} looks for `dir` when not told: see the module header. */
export function candidateConfs(dir: string): string[] {
  return [join(dir, "..", "supervisord.conf"), ...DEFAULT_SUPERVISORD_CONFS, ...runningSupervisordConfs()];
}

/** The socket URL supervisorctl uses for the configuration `read`, or undefined when it names no unix socket. */
function socketUrlOf(read: ConfigFiles, vars: PercentVars): string | undefined {
  const value = (section: string, key: string) => {
    const e = read.sections.find((s) => s.name === section)?.entries.get(key);
    if (!e) return undefined;
    try {
      return expandPercent(e.value, vars);
    } catch {
      return undefined;
    }
  };
  const url = value("supervisorctl", "serverurl");
  if (url?.startsWith("unix:///")) return url;
  const file = value("unix_http_server", "file");
  return file && isAbsolute(file) ? `unix://${file}` : undefined;
}

/**
 * The supervisord configurations among `candidates` (missing ones skipped, each real file once) whose
 * `[include] files=` reads a file in `dir` (compared by real path, so a symlinked folder counts).
 * `dir` must hold at least one file for a match to be seen. Never throws.
 */
export function confsReading(
  dir: string,
  candidates: string[] = candidateConfs(dir),
  env: NodeJS.ProcessEnv = process.env,
): ConfReading[] {
  const target = real(dir);
  if (!target) return [];
  const seen = new Set<string>();
  const found: ConfReading[] = [];
  for (const candidate of candidates) {
    const conf = real(candidate);
    if (!conf || seen.has(conf)) continue;
    seen.add(conf);
    try {
      const vars: PercentVars = { here: dirname(conf), host_node_name: hostname() };
      for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[`ENV_${k}`] = v;
      const read = readConfigFiles(conf, vars);
      if (!read.files.slice(1).some((f) => real(dirname(f)) === target)) continue;
      found.push({ conf, serverUrl: socketUrlOf(read, vars) });
    } catch {
      /* unreadable: not a candidate */
    }
  }
  return found;
}
