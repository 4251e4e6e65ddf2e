/**
 * Builds resolved models by hand for renderer, backend and procedure tests, independent of the loader.
 * `makeModel(root, [{name, port, argv}, ...])` fills every default the way src/manifest/resolve.ts does.
 */
import { join } from "node:path";
import { projectPaths as pathsOf } from "../../src/model/paths";
import type { Model, ProjectPaths, Service } from "../../src/model/types";

/** Paths of a project rooted at `root` (its manifest is root/manifest.json). */
export function projectPaths(root: string): ProjectPaths {
  return pathsOf(join(root, "manifest.json"));
}

export type ServiceInput = Partial<Service> & { name: string; argv: string[] };

/**
 * A service with every default of resolve.ts. Without `instances`, one instance (program NAME) is made from
 * port/argv/env/logs; with `instances`, argv/env/port/logs of the service are taken from instance 0.
 */
export function makeService(root: string, input: ServiceInput): Service {
  const env: Record<string, string> = {};
  if (input.port !== undefined) env.PORT = String(input.port);
  if (input.port !== undefined)
    env.BIND_ADDRESS = input.exposure && input.exposure !== "loopback" ? "0.0.0.0" : "127.0.0.1";
  env.HOST = "127.0.0.1";
  env.SERVICE_NAME = input.name;
  const fullEnv = { ...env, ...(input.env ?? {}) };
  const stdoutLog = input.stdoutLog ?? join(root, "logs", `${input.name}.out.log`);
  const stderrLog = input.stderrLog ?? join(root, "logs", `${input.name}.err.log`);
  const instances = input.instances ?? [
    {
      index: 0,
      port: input.port,
      program: input.name,
      label: input.name,
      argv: input.argv,
      env: fullEnv,
      stdoutLog,
      stderrLog,
    },
  ];
  const first = instances[0];
  return {
    description: "",
    directory: root,
    enabled: true,
    dependsOn: [],
    readyTimeout: 15,
    startSecs: 2,
    startRetries: 3,
    restartSec: 2,
    stopSignal: "TERM",
    stopTimeout: 10,
    hardening: "default",
    routes: [],
    exposure: "loopback",
    level: 0,
    programPriority: 100,
    multi: input.instances !== undefined,
    type: "service",
    autostart: true,
    restart: "always",
    exitCodes: [0],
    stderr: "separate",
    ...input,
    instances,
    port: first.port,
    argv: first.argv,
    env: first.env,
    stdoutLog: first.stdoutLog,
    stderrLog: first.stderrLog,
  };
}

export function makeModel(root: string, services: ServiceInput[], overrides: Partial<Model> = {}): Model {
  const resolved = services.map((s) => makeService(root, s));
  const levels: string[][] = [];
  for (const s of resolved) if (s.enabled) (levels[s.level] ??= []).push(s.name);
  return {
    project: "demo",
    host: "127.0.0.1",
    paths: projectPaths(root),
    ports: { avoid: [], reserved: new Map(), allowPrivileged: false },
    groups: [],
    processGroups: [],
    external: [],
    services: resolved,
    logs: { maxBytes: 10 * 1024 * 1024, backups: 5 },
    levels,
    internalSources: [],
    ...overrides,
  };
}
