/**
 * A manifest using every v1.1 key, resolved through the real pipeline (validate → resolve): the model behind
 * the v1.1 golden files (rooted at /srv/demo) and the v1.1 rows of the supervisord and systemd oracles (rooted
 * at a temp folder, with `argv0` a program that prints what it received).
 */
import { join } from "node:path";
import { resolveModel } from "../../../src/manifest/resolve";
import { validateManifest } from "../../../src/manifest/validate";
import type { Model } from "../../../src/model/types";

/**
 * The manifest; `argv0` is the program every service runs; `base` the first port of group api (pool is
 * base+100…base+199): 22100 for the goldens and oracles (nothing listens), a test's own block when it starts them.
 */
export function v11Manifest(argv0 = "/usr/bin/node", base = 22100): Record<string, unknown> {
  const p = (offset: number) => base + offset;
  return {
    project: "demo",
    host: "127.0.0.1",
    groups: { api: { range: `${p(0)}-${p(99)}` }, pool: { range: `${p(100)}-${p(199)}` } },
    ports: { reserved: { [String(p(101))]: "kept" } },
    services: {
      migrate: {
        type: "oneshot",
        command: [argv0, "migrate", "--host={host}"],
        exitCodes: [0, 2],
        stderr: "merge",
        description: "Schema migration",
      },
      users: {
        group: "api",
        port: p(1),
        instances: 2,
        command: [argv0, "users", "--port", "{port}", "--shard={instance}"],
        env: { SHARD: "shard-{instance}", LOG_FMT: "{{levelname}} 100%" },
        dependsOn: ["migrate"],
        health: "/health",
        description: "Users API",
      },
      pinned: {
        group: "api",
        ports: [p(10), p(20)],
        instances: 2,
        command: [argv0, "pinned"],
        restart: "on-failure",
        exitCodes: [0, 3],
        stderr: "merge",
        priority: 5,
      },
      pooled: { group: "pool", instances: 2, command: [argv0, "pooled", "{port}"] },
      gateway: {
        group: "api",
        port: p(0),
        command: [argv0, "gateway", "--users={url:users}"],
        env: { USERS_URL: "{url:users}/v1", USERS_PORT: "{port:users}", POOL: "{url:pooled}" },
        dependsOn: ["users", "pooled"],
        priority: 900,
      },
      reindex: { command: [argv0, "reindex"], autostart: false, restart: "never", dependsOn: ["users"] },
      janitor: { command: [argv0, "janitor", "{instance}"], instances: 2, restart: "never" },
    },
  };
}

/** The resolved model rooted at `root` (/srv/demo for the goldens). @throws when the manifest has an error. */
export function v11Model(root = "/srv/demo", argv0 = "/usr/bin/node", base = 22100): Model {
  const v = validateManifest(v11Manifest(argv0, base));
  if (!v.manifest) throw new Error(JSON.stringify(v.errors, null, 2));
  return resolveModel(v.manifest, join(root, "manifest.json"));
}
