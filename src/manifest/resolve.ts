/**
 * Resolves a validated manifest into the flat, fully defaulted model that every renderer, backend
 * and step takes (resolve once, as honcho's environ.py does). Pure apart from reading nothing: paths are computed, not checked.
 */
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import type { Manifest } from "./schema";
import { fillPlaceholders, splitCommand } from "../model/command";
import { projectPaths } from "../model/paths";
import { parseRanges } from "../model/port-ranges";
import { chooseFreePorts, instancePorts } from "../model/instances";
import { hostUrl } from "../model/lookup";
import type { Instance, Model, Service } from "../model/types";
import { resolveModelEdge, resolveServiceEdge, serviceBindAddress } from "./resolve-edge";

/** Defaults for optional service keys (seconds). startSecs 2: docs/facts.md, longer than a bind takes. */
export const SERVICE_DEFAULTS = {
  readyTimeout: 15,
  startSecs: 2,
  startRetries: 3,
  restartSec: 2,
  stopSignal: "TERM",
  stopTimeout: 10,
} as const;
/** supervisord log rotation defaults: 10 MiB, 5 backups (supervisord's own defaults are 50 MB / 10). */
export const LOG_DEFAULTS = { maxBytes: 10 * 1024 * 1024, backups: 5 } as const;

/** Manifest `priority` assumed for a service that does not write one (so v1 level-0 programs keep priority 100). */
export const DEFAULT_PRIORITY = 100;

/**
 * supervisord `priority` of a service's programs: `1000 × level + (priority ?? 100)`. The dependency level
 * decides first (a dependency always starts before its dependents, whatever their `priority`), the manifest's
 * `priority` (0-999) second, among the services of one level; lower starts first and stops last
 * (supervisord docs, [program:x] `priority`).
 */
export function programPriority(level: number, priority: number | undefined): number {
  return 1000 * level + (priority ?? DEFAULT_PRIORITY);
}

/**
 * Builds the model. `manifest` must have passed validateManifest (no errors): this function trusts
 * names, ranges and dependencies and does not re-check them. Ports of instances chosen from the group
 * (`instances` without `port`/`ports`) are chosen here, by src/model/instances.ts.
 * @param manifestPath absolute path of manifest.json; relative paths in the manifest resolve against its folder.
 */
export function resolveModel(manifest: Manifest, manifestPath: string): Model {
  const paths = projectPaths(manifestPath);
  const host = manifest.host ?? "localhost";
  const levels = dependencyLevels(manifest);
  const portsOf = resolvePorts(manifest);
  const port0 = (name: string) => portsOf.get(name)?.[0];
  const reference = (kind: "port" | "url", name: string) => {
    const p = port0(name);
    return p === undefined ? undefined : kind === "port" ? String(p) : hostUrl(host, p);
  };
  const services: Service[] = Object.entries(manifest.services).map(([name, s]) => {
    const directory = resolvePath(paths.root, s.directory ?? ".");
    const words = typeof s.command === "string" ? splitCommand(s.command) : s.command;
    const multi = s.instances !== undefined;
    const bind = serviceBindAddress(s);
    const type = s.type ?? "service";
    const stderr = s.stderr ?? "separate";
    const ports = portsOf.get(name);
    const instances: Instance[] = Array.from({ length: s.instances ?? 1 }, (_, index) => {
      const port = ports?.[index];
      const values = { port, host, name, instance: index, reference, bind };
      const argv = words.map((w) => fillPlaceholders(w, values));
      if (argv[0].includes("/") && !isAbsolute(argv[0])) argv[0] = resolvePath(directory, argv[0]);
      const env: Record<string, string> = {};
      if (port !== undefined) env.PORT = String(port);
      if (port !== undefined) env.BIND_ADDRESS = bind; // the address its exposure needs (src/model/edge.ts)
      env.HOST = host;
      env.SERVICE_NAME = name;
      for (const [k, v] of Object.entries(s.env ?? {})) env[k] = fillPlaceholders(v, values);
      const program = multi ? `${name}@${index}` : name;
      const stdoutLog = join(paths.logs, `${program}.out.log`);
      return {
        index,
        port,
        program,
        label: multi ? `${name}:${index}` : name,
        argv,
        env,
        stdoutLog,
        stderrLog: stderr === "merge" ? stdoutLog : join(paths.logs, `${program}.err.log`),
      };
    });
    const level = levels.get(name) ?? 0;
    const first = instances[0];
    return {
      name,
      group: s.group,
      port: first.port,
      instances,
      multi,
      type,
      autostart: s.autostart ?? true,
      restart: s.restart ?? (type === "oneshot" ? "never" : "always"),
      exitCodes: s.exitCodes ?? [0],
      stderr,
      priority: s.priority,
      argv: first.argv,
      directory,
      env: first.env,
      envFile: s.envFile === undefined ? undefined : resolvePath(paths.root, s.envFile),
      description: s.description ?? "",
      technology: s.technology,
      enabled: s.enabled ?? true,
      dependsOn: s.dependsOn ?? [],
      health: s.health,
      readyTimeout: s.readyTimeout ?? SERVICE_DEFAULTS.readyTimeout,
      startSecs: s.startSecs ?? SERVICE_DEFAULTS.startSecs,
      startRetries: s.startRetries ?? SERVICE_DEFAULTS.startRetries,
      restartSec: s.restartSec ?? SERVICE_DEFAULTS.restartSec,
      stopSignal: s.stopSignal ?? SERVICE_DEFAULTS.stopSignal,
      stopTimeout: s.stopTimeout ?? SERVICE_DEFAULTS.stopTimeout,
      user: s.user,
      hardening: s.hardening ?? manifest.hardening ?? "default",
      level,
      programPriority: programPriority(level, s.priority),
      stdoutLog: first.stdoutLog,
      stderrLog: first.stderrLog,
      ...resolveServiceEdge(s), // routes, exposure
    };
  });
  const byLevel: string[][] = [];
  for (const s of services) if (s.enabled) (byLevel[s.level] ??= []).push(s.name);
  return {
    project: manifest.project,
    host,
    paths,
    ports: {
      allowed: manifest.ports?.allowed ? parseRanges(manifest.ports.allowed) : undefined,
      avoid: manifest.ports?.avoid ?? [],
      reserved: new Map(Object.entries(manifest.ports?.reserved ?? {}).map(([p, reason]) => [Number(p), reason])),
      allowPrivileged: manifest.ports?.allowPrivileged ?? false,
    },
    groups: Object.entries(manifest.groups ?? {}).map(([name, g]) => ({
      name,
      ranges: parseRanges(g.range),
      description: g.description ?? "",
    })),
    processGroups: Object.entries(manifest.processGroups ?? {}).map(([name, members]) => ({
      name,
      services: services.filter((s) => members.includes(s.name)).map((s) => s.name),
    })),
    external: Object.entries(manifest.external ?? {}).map(([name, e]) => ({
      name,
      port: e.port,
      description: e.description ?? "",
      host: e.host,
      exposure: e.exposure ?? "loopback",
    })),
    services,
    logs: {
      maxBytes: manifest.logs?.maxBytes ?? LOG_DEFAULTS.maxBytes,
      backups: manifest.logs?.backups ?? LOG_DEFAULTS.backups,
    },
    levels: byLevel.filter((l) => l && l.length > 0),
    ...resolveModelEdge(manifest, paths.root), // proxy, internalSources
  };
}

