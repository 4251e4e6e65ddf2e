/**
 * `units/port_config.py`: hand-kept runbooks' port_config.py (get_port, list_all_ports, get_service_url,
 * get_port_info), generated with the data embedded as Python literals. Standard library only, reads no
 * file at import. Every string from the manifest goes through {@link pyLiteral}, so quotes, backslashes,
 * control characters and any unicode (lone surrogates included) arrive in Python unchanged.
 */
import type { Model, RenderedFile } from "../../model/types";
import { PORT_CONFIG_TEMPLATE } from "./_port-config-template";
import { generatedNote } from "./ports-json";

/** A value {@link pyLiteral} can write. */
export type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/** Printable ASCII without `"` and `\`: written as is (the common case, and fast). */
const PLAIN = /^[ !#-[\]-~]*$/;

/** Escape for one code point: \xNN, \uNNNN or \UNNNNNNNN (all valid in a Python 3 str literal). */
function escapeCodePoint(cp: number): string {
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/**
 * A double-quoted Python 3 str literal for `text`: `\` and `"` escaped, control, format, separator,
 * private-use, unassigned and surrogate code points written as escapes; other unicode kept readable.
 */
export function pyString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (const ch of text) {
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (/[\p{C}\p{Zl}\p{Zp}]/u.test(ch)) out += escapeCodePoint(ch.codePointAt(0)!);
    else out += ch;
  }
  return out + '"';
}

/**
 * A Python literal for a JSON-like value: str, int, True/False/None, list, dict (insertion order kept).
 * Throws Error for a number that is not a safe integer (ports and flags only are embedded).
 */
export function pyLiteral(value: PyValue, indent = ""): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`expected an integer for port_config.py, found ${value}`);
    return String(value);
  }
  if (typeof value === "string") return pyString(value);
  const inner = indent + "    ";
  if (Array.isArray(value)) return `[${value.map((v) => pyLiteral(v, inner)).join(", ")}]`;
  const keys = Object.keys(value);
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((k) => `${inner}${pyString(k)}: ${pyLiteral(value[k], inner)},\n`).join("")}${indent}}`;
}

/** One `"name": {...}` entry per line: the tables stay readable and diff well. */
function table(rows: [string, PyValue][]): string {
  if (rows.length === 0) return "{}";
  return `{\n${rows.map(([k, v]) => `    ${pyString(k)}: ${inline(v)},\n`).join("")}}`;
}

function inline(value: PyValue): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return `{${Object.keys(value)
      .map((k) => `${pyString(k)}: ${pyLiteral(value[k])}`)
      .join(", ")}}`;
  }
  return pyLiteral(value);
}

/**
 * Renders `units/port_config.py` (mode 0644). Deterministic: same model, same bytes. Services keep
 * manifest order; workers are listed with port None so that get_port can say "it is a worker". A service
 * with `instances` also has "ports" (every instance, index order) for get_ports; get_port is instance 0.
 */
export function renderPortConfigPy(model: Model): RenderedFile {
  const services = table(
    model.services.map((s): [string, PyValue] => [
      s.name,
      {
        port: s.port ?? null,
        ...(s.multi && s.port !== undefined ? { ports: s.instances.map((i) => i.port!) } : {}),
        group: s.group ?? null,
        enabled: s.enabled,
        technology: s.technology ?? null,
        description: s.description,
      },
    ]),
  );
  const external = table(
    model.external.map((e): [string, PyValue] => [
      e.name,
      { port: e.port, host: e.host ?? null, description: e.description },
    ]),
  );
  // Inside the module docstring: escaped like a str literal's body, so no quote or backslash can end it.
  const docText = (text: string) => pyString(text).slice(1, -1);
  const values: Record<string, string> = {
    NOTE: docText(generatedNote(model)),
    PROJECT_NAME: docText(model.project),
    PROJECT: pyString(model.project),
    MANIFEST: pyString(model.paths.manifest),
    DEFAULT_HOST: pyString(model.host),
    SERVICES: services,
    EXTERNAL: external,
  };
  const content = PORT_CONFIG_TEMPLATE.replace(/@@([A-Z_]+)@@/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`port_config.py template: unknown placeholder @@${key}@@`);
    return v;
  });
  return { path: "units/port_config.py", content, mode: 0o644 };
}
