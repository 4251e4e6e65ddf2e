/**
 * `orchestrate port NAME` answers without loading commander or zod when the manifest's exact text was
 * validated before: a stamp in run/ holds the SHA-256 of the last text that passed validation. Any other
 * case falls through to the full CLI, which validates and refreshes the stamp. Target (README "Performance"): the
 * lookup costs at most 1.3× a bare `node -e 0`.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ManifestSource } from "../manifest/load";

/** Bumped whenever validation rules change, so a stamp from an older orchestrate is not trusted. */
const RULES_VERSION = "2";

function stampPath(manifest: string): string {
  return join(dirname(manifest), "run", ".manifest-validated");
}

function digest(text: string): string {
  return createHash("sha256").update(RULES_VERSION).update("\0").update(text).digest("hex");
}

/** Records that this manifest text is valid (best effort: a read-only project just stays on the slow path). */
export function rememberValid(source: ManifestSource): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { writeFileAtomicSync } = require("../write/atomic") as typeof import("../write/atomic");
    writeFileAtomicSync(stampPath(source.path), digest(source.text) + "\n");
  } catch {
    /* not fatal */
  }
}

/** Whether `text`, the manifest at `path`, is the text the stamp records as validated (reads only the stamp). */
export function isStamped(path: string, text: string): boolean {
  try {
    return readFileSync(stampPath(path), "utf8").trim() === digest(text);
  } catch {
    return false;
  }
}

/**
 * The text of the manifest at `path` when exactly this text validated before (the stamp matches), else
 * undefined (missing file, no stamp, another text): then only the full CLI may use it.
 */
export function validatedText(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return isStamped(path, text) ? text : undefined;
}

/**
 * Answers `port NAME` (optionally with -m/--manifest PATH) from a validated manifest.
 * @returns the exit code, or undefined when the full CLI must handle the call.
 */
export function tryFastPath(argv: string[], env: NodeJS.ProcessEnv): number | undefined {
  let manifest: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-m" || argv[i] === "--manifest") manifest = argv[++i];
    else if (argv[i].startsWith("--manifest=")) manifest = argv[i].slice(11);
    else rest.push(argv[i]);
  }
  if (rest.length !== 2 || rest[0] !== "port" || rest[1].startsWith("-")) return undefined;
  try {
    const path = resolve(manifest ?? env.ORCHESTRATE_MANIFEST ?? "manifest.json");
    const text = readFileSync(path, "utf8");
    if (readFileSync(stampPath(path), "utf8").trim() !== digest(text)) return undefined;
    const port = (JSON.parse(text) as { services: Record<string, { port?: unknown }> }).services[rest[1]]?.port;
    if (typeof port !== "number" || !Object.prototype.hasOwnProperty.call(JSON.parse(text).services, rest[1]))
      return undefined;
    process.stdout.write(`${port}\n`);
    return 0;
  } catch {
    return undefined;
  }
}
