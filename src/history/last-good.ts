/**
 * The last good state: the manifest text and the units/ files of the last change that verified.
 * A failed change and `recover` return to it. Kept as one JSON file written atomically, so it is
 * always whole.
 */
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProjectPaths, RenderedFile } from "../model/types";
import { writeFileAtomicSync } from "../write/atomic";
import { isUnitsPath } from "../write/plan";

/** Contents of run/last-good.json. */
export interface LastGood {
  /** ISO 8601 time it was recorded. */
  time: string;
  manifestText: string;
  /** Every generated file as rendered then (paths relative to the project root). */
  units: RenderedFile[];
}

/** Absolute path of run/last-good.json. */
export function lastGoodPath(paths: Pick<ProjectPaths, "run">): string {
  return join(paths.run, "last-good.json");
}

/** Records the state that just verified. */
export function saveLastGood(paths: Pick<ProjectPaths, "run">, manifestText: string, units: RenderedFile[]): void {
  const state: LastGood = { time: new Date().toISOString(), manifestText, units };
  writeFileAtomicSync(lastGoodPath(paths), JSON.stringify(state) + "\n", 0o600);
}

/**
 * The last good state, or undefined when none was recorded, the file is unreadable, `run/` is a symlink
 * (its last-good is not ours), or a unit path lies outside `units/` (recover writes them back: a tampered
 * file must not write elsewhere).
 */
export function loadLastGood(paths: Pick<ProjectPaths, "run">): LastGood | undefined {
  try {
    if (lstatSync(paths.run).isSymbolicLink()) return undefined;
    const state = JSON.parse(readFileSync(lastGoodPath(paths), "utf8")) as LastGood;
    if (typeof state.manifestText !== "string" || !Array.isArray(state.units)) return undefined;
    return state.units.every((u) => typeof u?.path === "string" && typeof u.content === "string" && isUnitsPath(u.path))
      ? state
      : undefined;
  } catch {
    return undefined;
  }
}
