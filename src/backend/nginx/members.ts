/**
 * Which instances of the routed services receive traffic: the upstreams re-rendered with every instance outside
 * the ready set marked `down`, checked and swapped in, then a graceful reload that returns once no old worker
 * accepts new connections (./control.ts). A rollout (src/fleet/rollout.ts) takes one instance out with it and
 * puts it back the same way.
 */
import { instancePorts } from "../../model/edge";
import type { Model } from "../../model/types";
import { routedServices } from "../../render/nginx-service";
import { applyNginx, nginxPid } from "./control";

/** Every instance port of every routed service: the ready set when nothing is out. */
export function routedPorts(model: Model): Set<number> {
  return new Set(routedServices(model.services).flatMap((s) => instancePorts(s)));
}

/** Whether the private nginx runs, so a change of upstream members has someone to reach. */
export function proxyRunning(model: Model): boolean {
  return model.proxy !== undefined && nginxPid(model) !== undefined;
}

/**
 * Sets the upstream members: every routed instance except the ports in `out` receives traffic. Renders and
 * checks units/nginx/, swaps in what changed and reloads the running nginx gracefully (nothing when no file
 * changed); never starts nginx.
 * @throws NginxRefusedError / OperationError (exit 1) when nginx refuses or does not confirm the reload.
 */
export async function setUpstreamMembers(model: Model, out: ReadonlySet<number>): Promise<void> {
  const ready = new Set([...routedPorts(model)].filter((p) => !out.has(p)));
  await applyNginx(model, { readyPorts: ready, start: false });
}
