/**
 * Resolves a validated manifest into the flat, fully defaulted model that every renderer, backend
 * and step takes (STYLE.md: resolve once). Pure apart from reading nothing: paths are computed, not checked.
 */
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import type { Manifest } from "./schema";
import { fillPlaceholders, splitCommand } from "../model/command";
import { projectPaths } from "../model/paths";
import { parseRanges } from "../model/port-ranges";
import type { Model, Service } from "../model/types";
import { resolveModelEdge, resolveServiceEdge, serviceBindAddress } from "./resolve-edge";

/** Defaults for optional service keys (seconds). startSecs 2: FACTS.md, longer than a bind takes. */
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

/**
 * Builds the model. `manifest` must have passed validateManifest (no errors): this function trusts
 * names, ranges and dependencies and does not re-check them.
 * @param manifestPath absolute path of manifest.json; relative paths in the manifest resolve against its folder.
 */
export function resolveModel(manifest: Manifest, manifestPath: string): Model {
  const paths = projectPaths(manifestPath);
  const host = manifest.host ?? "localhost";
  const levels = dependencyLevels(manifest);
  const services: Service[] = Object.entries(manifest.services).map(([name, s]) => {
    const directory = resolvePath(paths.root, s.directory ?? ".");
    const values = { port: s.port, host, name, bind: serviceBindAddress(s) };
    const words = typeof s.command === "string" ? splitCommand(s.command) : s.command;
    const argv = words.map((w) => fillPlaceholders(w, values));
    if (argv[0].includes("/") && !isAbsolute(argv[0])) argv[0] = resolvePath(directory, argv[0]);
    const env: Record<string, string> = {};
    if (s.port !== undefined) env.PORT = String(s.port);
    if (s.port !== undefined) env.BIND_ADDRESS = values.bind; // the address its exposure needs (edge)
    env.HOST = host;
    env.SERVICE_NAME = name;
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = fillPlaceholders(v, values);
    const level = levels.get(name) ?? 0;
    return {
      name,
      group: s.group,
      port: s.port,
      argv,
      directory,
      env,
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
      priority: Math.min(999, 100 + 10 * level),
      stdoutLog: join(paths.logs, `${name}.out.log`),
      stderrLog: join(paths.logs, `${name}.err.log`),
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

/** Level of each service: 0 without dependencies, else 1 + the highest level among them (acyclic input). */
export function dependencyLevels(manifest: Pick<Manifest, "services">): Map<string, number> {
  const levels = new Map<string, number>();
  const levelOf = (name: string): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    levels.set(name, 0); // guards against a cycle that slipped through: never recurse forever
    const deps = manifest.services[name]?.dependsOn ?? [];
    const level = deps.length ? 1 + Math.max(...deps.map(levelOf)) : 0;
    levels.set(name, level);
    return level;
  };
  for (const name of Object.keys(manifest.services)) levelOf(name);
  return levels;
}
