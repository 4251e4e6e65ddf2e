/**
 * The machine's own supervisord (`--server-url`, after `install --supervisor-conf-dir DIR`): which programs
 * there are this project's, and the program files it is given. orchestrate never starts, reconfigures or
 * stops that supervisord itself: it installs this project's program files into the include folder it
 * recorded (./install-conf-dir.ts) and, like `supervisorctl update NAME…` (supervisord docs, "supervisorctl
 * Actions": `update <name> [...]`), adds, changes and removes only this project's process groups.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { OperationError } from "../../errors";
import type { ProjectPaths, RenderedFile } from "../../model/types";
import type { ProgramStatus } from "../types";
import { systemProgramText } from "../../render/supervisord/programs";
import { recordedConfDir, unloadedPrograms } from "./install-conf-dir";

/** The error for a machine's supervisord that does not answer: its socket, and how to start it. */
export function systemUnreachable(serverUrl: string, socketPath: string): OperationError {
  return new OperationError(
    `the supervisord at ${serverUrl} does not answer on its socket ${socketPath}; orchestrate does not start the machine's supervisord`,
    "start it (systemctl start supervisor) or check --server-url against its [unix_http_server] file=",
  );
}

/** The program names of units/supervisor/ (NAME for NAME.conf), sorted; none when the folder is missing. */
export function generatedPrograms(paths: Pick<ProjectPaths, "supervisorDir">): string[] {
  try {
    return readdirSync(paths.supervisorDir)
      .filter((f) => f.endsWith(".conf"))
      .map((f) => f.slice(0, -".conf".length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * This project's programs in the machine's supervisord: those of units/supervisor/ and those the last
 * install recorded (a program removed from the manifest is still ours until apply removes it), and those an
 * install removed from the folder that no update has removed from the machine's supervisord yet.
 */
export function systemPrograms(paths: ProjectPaths): Set<string> {
  return new Set([
    ...generatedPrograms(paths),
    ...(recordedConfDir({ paths })?.programs ?? []),
    ...unloadedPrograms({ paths }),
  ]);
}

/**
 * The include folder the programs go to: the one `install --supervisor-conf-dir` recorded last.
 * @throws OperationError naming `orchestrate install --supervisor-conf-dir DIR` when none is recorded or it is gone.
 */
export function systemConfDir(paths: ProjectPaths, serverUrl: string): { dir: string; programs: string[] } {
  const recorded = recordedConfDir({ paths });
  if (!recorded)
    throw new OperationError(
      `no include folder of the supervisord at ${serverUrl} is recorded in ${relative(paths.root, join(paths.run, "supervisor-installed.json"))}: orchestrate does not know where to put this project's programs`,
      "run `orchestrate install --supervisor-conf-dir DIR` once (DIR: the folder its supervisord.conf [include] files= reads, e.g. /etc/supervisor/conf.d)",
    );
  if (!existsSync(recorded.dir))
    throw new OperationError(
      `${recorded.dir}, where this project's programs were installed for the supervisord at ${serverUrl}, no longer exists`,
      "run `orchestrate install --supervisor-conf-dir DIR` with the folder its supervisord.conf [include] reads",
    );
  return recorded;
}

/**
 * The program files of units/supervisor/ as the machine's supervisord gets them: the same text with
 * `autostart=` the manifest's value (nothing else starts them when that supervisord starts), which each file's
 * comment carries (src/render/supervisord/programs.ts systemProgramText): after a rolled-back change, the
 * restored files bring back their own autostart.
 * @throws OperationError for a file there that is not a generated program file (run `orchestrate generate`).
 */
export function systemProgramFiles(paths: Pick<ProjectPaths, "root" | "supervisorDir">): RenderedFile[] {
  return generatedPrograms(paths).map((program) => {
    const file = join(paths.supervisorDir, `${program}.conf`);
    let content: string;
    try {
      content = systemProgramText(readFileSync(file, "utf8"));
    } catch (err) {
      throw new OperationError(
        `${relative(paths.root, file)} is not a program file as orchestrate generates it (${(err as Error).message.split(":")[0]})`,
        "run `orchestrate generate`, then the command again",
      );
    }
    return { path: relative(paths.root, file), content, mode: 0o644 };
  });
}

/** The programs of `ours` that `statuses` shows neither stopped nor unknown, sorted by name. */
export function runningPrograms(ours: Set<string>, statuses: ProgramStatus[]): string[] {
  const down = new Set(["STOPPED", "EXITED", "FATAL", "ABSENT"]);
  return statuses
    .filter((s) => ours.has(s.name) && !down.has(s.state))
    .map((s) => s.name)
    .sort();
}

/**
 * Stops `names` as supervisord's own shutdown orders them: highest priority first (supervisord docs,
 * "[program:x] Section Settings": `priority`), one priority after the other, the programs of one priority
 * together. `stop` must wait until the program has stopped.
 */
export async function stopByPriority(
  names: string[],
  priority: (name: string) => number,
  stop: (name: string) => Promise<void>,
): Promise<void> {
  for (const p of [...new Set(names.map(priority))].sort((a, b) => b - a))
    await Promise.all(names.filter((n) => priority(n) === p).map(stop));
}
