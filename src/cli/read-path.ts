/**
 * The read commands — `status`, `verify [NAME…]`, `ports`, `check-ports`, each with `--json` — answered
 * without commander and without the manifest validator (zod) when the manifest's exact text validated
 * before (./fast-path.ts stamp): the model is resolved from it directly. Bundled alone into
 * dist/orchestrate-read.cjs (scripts/build.mjs), so these commands do not parse the full CLI bundle;
 * issue 14 asks them to cost no more than `supervisorctl status`. Anything else — another flag, --help,
 * the systemd backend, a manifest that changed since it validated — returns undefined and the full CLI
 * answers (and validates, and refreshes the stamp). `--server-url unix:///…` (the machine's supervisord) is
 * taken as the full CLI takes it: only this project's programs there are read (a URL of another scheme: exit 2).
 */
import { resolve } from "node:path";
import { OrchestrateError } from "../errors";
import { resolveModel } from "../manifest/resolve";
import type { Manifest } from "../manifest/schema";
import { checkPortsCommand, portsCommand, statusCommand, verifyCommand } from "./commands/read-commands";
import { processContext } from "./context";
import { validatedText } from "./fast-path";

const COMMANDS = new Set(["status", "verify", "ports", "check-ports"]);

/** Runs a read command from a validated manifest. @returns the exit code, or undefined to use the full CLI. */
export async function tryReadPath(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  let manifest: string | undefined;
  let color = true;
  let json = false;
  let serverUrl: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-m" || a === "--manifest") manifest = argv[++i];
    else if (a.startsWith("--manifest=")) manifest = a.slice(11);
    else if (a === "--no-color") color = false;
    else if (a === "--json") json = true;
    else if (a === "--server-url" && i + 1 < argv.length) serverUrl = argv[++i];
    else if (a.startsWith("--server-url=")) serverUrl = a.slice("--server-url=".length);
    else if ((a === "-b" || a === "--backend") && argv[i + 1] === "supervisor") i++;
    else if (a === "--backend=supervisor") continue;
    else if (a.startsWith("-")) return undefined;
    else words.push(a);
  }
  const [command, ...names] = words;
  if (!command || !COMMANDS.has(command) || (names.length && command !== "verify")) return undefined;
  if (manifest === undefined && words.length === 0) return undefined;
  const path = resolve(manifest ?? env.ORCHESTRATE_MANIFEST ?? "manifest.json");
  const text = validatedText(path);
  if (text === undefined) return undefined;
  const model = resolveModel(JSON.parse(text) as Manifest, path);
  const ctx = processContext({ manifest: path, color, serverUrl });
  try {
    if (command === "status") return await statusCommand(ctx, model, { json });
    if (command === "verify") return await verifyCommand(ctx, model, names, { json });
    if (command === "check-ports") return await checkPortsCommand(ctx, model, { json });
    return portsCommand(ctx, model, { json });
  } catch (err) {
    if (!(err instanceof OrchestrateError)) throw err;
    ctx.stderr.write(`error: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ""}`);
    return err.exitCode;
  }
}
