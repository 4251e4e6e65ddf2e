/** The lookups of hand-kept runbooks' port_config.py as commands: ports, port NAME, url NAME [PATH], env NAME. */
import type { Command } from "commander";
import { projectOf, requireRenderable } from "../project";
import { findService, portOf, portsOf, urlOf } from "../../model/lookup";
import { launchEnvironment } from "../../model/environment";
import { action } from "../program";
import { portsCommand } from "./read-commands";

/** Adds `port`, `url`, `env` and `ports`. */
export function registerLookups(program: Command): void {
  program
    .command("port")
    .argument("<name>", "service name")
    .option("--all", "every instance's port, one per line (instance 0 first)")
    .description("print the port of a service (instance 0's with instances)")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate port trade_executor   → 8001\n  orchestrate port main_app --all   → 3000 and 3001, one per line\n\nExit: 2 for an unknown service (with the closest names) or a worker without a port",
    )
    .action(
      action(program, (ctx, name: string, opts: { all?: boolean }) => {
        const project = projectOf(ctx);
        const ports = opts.all ? portsOf(project.model, name) : [portOf(project.model, name)];
        requireRenderable(project); // what generate refuses is not valid: no answer (and no stamp)
        ctx.stdout.write(ports.map((p) => `${p}\n`).join(""));
        return 0;
      }),
    );

  program
    .command("url")
    .argument("<name>", "service name")
    .argument("[path]", "path to append, e.g. /health", "")
    .description("print http://HOST:PORT[PATH] of a service")
    .addHelpText("after", "\nExample:\n  orchestrate url trade_executor /health   → http://127.0.0.1:8001/health")
    .action(
      action(program, (ctx, name: string, path: string) => {
        const project = projectOf(ctx);
        const url = urlOf(project.model, name, path);
        requireRenderable(project);
        ctx.stdout.write(`${url}\n`);
        return 0;
      }),
    );

  program
    .command("env")
    .argument("<name>", "service name")
    .option("--json", "as a JSON object")
    .description("print the environment the program will receive, as KEY=value lines")
    .addHelpText(
      "after",
      "\nShows the clean base (PATH, LANG, HOME…), then PORT, HOST, SERVICE_NAME and the manifest's env.\nVariables from envFile are named, never printed (they are secrets).\n\nExample:\n  orchestrate env trade_executor",
    )
    .action(
      action(program, (ctx, name: string, opts: { json?: boolean }) => {
        const project = projectOf(ctx);
        const { model } = project;
        const service = findService(model, name);
        requireRenderable(project);
        const env = launchEnvironment(service, ctx.env);
        if (opts.json) ctx.stdout.write(JSON.stringify({ env, envFile: service.envFile ?? null }, null, 2) + "\n");
        else {
          ctx.stdout.write(
            Object.entries(env)
              .map(([k, v]) => `${k}=${v}\n`)
              .join(""),
          );
          if (service.envFile) ctx.stdout.write(`# and the variables of ${service.envFile} (not shown)\n`);
        }
        return 0;
      }),
    );

  program
    .command("ports")
    .option("--json", "machine-readable")
    .description("every port by group with budgets, reserved and avoided ports, externals")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate ports\n  orchestrate ports --json | jq '.groups[] | {name, nextFree}'",
    )
    .action(action(program, (ctx, opts: { json?: boolean }) => portsCommand(ctx, projectOf(ctx).model, opts)));
}
