/**
 * A lenient view of a manifest that may not have passed the schema: every rule reads through it, so a
 * wrong type in one service does not hide the problems of the others (every problem in one run).
 */
import { chooseFreePorts } from "../model/instances";
import { parseRanges } from "../model/port-ranges";
import type { PortRange } from "../model/types";

/** One service as written; fields of the wrong type are undefined or defaulted, never thrown on. */
export interface ServiceView {
  name: string;
  group?: string;
  /** Only an integer 1-65535; anything else is left out. */
  port?: number;
  command?: string | string[];
  /** As written: values not yet checked to be strings. */
  env: Record<string, unknown>;
  dependsOn: string[];
  /** false only when written `enabled: false`. */
  enabled: boolean;
  health?: string;
  /** `instances` when an integer 1-1000, else 1. */
  instances: number;
  /** `type` as written when "oneshot", else "service". */
  type: "service" | "oneshot";
  /**
   * Port of each instance, index order: written (`ports`, else `port + i`) or chosen from the group (`chosen`
   * true; src/model/instances.ts). Empty for a worker. `field` is where the port comes from: "port",
   * "ports.I" or "instances" (chosen).
   */
  instancePorts: Array<{ index: number; port: number; field: string }>;
  /** True when the instance ports were chosen from the group, not written. */
  chosen: boolean;
  /** The service's object as written, for rules that read other keys. */
  raw: Record<string, unknown>;
}

/** The whole manifest as {@link viewOf} reads it, with the defaults rules need. */
export interface ManifestView {
  /** Default "localhost". */
  host: string;
  services: ServiceView[];
  /** Group name → its ranges; undefined when the range does not parse (the schema reports it). */
  groups: Map<string, PortRange[] | undefined>;
  external: Array<{ name: string; port: number }>;
  /** Port → reason, from ports.reserved. */
  reserved: Map<number, string>;
  avoid: Set<number>;
  /** undefined: no (parseable) ports.allowed, every port 1-65535 allowed. */
  allowed?: PortRange[];
  allowPrivileged: boolean;
  /** Ports the proxy listens on (proxy.listen, proxy.tls.redirectListen): never allocated to a service. */
  proxyPorts: number[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

function tryRanges(v: unknown): PortRange[] | undefined {
  try {
    return parseRanges(v as string | number | (string | number)[]);
  } catch {
    return undefined;
  }
}

/** The ports of proxy.listen and proxy.tls.redirectListen (default 80) that parse; edge (issue 15). */
function proxyPortsOf(proxy: unknown): number[] {
  if (!isObject(proxy)) return [];
  const tls = isObject(proxy.tls) ? proxy.tls : undefined;
  return [proxy.listen, ...(tls ? [tls.redirectListen ?? 80] : [])].flatMap((v) => {
    const m = typeof v === "number" ? [String(v)] : typeof v === "string" ? /(\d{1,5})$/.exec(v) : null;
    return m && isPort(Number(m[m.length - 1])) ? [Number(m[m.length - 1])] : [];
  });
}

/** Builds the view; values of the wrong type are left out (the schema reports them). */
export function viewOf(raw: unknown): ManifestView {
  const m = isObject(raw) ? raw : {};
  const ports = isObject(m.ports) ? m.ports : {};
  const services: ServiceView[] = Object.entries(isObject(m.services) ? m.services : {}).map(([name, s]) => {
    const o = isObject(s) ? s : {};
    return {
      name,
      group: typeof o.group === "string" ? o.group : undefined,
      port: isPort(o.port) ? o.port : undefined,
      command: typeof o.command === "string" || Array.isArray(o.command) ? (o.command as string | string[]) : undefined,
      env: isObject(o.env) ? o.env : {},
      dependsOn: Array.isArray(o.dependsOn) ? o.dependsOn.filter((d): d is string => typeof d === "string") : [],
      enabled: o.enabled !== false,
      health: typeof o.health === "string" ? o.health : undefined,
      instances:
        Number.isInteger(o.instances) && (o.instances as number) >= 1 && (o.instances as number) <= 1000
          ? (o.instances as number)
          : 1,
      type: o.type === "oneshot" ? ("oneshot" as const) : ("service" as const),
      instancePorts: [] as ServiceView["instancePorts"],
      chosen: false,
      raw: o,
    };
  });
  const groups = new Map<string, PortRange[] | undefined>();
  for (const [name, g] of Object.entries(isObject(m.groups) ? m.groups : {}))
    groups.set(name, isObject(g) ? tryRanges(g.range) : undefined);
  const external = Object.entries(isObject(m.external) ? m.external : {})
    .filter(([, e]) => isObject(e) && isPort(e.port))
    .map(([name, e]) => ({ name, port: (e as { port: number }).port }));
  const reserved = new Map<number, string>();
  for (const [port, reason] of Object.entries(isObject(ports.reserved) ? ports.reserved : {})) {
    if (isPort(Number(port))) reserved.set(Number(port), String(reason));
  }
  const view: ManifestView = {
    host: typeof m.host === "string" ? m.host : "localhost",
    services,
    groups,
    external,
    reserved,
    avoid: new Set(Array.isArray(ports.avoid) ? ports.avoid.filter(isPort) : []),
    allowed: Array.isArray(ports.allowed) ? tryRanges(ports.allowed) : undefined,
    allowPrivileged: ports.allowPrivileged === true,
    proxyPorts: proxyPortsOf(m.proxy),
  };
  fillInstancePorts(view);
  return view;
}

/**
 * Sets `instancePorts` of every service: written ports first (`ports` when every entry is a port, else
 * `port + i`; ports above 65535 are kept for the port rules to report), then chosen ones in manifest order,
 * as src/manifest/resolve.ts `resolvePorts` chooses them.
 */
function fillInstancePorts(view: ManifestView): void {
  const taken = new Set<number>([...view.avoid, ...view.reserved.keys(), ...view.external.map((e) => e.port)]);
  for (const s of view.services) {
    const ports = s.raw.ports;
    if (Array.isArray(ports) && ports.length > 0 && ports.every(isPort)) {
      s.instancePorts = (ports as number[]).map((port, index) => ({ index, port, field: `ports.${index}` }));
    } else if (s.port !== undefined && ports === undefined) {
      s.instancePorts = Array.from({ length: s.instances }, (_, index) => ({
        index,
        port: s.port! + index,
        field: "port",
      }));
    }
    for (const p of s.instancePorts) taken.add(p.port);
  }
  for (const s of view.services) {
    const o = s.raw;
    if (o.instances === undefined || o.port !== undefined || o.ports !== undefined || s.group === undefined) continue;
    if (s.type === "oneshot") continue;
    const ranges = view.groups.get(s.group);
    if (!ranges) continue;
    s.chosen = true;
    s.instancePorts = chooseFreePorts(ranges, { allowed: view.allowed, taken }, s.instances).map((port, index) => ({
      index,
      port,
      field: "instances",
    }));
  }
}
