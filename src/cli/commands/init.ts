/** `orchestrate init`: a starter manifest, logs/ and run/. Refuses to overwrite an existing manifest. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { UsageError } from "../../errors";
import { manifestPath } from "../../manifest/load";
import { projectPaths } from "../../model/paths";
import { ensureDir, writeFileAtomicSync } from "../../write/atomic";
import { action } from "../program";

/**
 * The starter manifest: one group, one service answering /health (with the v1.1 keys `restart` and `stderr`
 * at their defaults, and a `{url:NAME}` reference in env), an external and the avoid list.
 */
export function starterManifest(project: string): string {
  return (
    JSON.stringify(
      {
        $schema: "./manifest.schema.json",
        project,
        host: "127.0.0.1",
        ports: { avoid: [5000, 7000, 9000, 10000], reserved: {} },
        groups: { core: { range: "8000-8099", description: "Core services" } },
        external: { postgres: { port: 5432, description: "Primary database" } },
        services: {
          api: {
            group: "core",
            port: 8001,
            command: "/usr/bin/python3 -m http.server {port} --bind {host}",
            description: "Example service: replace the command with yours",
            health: "/",
            env: { PUBLIC_URL: "{url:api}" },
            restart: "always",
            stderr: "separate",
          },
        },
      },
      null,
      2,
    ) + "\n"
  );
}

/** Adds `init`. */
export function registerInit(program: Command): void {
  program
    .command("init")
    .option("--project <name>", "project name (default: the folder's name)")
    .description("create a starter manifest.json, logs/ and run/")
    .addHelpText(
      "after",
      "\nExample:\n  mkdir myfleet && cd myfleet && orchestrate init --project myfleet && orchestrate validate",
    )
    .action(
      action(program, (ctx, opts: { project?: string }) => {
        const path = manifestPath(ctx.manifest);
        if (existsSync(path))
          throw new UsageError(
            `${path} already exists; init never overwrites a manifest`,
            "edit it, or pass --manifest NEW_PATH",
          );
        const paths = projectPaths(path);
        const folder = paths.root.split("/").pop() ?? "project";
        const project =
          opts.project ??
          (folder
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, "-")
            .replace(/^[^a-z]+/, "") ||
            "project");
        if (!/^[a-z][a-z0-9-]*$/.test(project))
          throw new UsageError(
            `project name "${project}" is not valid (expected [a-z][a-z0-9-]*)`,
            "pass --project NAME",
          );
        writeFileAtomicSync(path, starterManifest(project));
        ensureDir(paths.logs);
        ensureDir(paths.run, 0o700);
        ctx.stdout.write(
          `created ${path}, ${paths.logs}/ and ${paths.run}/\nnext: edit the services, then "orchestrate validate" and "orchestrate restart"\n`,
        );
        return 0;
      }),
    );
}
