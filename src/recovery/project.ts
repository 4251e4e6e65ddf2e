/**
 * Which manifest recover works from: the current manifest.json when it is valid, else the last good
 * manifest recorded under run/ (src/history/last-good.ts) — and both, when both exist, to recognise
 * leftovers (processes started from the last good units still carry its commands).
 */
import { ManifestError, UsageError, type Problem } from "../errors";
import { loadLastGood, lastGoodPath, type LastGood } from "../history/last-good";
import { loadProject, projectFromSource, type LoadedProject } from "../manifest";
import { manifestPath, parseManifestText } from "../manifest/load";
import { projectPaths } from "../model/paths";
import type { Model, ProjectPaths } from "../model/types";

/** The manifests recover can use. `model` is the one it runs: current when valid, else last good. */
export interface RecoverProject {
  path: string;
  paths: ProjectPaths;
  /** the current manifest, when it loads and is valid */
  current?: LoadedProject;
  /** why the current manifest cannot be used (its problems, or a missing file) */
  invalid?: { message: string; problems: Problem[] };
  lastGood?: LastGood;
  /** the last good manifest, loaded (undefined when none was recorded or it no longer loads) */
  fallback?: LoadedProject;
  /** current.model ?? fallback.model */
  model?: Model;
  /** every model known (current, then last good): their commands identify leftovers */
  models: Model[];
}

/** Loads the current manifest and the last good one; never throws for an invalid or missing manifest. */
export function loadRecoverProject(explicitPath?: string): RecoverProject {
  const path = manifestPath(explicitPath);
  const paths = projectPaths(path);
  const project: RecoverProject = { path, paths, models: [] };
  try {
    project.current = loadProject(path);
  } catch (err) {
    if (err instanceof ManifestError) project.invalid = { message: err.message, problems: err.problems };
    else if (err instanceof UsageError) project.invalid = { message: err.message, problems: [] };
    else throw err;
  }
  project.lastGood = loadLastGood(paths);
  if (project.lastGood) {
    try {
      const text = project.lastGood.manifestText;
      project.fallback = projectFromSource({
        path,
        text,
        raw: parseManifestText(text, `${lastGoodPath(paths)} (manifestText)`),
      });
    } catch {
      /* a last good manifest that no longer validates (the rules changed): unusable */
    }
  }
  project.model = project.current?.model ?? project.fallback?.model;
  project.models = [project.current?.model, project.fallback?.model].filter((m): m is Model => m !== undefined);
  return project;
}
