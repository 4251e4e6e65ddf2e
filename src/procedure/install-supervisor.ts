/**
 * Installing the generated programs into a system supervisord's include folder (e.g.
 * /etc/supervisor/conf.d): copy units/supervisor/NAME.conf, and remove only files this command installed
 * earlier and no longer renders (recorded in run/supervisor-installed.json; never by name pattern).
 */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Model, RenderedFile } from "../model/types";
import { removeFile, writeFileAtomicSync } from "../write/atomic";

/** What {@link installSupervisorPrograms} did; every entry is an absolute file path in `dir`. */
export interface SupervisorInstall {
  dir: string;
  installed: string[];
  unchanged: string[];
  /** files this command installed earlier that are no longer rendered */
  removed: string[];
}

function recordPath(model: Model): string {
  return join(model.paths.run, "supervisor-installed.json");
}

function readRecord(model: Model): Record<string, string[]> {
  try {
    return JSON.parse(readFileSync(recordPath(model), "utf8")) as Record<string, string[]>;
  } catch {
    return {};
  }
}

/** Copies the program files of `rendered` into `dir`; returns what changed. */
export function installSupervisorPrograms(model: Model, rendered: RenderedFile[], dir: string): SupervisorInstall {
  const programs = rendered.filter((f) => f.path.startsWith("units/supervisor/") && f.path.endsWith(".conf"));
  const result: SupervisorInstall = { dir, installed: [], unchanged: [], removed: [] };
  for (const f of programs) {
    const target = join(dir, basename(f.path));
    let current: string | undefined;
    try {
      current = readFileSync(target, "utf8");
    } catch {
      current = undefined;
    }
    if (current === f.content) result.unchanged.push(target);
    else {
      writeFileAtomicSync(target, f.content, 0o644);
      result.installed.push(target);
    }
  }
  const record = readRecord(model);
  const wanted = new Set(programs.map((f) => basename(f.path)));
  for (const name of record[dir] ?? []) {
    if (!wanted.has(name)) {
      removeFile(join(dir, name));
      result.removed.push(join(dir, name));
    }
  }
  record[dir] = [...wanted].sort();
  writeFileAtomicSync(recordPath(model), JSON.stringify(record, null, 2) + "\n");
  return result;
}
