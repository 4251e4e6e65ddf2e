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
