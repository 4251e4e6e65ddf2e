/**
 * The command tree, built as data with commander. Each command file turns flags into one call and
 * returns an exit code; only src/cli/main.ts exits the process.
 */
import { stampManifest } from "./project";
import { Command, Option } from "commander";
import { processContext, type Context } from "./context";
import { registerLookups } from "./commands/lookups";
import { registerValidate } from "./commands/validate";
import { registerInit } from "./commands/init";
import { registerImport } from "./commands/import";
import { registerGenerate } from "./commands/generate";
import { registerOperate } from "./commands/operate";
import { registerTestStart } from "./commands/test-start";
import { registerCheckPorts } from "./commands/check-ports";
import { registerRecover } from "./commands/recover";
import { registerChange } from "./commands/change";
import { registerInstall } from "./commands/install";
import { registerProxy } from "./commands/proxy";

/** A command body: gets the context, returns the exit code (0, 1 or 2). */
export type Action<A extends unknown[]> = (ctx: Context, ...args: A) => Promise<number> | number;

/** Wraps a command body for commander: builds the context from the global options, records the exit code. */
export function action<A extends unknown[]>(program: Command, body: Action<A>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const globals = program.opts<{
      manifest?: string;
      backend?: string;
      color?: boolean;
      user?: boolean;
      root?: string;
      serverUrl?: string;
    }>();
    const ctx = processContext(globals);
    const code = await body(ctx, ...(args.slice(0, -1) as A));
    if (code !== 2) stampManifest(ctx); // the read fast paths then answer the next status, verify, port…
    process.exitCode = code;
  };
}

/** The whole `orchestrate` command tree with global options; commander's exitOverride is on (main.ts exits). */
export function buildProgram(): Command {
  const program = new Command("orchestrate")
    .description(
      "One manifest of services and ports → supervisord programs and systemd units, and the procedure to run them:\nvalidate, test-start, restart, verify, add-service, recover.",
    )
    .option("-m, --manifest <path>", "manifest file (default: $ORCHESTRATE_MANIFEST or ./manifest.json)")
    .addOption(
      new Option("-b, --backend <kind>", "process manager").choices(["supervisor", "systemd"]).default("supervisor"),
    )
    .option("--user", "systemd: the user's manager (~/.config/systemd/user)")
    .option("--root <dir>", "systemd: an offline tree (systemctl --root): install and enable only")
    .option(
      "--server-url <url>",
      "the machine's supervisord (after install --supervisor-conf-dir), as supervisorctl names it: unix:///var/run/supervisor.sock",
    )
    .option("--no-color", "plain output (also NO_COLOR=1)")
    .showHelpAfterError('(run "orchestrate --help" for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    .exitOverride();
  program.addHelpText(
    "after",
    `
Examples:
  orchestrate validate                 every problem of manifest.json at once
  orchestrate restart                  generate, start supervisord, start everything in dependency order, verify
  orchestrate verify --json            state, port owner, health, CPU and memory of every service
  orchestrate port trade_executor      8001
  orchestrate add-service quotes --command "python3 quotes.py" --group watchdog

Exit codes: 0 success · 1 an operation or check failed · 2 bad input (nothing was written)`,
  );
  registerInit(program);
  registerValidate(program);
  registerLookups(program);
  registerGenerate(program);
  registerTestStart(program);
  registerOperate(program);
  registerChange(program);
  registerInstall(program);
  registerProxy(program);
  registerImport(program);
  registerCheckPorts(program);
  registerRecover(program);
  return program;
}
