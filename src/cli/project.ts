/**
 * The project a CLI command runs with. Loading validates the manifest (src/manifest/index.ts loadProject); a
 * manifest that passes and that the renderers accept (what `generate` refuses is not valid) is stamped
 * (./fast-path.ts rememberValid), so the next `port`, `status`, `verify`, `ports` or `check-ports` on the same
 * text takes the fast paths (dist/cli.cjs, dist/orchestrate-read.cjs) instead of validating again.
 */
import { loadProject, type LoadedProject } from "../manifest";
import { checkRenderable } from "../render";
import { manifestPath } from "../manifest/load";
import { isStamped, rememberValid, validatedText } from "./fast-path";

/** Projects {@link projectOf} found renderable (rendered now, or stamped: rendered when it was stamped). */
const renderable = new WeakSet<LoadedProject>();

/**
 * {@link loadProject} of `ctx.manifest`; stamps the text as validated when every file renders. A text stamped
 * already rendered when it was stamped (same text, same rules): it is neither rendered nor stamped again. A
 * manifest the renderers refuse is returned unstamped: the command meets that error where it generates, or
 * through {@link requireRenderable}.
 * @throws UsageError for a missing manifest, ManifestError (exit 2) for an invalid one, as loadProject does.
 */
export function projectOf(ctx: { manifest?: string }): LoadedProject {
  const project = loadProject(ctx.manifest);
  if (isStamped(project.source.path, project.source.text)) {
    renderable.add(project);
    return project;
  }
  try {
    checkRenderable(project.model);
  } catch {
    return project; // not renderable: no stamp
  }
  renderable.add(project);
  rememberValid(project.source);
  return project;
}

/**
 * For the lookups (`port`, `url`, `env`): what `generate` refuses is not valid, so no answer. Renders only a
 * project {@link projectOf} did not find renderable, so the render error is thrown where the lookup calls this.
 * @throws UsageError of the renderers (src/render/index.ts checkRenderable).
 */
export function requireRenderable(project: LoadedProject): void {
  if (!renderable.has(project)) checkRenderable(project.model);
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
