/**
 * The project a CLI command runs with. Loading validates the manifest (src/manifest/index.ts loadProject); a
 * manifest that passes and that the renderers accept (what `generate` refuses is not valid) is stamped
 * (./fast-path.ts rememberValid), so the next `port`, `status`, `verify`, `ports` or `check-ports` on the same
 * text takes the fast paths (dist/cli.cjs, dist/orchestrate-read.cjs) instead of validating again.
 */
import { loadProject, type LoadedProject } from "../manifest";
import { checkRenderable } from "../render";
import { manifestPath } from "../manifest/load";
import { rememberValid, validatedText } from "./fast-path";

/**
 * {@link loadProject} of `ctx.manifest`; stamps the text as validated when every file renders (a manifest
 * the renderers refuse is returned unstamped: the command meets that error where it generates).
 * @throws UsageError for a missing manifest, ManifestError (exit 2) for an invalid one, as loadProject does.
 */
export function projectOf(ctx: { manifest?: string }): LoadedProject {
  const project = loadProject(ctx.manifest);
  try {
    checkRenderable(project.model);
    rememberValid(project.source);
  } catch {
    /* not renderable: no stamp */
  }
  return project;
}

/**
 * After a command that did not fail on its manifest (exit ≠ 2): stamps the manifest's text when it is valid and
 * not stamped yet, so that `restart`, `add-service` and the other commands that load the manifest inside their
 * procedure also leave the fast paths ready. Best effort: a missing or invalid manifest is left unstamped.
 */
export function stampManifest(ctx: { manifest?: string }): void {
  try {
    if (validatedText(manifestPath(ctx.manifest)) === undefined) projectOf(ctx);
  } catch {
    /* no manifest, or an invalid one: nothing to stamp */
  }
}
