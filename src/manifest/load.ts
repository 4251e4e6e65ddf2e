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
 * @throws ManifestError (exit 2) listing every syntax error with line:column and every repeated key, or
 * the line:column where nesting passes {@link MAX_DEPTH}.
 */
export function parseManifestText(text: string, file: string): unknown {
  const tooDeep = nestingBeyond(text, MAX_DEPTH);
  if (tooDeep)
    throw new ManifestError(
      [
        {
          severity: "error",
          path: `${file}:${tooDeep.line}:${tooDeep.column}`,
          field: "(syntax)",
          message: `JSON nested deeper than ${MAX_DEPTH} levels at line ${tooDeep.line}, column ${tooDeep.column}: no manifest needs that`,
          fix: "a manifest is a few levels deep (services → NAME → env); remove the nested brackets",
        },
      ],
      file,
    );
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

/** Deepest nesting of objects and arrays accepted; a manifest needs about 5 (the parsers recurse per level). */
export const MAX_DEPTH = 1000;

/** Line and column (1-based) of the first `[`/`{` that opens level `max + 1`, outside strings; undefined if none. */
export function nestingBeyond(text: string, max: number): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      else if (c === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return { line, column: i - lineStart + 1 };
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return undefined;
}

/**
 * Byte offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or -1 when `bytes` is valid UTF-8.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Decodes UTF-8 strictly. @throws ManifestError naming line:column of the first invalid byte. */
function decodeManifest(bytes: Buffer, file: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return bytes.toString("utf8");
  const before = bytes.subarray(0, bad).toString("utf8");
  const line = before.split("\n").length;
  const column = [...before.slice(before.lastIndexOf("\n") + 1)].length + 1;
  throw new ManifestError(
    [
      {
        severity: "error",
        path: `${file}:${line}:${column}`,
        field: "(encoding)",
        value: `0x${bytes[bad].toString(16).padStart(2, "0")}`,
        message: `invalid UTF-8 at line ${line}, column ${column} (byte ${bad}: 0x${bytes[bad].toString(16).padStart(2, "0")}); the manifest must be UTF-8`,
        fix: "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or fix the character at that position",
      },
    ],
    file,
  );
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
 * @throws UsageError (exit 2) when the file cannot be read; ManifestError for bad JSON or invalid UTF-8
 * (never silently read as U+FFFD).
 */
export function readManifestFile(path: string): ManifestSource {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT" ? `no manifest at ${path}` : `cannot read ${path}: ${(err as Error).message}`,
      code === "ENOENT"
        ? 'create one with "orchestrate init", import one with "orchestrate import FILE", or pass --manifest PATH'
        : undefined,
    );
  }
  const text = decodeManifest(bytes, path);
  return { path, text, raw: parseManifestText(text, path) };
}
