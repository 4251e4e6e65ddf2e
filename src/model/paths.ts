/** Where orchestrate keeps what it owns, relative to the folder of manifest.json (README "What gets generated"). */
import { dirname, join } from "node:path";
import type { ProjectPaths } from "./types";

/** Paths for the project whose manifest is at `manifestPath` (absolute). */
export function projectPaths(manifestPath: string): ProjectPaths {
  const root = dirname(manifestPath);
  const units = join(root, "units");
  const run = join(root, "run");
  const logs = join(root, "logs");
  return {
    root,
    manifest: manifestPath,
    units,
    logs,
    run,
    supervisordConf: join(units, "supervisord.conf"),
    supervisorDir: join(units, "supervisor"),
    systemdDir: join(units, "systemd"),
    socket: join(run, "supervisord.sock"),
    pidfile: join(run, "supervisord.pid"),
    supervisordLog: join(logs, "supervisord.log"),
  };
}

/**
 * Where a systemd unit of `program` (NAME or NAME@I) records its main process's starts and exits:
 * `run/exits/PROGRAM.started` (ms since epoch of the last start) and `run/exits/PROGRAM.log` (one line per
 * exit). systemd keeps only the current process's ExecMain* properties, so the exit an automatic restart
 * followed is otherwise lost (src/render/systemd/units.ts writes the hooks, src/backend/systemd/exit-record.ts
 * reads them).
 */
export function exitRecordFiles(run: string, program: string): { dir: string; started: string; exits: string } {
  const dir = join(run, "exits");
  return { dir, started: join(dir, `${program}.started`), exits: join(dir, `${program}.log`) };
}
