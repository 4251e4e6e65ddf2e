/**
 * The four port artifacts of `units/` in one call, for `generate`: ports.json, ports.env,
 * port_config.py and PORTS.md. Pure: model in, files out.
 */
import type { Model, RenderedFile } from "../../model/types";
import { renderPortConfigPy } from "./port-config-py";
import { renderPortsEnv } from "./ports-env";
import { renderPortsJson } from "./ports-json";
import { renderPortsMd } from "./ports-md";

/**
 * Renders `units/ports.json`, `units/ports.env`, `units/port_config.py` and `units/PORTS.md`, in that
 * order (paths relative to the project root, mode 0644). Throws UsageError when a value cannot be
 * represented (see {@link renderPortsEnv}); nothing is written by this module.
 */
export function renderPortArtifacts(model: Model): RenderedFile[] {
  return [renderPortsJson(model), renderPortsEnv(model), renderPortConfigPy(model), renderPortsMd(model)];
}
