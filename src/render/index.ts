/**
 * Every file `generate` writes under units/, rendered from the model. Pure: model in, files out
 * (honcho's export/base.py shape); ../write/ holds every write.
 */
import { UsageError } from "../errors";
import type { Model, RenderedFile } from "../model/types";
import { renderEnvFile } from "./supervisord/envfile-exec";
import { renderFirewall } from "./edge/firewall";
import { renderNginx } from "./edge/nginx";
import { renderPortArtifacts } from "./ports/artifacts";
import { renderProgram, renderSupervisord, renderSupervisordConf } from "./supervisord/programs";
import { renderServiceUnit, renderSystemd, renderTarget } from "./systemd/units";

/** Every value the generators refuse, found in one run (e.g. three bad directories: three refusals). Exit 2. */
export class RenderRefusals extends UsageError {
  constructor(readonly refusals: UsageError[]) {
    super(
      refusals.length === 1
        ? refusals[0].message
        : `${refusals.length} values cannot be generated:\n${refusals.map((r) => `  - ${r.message}${r.hint ? `\n    fix: ${r.hint}` : ""}`).join("\n")}`,
      refusals.length === 1 ? refusals[0].hint : undefined,
    );
  }
}

/**
 * units/supervisord.conf, units/supervisor/*.conf, units/systemd/*, units/ports.{json,env}, units/port_config.py,
 * units/PORTS.md; units/nginx/* when the manifest has a proxy, units/firewall.nft when it declares exposure or a proxy.
 * @throws RenderRefusals (a UsageError, exit 2) with every value a target cannot represent, not just the first.
 */
export function renderAll(model: Model): RenderedFile[] {
  try {
    return [
      ...renderSupervisord(model),
      ...renderSystemd(model),
      ...renderPortArtifacts(model),
      ...renderNginx(model),
      ...renderFirewall(model),
    ].sort((a, b) => a.path.localeCompare(b.path));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new RenderRefusals(collectRefusals(model, e));
  }
}

/** Renders each piece alone to find every refusal; `first` (the one already found) is always among them. */
function collectRefusals(model: Model, first: UsageError): UsageError[] {
  const found = new Map<string, UsageError>([[first.message, first]]);
  const attempt = (body: () => unknown) => {
    try {
      body();
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      if (!found.has(e.message)) found.set(e.message, e);
    }
  };
  attempt(() => renderSupervisordConf(model));
  for (const s of model.services.filter((x) => x.enabled)) {
    attempt(() => renderProgram(model, s));
    attempt(() => renderEnvFile(model, s));
    attempt(() => renderServiceUnit(model, s));
  }
  attempt(() => renderTarget(model));
  attempt(() => renderPortArtifacts(model));
  attempt(() => renderNginx(model));
  attempt(() => renderFirewall(model));
  return [...found.values()];
}

/**
 * Checks that `generate` could render `model` (the lookups `port`, `url`, `env` answer only for manifests
 * generate accepts). @throws RenderRefusals as {@link renderAll}.
 */
export function checkRenderable(model: Model): void {
  renderAll(model);
}
