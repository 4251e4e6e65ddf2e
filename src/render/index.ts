/**
 * Every file `generate` writes under units/, rendered from the model. Pure: model in, files out
 * (honcho's export/base.py shape); ../write/ holds every write.
 */
import type { Model, RenderedFile } from "../model/types";
import { renderFirewall } from "./firewall";
import { renderNginx } from "./nginx";
import { renderPortArtifacts } from "./port-artifacts";
import { renderSupervisord } from "./supervisord";
import { renderSystemd } from "./systemd";

/** units/supervisord.conf, units/supervisor/*.conf, units/systemd/*, units/ports.{json,env}, units/port_config.py, units/PORTS.md; units/nginx/* and units/firewall.nft for the edge. */
export function renderAll(model: Model): RenderedFile[] {
  return [
    ...renderSupervisord(model),
    ...renderSystemd(model),
    ...renderPortArtifacts(model),
    ...renderNginx(model), // units/nginx/ when the manifest has a proxy
    ...renderFirewall(model), // units/firewall.nft when it declares exposure or a proxy
  ].sort((a, b) => a.path.localeCompare(b.path));
}
