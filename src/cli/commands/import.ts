/**
 * `orchestrate import FILE`: migrate a legacy MASTER_PORT_MANIFEST.json or an existing supervisord.conf
 * into a v1 manifest. The result is validated before anything is written; secrets found inline go to
 * per-service env files (mode 0600).
 */
import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ManifestError, UsageError } from "../../errors";
import { importLegacyManifest } from "../../manifest/import-legacy";
import { importSupervisordConf } from "../../manifest/import";
import { manifestPath, parseManifestText } from "../../manifest/load";
import { validateManifest } from "../../manifest/validate";
import { writeFileAtomicSync } from "../../write/atomic";
import { formatProblems } from "../format";
import { action } from "../program";
import { unknownUserMessage, userExists } from "../../fleet/host-users";

interface ImportOptions {
  ports?: string;
  project?: string;
  stdout?: boolean;
  force?: boolean;
  json?: boolean;
  freezeEnv?: boolean;
}

/** Adds `import`. */
export function registerImport(program: Command): void {
  program
    .command("import")
    .argument("<file>", "MASTER_PORT_MANIFEST.json (legacy) or supervisord.conf")
    .option("--ports <file>", "with a supervisord.conf: the legacy port manifest that holds the ports")
    .option("--project <name>", "project name for the new manifest")
    .option("--stdout", "print the manifest instead of writing it (secret files are then not written)")
    .option("--force", "overwrite an existing manifest")
    .option("--json", "print the report (changed, not carried, frozen, warnings, process → service) as JSON on stdout")
    .option(
      "--freeze-env",
      "write the value %(ENV_X)s has now into commands, instead of reading it when the program starts",
    )
    .description("turn a legacy port manifest or a supervisord.conf into a v1 manifest")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate import backend/core/config/MASTER_PORT_MANIFEST.json\n  orchestrate import backend/supervisord.conf --ports backend/core/config/MASTER_PORT_MANIFEST.json\n  orchestrate import /etc/supervisor/supervisord.conf --json | jq '.report[] | select(.kind == \"changed\")'\n\n[include] files= are followed as supervisord does. Variables that look secret (PASSWORD, SECRET, TOKEN, KEY, PASS)\nmove to secrets/NAME.env (mode 0600).\n\nExit: 0 imported · 1 no [program:x] found · 2 supervisord would refuse the file (every problem, file:line), or the manifest exists",
    )
    .action(
      action(program, async (ctx, file: string, opts: ImportOptions) => {
        const input = resolve(file);
        const text = readInput(input);
        const target = manifestPath(ctx.manifest);
        const result =
          /\.json$/i.test(input) || text.trimStart().startsWith("{")
            ? importLegacyManifest(parseManifestText(text, input), { project: opts.project })
            : importSupervisordConf(text, {
                fileName: input,
                legacyPorts: opts.ports
                  ? parseManifestText(readInput(resolve(opts.ports)), resolve(opts.ports))
                  : undefined,
                project: opts.project,
                freezeEnv: opts.freezeEnv,
              });
        const validation = validateManifest(result.manifest);
        if (validation.errors.length) throw new ManifestError(validation.problems, `${input} (imported)`);
        // a user= this host lacks: supervisord refuses the whole file for it (src/fleet/host-users.ts)
        for (const [name, service] of Object.entries(result.manifest.services)) {
          const user = (service as { user?: unknown }).user;
          if (typeof user === "string" && !(await userExists(user)))
            result.notes.push(
              `WARNING ${unknownUserMessage({ service: name, user })}; orchestrate restart refuses it on this host`,
            );
        }
        const json = JSON.stringify(result.manifest, null, 2) + "\n";
        if (opts.json && opts.stdout)
          throw new UsageError("--json and --stdout both print to stdout", "choose one of them");
        if (opts.stdout) {
          ctx.stdout.write(json);
        } else {
          if (existsSync(target) && !opts.force)
            throw new UsageError(
              `${target} already exists`,
              "pass --force to overwrite it, --manifest NEW_PATH to write elsewhere, or --stdout to print",
            );
          for (const f of result.files) {
            const path = resolve(dirname(target), f.path);
            if (existsSync(path) && !opts.force)
              throw new UsageError(`${path} already exists`, "pass --force to overwrite it");
          }
          for (const f of result.files) writeFileAtomicSync(resolve(dirname(target), f.path), f.content, f.mode);
          writeFileAtomicSync(target, json);
          const out = opts.json ? ctx.stderr : ctx.stdout;
          out.write(`wrote ${target} (${Object.keys(result.manifest.services).length} services)\n`);
          for (const f of result.files)
            out.write(`wrote ${resolve(dirname(target), f.path)} (mode ${f.mode.toString(8)})\n`);
        }
        if (opts.json)
          ctx.stdout.write(
            JSON.stringify(
              {
                manifest: opts.stdout ? undefined : target,
                services: Object.keys(result.manifest.services),
                sources: result.sources ?? [input],
                report: result.report ?? [],
                notes: result.notes,
                processes: result.processes ?? [],
                files: result.files.map((f) => f.path),
              },
              null,
              2,
            ) + "\n",
          );
        else
          for (const note of result.notes)
            ctx.stderr.write(
              /^(WARNING|note:|changed on|not carried|frozen at)/.test(note) ? `${note}\n` : `note: ${note}\n`,
            );
        if (validation.warnings.length) ctx.stderr.write(formatProblems(ctx, validation.warnings, target));
        return 0;
      }),
    );
}

function readInput(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}
