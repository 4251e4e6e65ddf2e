/**
 * The private nginx as a step of the procedures: brought up after the services are ready with only the ready
 * instances in each upstream (membership follows orchestrate's readiness, not "process started"), reloaded
 * safely (every block checked, then swapped in: src/backend/nginx/control.ts), stopped with the fleet.
 *
 * Membership is kept in run/nginx/members.json (`{"SERVICE": [PORT, …]}`, the ports of the instances that
 * receive traffic); a routed service absent from it has every instance in its upstream. Every re-render reads it,
 * so a reload (a certificate renewal's deploy hook) never puts back an instance a rollout took out.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { applyNginx, nginxPid, stopNginx, type NginxApply } from "../backend/nginx/control";
import { UsageError } from "../errors";
import { loadProject } from "../manifest";
import { formatListen, instancePorts, nginxPaths } from "../model/edge";
import { routeUrls, type RouteUrl } from "../model/surface";
import type { Model } from "../model/types";
import { routedServices } from "../render/edge/nginx-service";
import { ensureDir, writeFileAtomicSync } from "../write/atomic";
import type { Readiness } from "./readiness";

/** Ports of the instances in each routed service's upstream, by service name. */
export type UpstreamMembers = Record<string, number[]>;

function membersPath(model: Pick<Model, "paths">): string {
  return join(nginxPaths(model.paths).prefix, "members.json");
}

/** The recorded membership; every instance of a routed service that is not recorded. */
export function upstreamMembers(model: Model): UpstreamMembers {
  let recorded: UpstreamMembers = {};
  try {
    recorded = JSON.parse(readFileSync(membersPath(model), "utf8")) as UpstreamMembers;
  } catch {
    /* none recorded yet: every instance */
  }
  const out: UpstreamMembers = {};
  for (const s of routedServices(model.services)) {
    const ports = instancePorts(s);
    const kept = Array.isArray(recorded[s.name]) ? recorded[s.name].filter((p) => ports.includes(p)) : ports;
    out[s.name] = kept;
  }
  return out;
}

function saveMembers(model: Model, members: UpstreamMembers): void {
  ensureDir(nginxPaths(model.paths).prefix, 0o700);
  writeFileAtomicSync(membersPath(model), JSON.stringify(members, null, 2) + "\n", 0o600);
}

/** `reload` false: the running nginx is reloaded only when a file changed (a rollout step always changes one). */
async function render(model: Model, members: UpstreamMembers, start: boolean, reload = true): Promise<NginxApply> {
  const readyPorts = new Set(Object.values(members).flat());
  // checked before anything is written; only then is the membership recorded
  const applied = await applyNginx(model, { readyPorts, start, reload });
  saveMembers(model, members);
  return applied;
}

/** Whether the private nginx runs, so a change of upstream members has someone to reach. */
export function proxyRunning(model: Model): boolean {
  return model.proxy !== undefined && nginxPid(model) !== undefined;
}

/**
 * A rollout step (src/fleet/rollout.ts): every instance of `service` except the ports in `out` is in its
 * upstream, the other services keep their recorded membership; checked, swapped in, and the running nginx
 * reloaded gracefully when a file changed (never started). Recorded like every membership change, so a
 * `proxy reload` during a rollout keeps the instance out.
 * @throws NginxRefusedError / OperationError (exit 1) when nginx refuses or does not confirm the reload.
 */
export async function setUpstreamOut(model: Model, service: string, out: ReadonlySet<number>): Promise<NginxApply> {
  const s = routedServices(model.services).find((x) => x.name === service);
  if (!s) throw new UsageError(`${service} is not behind the proxy (no routes, disabled, or no port)`);
  const members = upstreamMembers(model);
  members[service] = instancePorts(s).filter((p) => !out.has(p));
  return render(model, members, false, false);
}

/**
 * restart/recover: the upstream of every service in `readiness` becomes its ready instances (the others keep
 * their recorded membership), then units/nginx/ is checked, swapped in, and nginx reloaded, or started when it
 * does not run. @throws NginxRefusedError (exit 1) naming service, file and nginx's message: nothing changed then.
 */
