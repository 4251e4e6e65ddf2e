/**
 * Reading manifest.json: strict JSON with line and column on a syntax error, and a repeated key
 * (two services with one name, two `port` keys) reported as an error instead of "the last one wins".
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { visit, printParseErrorCode, type ParseErrorCode } from "jsonc-parser";
import { ManifestError, UsageError, type Problem } from "../errors";

/** The manifest file as read: its absolute path, its text and the parsed JSON value. */
export interface ManifestSource {
  path: string;
  text: string;
  raw: unknown;
}

/**
 * Parses manifest text as strict JSON (no comments, no trailing commas).
 * @throws ManifestError (exit 2) listing every syntax error with line:column and every repeated key.
 */
export function parseManifestText(text: string, file: string): unknown {
  const problems: Problem[] = [];
  const keyStack: Array<Map<string, number>> = [];
  const pathStack: string[] = [];
  let pendingKey: string | undefined;
  visit(
    text,
    {
      onObjectBegin() {
        keyStack.push(new Map());
        pathStack.push(pendingKey ?? "");
        pendingKey = undefined;
      },
      onObjectEnd() {
        keyStack.pop();
        pathStack.pop();
      },
      onObjectProperty(property, _offset, _length, startLine, startCharacter) {
        const seen = keyStack[keyStack.length - 1];
        const first = seen?.get(property);
        if (first !== undefined) {
          const where = [...pathStack.slice(1).filter(Boolean), property].join(".");
          problems.push({
            severity: "error",
            path: where,
            field: property,
            message: `key "${property}" appears twice in one object (line ${first} and line ${startLine + 1}); JSON would silently keep the last`,
            fix: `keep one "${property}" at ${file}:${first} or ${file}:${startLine + 1} and delete the other`,
          });
        } else seen?.set(property, startLine + 1);
        pendingKey = property;
      },
      onArrayBegin() {
        pendingKey = undefined;
      },
      onLiteralValue() {
        pendingKey = undefined;
      },
      onError(error: ParseErrorCode, _offset, _length, startLine, startCharacter) {
        problems.push({
          severity: "error",
          path: `${file}:${startLine + 1}:${startCharacter + 1}`,
          field: "(syntax)",
          message: `JSON syntax error at line ${startLine + 1}, column ${startCharacter + 1}: ${describe(printParseErrorCode(error))}`,
          fix: "fix the JSON at that position (a missing comma, quote or bracket is the usual cause)",
        });
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  if (problems.length) throw new ManifestError(problems, file);
  return JSON.parse(text);
}

function describe(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words === "invalid comment token" ? "comments are not allowed in JSON" : words;
}

/**
 * Locates the manifest: an explicit path, else $ORCHESTRATE_MANIFEST, else ./manifest.json.
 * @returns the absolute path (it may not exist).
 */
export function manifestPath(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, explicit ?? env.ORCHESTRATE_MANIFEST ?? "manifest.json");
}

/**
 * Reads and parses a manifest file.
 * @throws UsageError (exit 2) when the file cannot be read; ManifestError for bad JSON.
 */
export function readManifestFile(path: string): ManifestSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT" ? `no manifest at ${path}` : `cannot read ${path}: ${(err as Error).message}`,
      code === "ENOENT"
        ? 'create one with "orchestrate init", import one with "orchestrate import FILE", or pass --manifest PATH'
        : undefined,
    );
  }
  return { path, text, raw: parseManifestText(text, path) };
}