/**
 * Level of each service: 0 without dependencies, else 1 + the highest level among them (acyclic input;
 * a cycle that slipped through counts its back edge as level 0). Iterative: a 4000-service chain written
 * in reverse order does not overflow the stack.
 */
export function dependencyLevels(manifest: Pick<Manifest, "services">): Map<string, number> {
  const levels = new Map<string, number>();
  const depsOf = (name: string) =>
    Object.prototype.hasOwnProperty.call(manifest.services, name) ? (manifest.services[name].dependsOn ?? []) : [];
  const visiting = new Set<string>();
  for (const root of Object.keys(manifest.services)) {
    if (levels.has(root)) continue;
    const stack = [root];
    const next = [0]; // per stack entry: the next dependency to look at
    visiting.add(root);
    while (stack.length) {
      const top = stack.length - 1;
      const name = stack[top];
      const deps = depsOf(name);
      if (next[top] < deps.length) {
        const dep = deps[next[top]++];
        if (!levels.has(dep) && !visiting.has(dep)) {
          visiting.add(dep);
          stack.push(dep);
          next.push(0);
        }
        continue;
      }
      let level = 0;
      for (const d of depsOf(name)) level = Math.max(level, 1 + (levels.get(d) ?? 0)); // a cycle's back edge: 0
      levels.set(name, level);
      visiting.delete(name);
      stack.pop();
      next.pop();
    }
  }
  return levels;
}

/**
 * Ports of every service's instances, by name: written ones (`ports`, or `port + i`), then, in manifest
 * order, the lowest free ports of the group for services with `instances` and neither key (never for a
 * oneshot). Workers are absent from the map.
 */
export function resolvePorts(manifest: Manifest): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const taken = new Set<number>([
    ...(manifest.ports?.avoid ?? []),
    ...Object.keys(manifest.ports?.reserved ?? {}).map(Number),
    ...Object.values(manifest.external ?? {}).map((e) => e.port),
  ]);
  const entries = Object.entries(manifest.services);
  for (const [name, s] of entries) {
    const written = instancePorts({ port: s.port, ports: s.ports, instances: s.instances ?? 1 });
    if (!written) continue;
    out.set(name, written);
    for (const p of written) taken.add(p);
  }
  const allowed = manifest.ports?.allowed ? parseRanges(manifest.ports.allowed) : undefined;
  for (const [name, s] of entries) {
    if (out.has(name) || !choosesPorts(s)) continue;
    const range = manifest.groups?.[s.group!]?.range;
    if (range === undefined) continue;
    out.set(name, chooseFreePorts(parseRanges(range), { allowed, taken }, s.instances!));
  }
  return out;
}

/** True when the service's instance ports are chosen from its group: `instances` and group, no port/ports, not a oneshot. */
export function choosesPorts(s: {
  instances?: unknown;
  port?: unknown;
  ports?: unknown;
  group?: unknown;
  type?: unknown;
}): boolean {
  return (
    s.instances !== undefined &&
    s.port === undefined &&
    s.ports === undefined &&
    typeof s.group === "string" &&
    s.type !== "oneshot"
  );
}