export async function bringUpProxy(model: Model, readiness: Readiness[]): Promise<NginxApply> {
  const members = upstreamMembers(model);
  for (const s of routedServices(model.services)) {
    const mine = readiness.filter((r) => r.service === s.name && r.port !== undefined);
    if (mine.length === 0) continue;
    const ready = new Set(mine.filter((r) => r.ok).map((r) => r.port!));
    // an instance not restarted this time keeps its place
    const untouched = members[s.name].filter((p) => !mine.some((r) => r.port === p));
    members[s.name] = instancePorts(s).filter((p) => ready.has(p) || untouched.includes(p));
  }
  return render(model, members, true, false);
}

/**
 * Puts exactly `readyInstances` (instance indexes, `NAME:I`) of `service` in its upstream, every other instance
 * `down`, then safely reloads the running nginx (when it does not run, only units/nginx/ is written). For a
 * rolling restart: take an instance out, restart it, wait for its readiness, put it back.
 * @throws UsageError (exit 2) for a service that is not routed or an index it does not have;
 *   NginxRefusedError (exit 1) when nginx refuses the result (nothing changed).
 */
export async function setUpstreamMembers(
  model: Model,
  service: string,
  readyInstances: readonly number[],
): Promise<NginxApply> {
  const s = routedServices(model.services).find((x) => x.name === service);
  if (!s)
    throw new UsageError(
      `${service} is not behind the proxy (no routes, disabled, or no port)`,
      `routed services: ${routedServices(model.services)
        .map((x) => x.name)
        .join(", ")}`,
    );
  const bad = readyInstances.filter((i) => !s.instances.some((x) => x.index === i));
  if (bad.length)
    throw new UsageError(`${service} has no instance ${bad.join(", ")}`, `instances are 0-${s.instances.length - 1}`);
  const members = upstreamMembers(model);
  members[service] = s.instances
    .filter((i) => readyInstances.includes(i.index) && i.port !== undefined)
    .map((i) => i.port!);
  return render(model, members, false, false);
}

/**
 * `orchestrate proxy reload`: renders units/nginx/ from the manifest with the recorded membership, checks every
 * block, swaps it in and reloads nginx gracefully (requests in flight complete). When nginx does not run the
 * checked files are written and `action` is "written". @throws NginxRefusedError (exit 1), nothing changed.
 */
export async function reloadProxy(model: Model): Promise<NginxApply> {
  if (!model.proxy) throw new UsageError(`${model.paths.manifest} has no "proxy"`, 'add "proxy": { "listen": 8080 }');
  return render(model, upstreamMembers(model), false);
}

/** Stops the private nginx gracefully; false when it was not running. */
export function stopProxy(model: Model): Promise<boolean> {
  return stopNginx(model);
}

/** One routed service in {@link ProxyStatus}. */
export interface UpstreamStatus {
  service: string;
  instances: Array<{ port: number; member: boolean }>;
}

/** `orchestrate proxy status`: whether nginx runs, where it listens, each upstream's members, the route URLs. */
export interface ProxyStatus {
  running: boolean;
  pid?: number;
  listen: string;
  upstreams: UpstreamStatus[];
  routes: RouteUrl[];
}

/** The proxy's state from its pid file and the recorded membership. @throws UsageError without a proxy. */
export function proxyStatus(model: Model): ProxyStatus {
  if (!model.proxy) throw new UsageError(`${model.paths.manifest} has no "proxy"`, 'add "proxy": { "listen": 8080 }');
  const members = upstreamMembers(model);
  const pid = nginxPid(model);
  return {
    running: pid !== undefined,
    ...(pid !== undefined ? { pid } : {}),
    listen: formatListen(model.proxy.listen),
    upstreams: routedServices(model.services).map((s) => ({
      service: s.name,
      instances: instancePorts(s).map((port) => ({ port, member: members[s.name].includes(port) })),
    })),
    routes: routeUrls(model),
  };
}

/**
 * 1 when the manifest at `manifest` is valid and has a proxy, or its private nginx still runs (one more restart
 * step: bring it up, or stop it), else 0.
 */
export function proxyStepCount(manifest: string | undefined): number {
  try {
    const { model } = loadProject(manifest);
    return model.proxy || nginxPid(model) !== undefined ? 1 : 0;
  } catch {
    return 0;
  }
}
