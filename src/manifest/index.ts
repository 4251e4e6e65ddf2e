/** Loading a manifest end to end: read → parse → validate → resolve. */
import { ManifestError, type Problem } from "../errors";
import { resolveModel } from "./resolve";
import type { Model } from "../model/types";
import { manifestPath, readManifestFile, type ManifestSource } from "./load";
import type { Manifest } from "./schema";
import { validateManifest } from "./validate";

/** A loaded, valid project: the source text, the typed manifest, its model and any warnings. */
export interface LoadedProject {
  source: ManifestSource;
  manifest: Manifest;
  model: Model;
  warnings: Problem[];
}

/**
 * Loads, validates and resolves a manifest.
 * @param path manifest file (default: $ORCHESTRATE_MANIFEST or ./manifest.json)
 * @throws UsageError when the file is missing; ManifestError (exit 2) with every problem when it is invalid.
 */
export function loadProject(path?: string): LoadedProject {
  const source = readManifestFile(manifestPath(path));
  return projectFromSource(source);
}

/** Validates and resolves an already-read manifest. @throws ManifestError with every problem. */
export function projectFromSource(source: ManifestSource): LoadedProject {
  const validation = validateManifest(source.raw);
  if (!validation.manifest) throw new ManifestError(validation.problems, source.path);
  return {
    source,
    manifest: validation.manifest,
    model: resolveModel(validation.manifest, source.path),
    warnings: validation.warnings,
  };
}
