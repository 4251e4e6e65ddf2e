/**
 * Changing manifest.json the way a person would: only the values that changed are rewritten, new keys are
 * indented like their siblings, and key order, compact one-line objects and the rest of the hand
 * formatting survive an add-service. Offsets come from jsonc-parser's syntax tree (`parseTree`);
 * jsonc-parser's own `modify` was not used because with formatting on it re-indents the neighbouring
 * property, and without it inserts compact JSON on the sibling's line.
 */
import { findNodeAtLocation, parseTree, type JSONPath, type Node } from "jsonc-parser";
import { isDeepStrictEqual } from "node:util";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The paths where `after` differs from `before`: [path, new value or undefined for a removal]. */
export function changedPaths(before: unknown, after: unknown, path: JSONPath = []): Array<[JSONPath, unknown]> {
  if (isDeepStrictEqual(before, after)) return [];
  if (!isObject(before) || !isObject(after)) return [[path, after]];
  const changes: Array<[JSONPath, unknown]> = [];
  for (const key of Object.keys(before)) if (!(key in after)) changes.push([[...path, key], undefined]);
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) changes.push([[...path, key], value]);
    else changes.push(...changedPaths(before[key], value, [...path, key]));
  }
  return changes;
}

interface Style {
  unit: string;
  eol: string;
}

function styleOf(text: string): Style {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const m = /\n([ \t]+)"/.exec(text);
  return { unit: m ? (m[1].startsWith("\t") ? "\t" : m[1]) : "  ", eol };
}

/** The whitespace between the start of the line and `offset`. */
function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const lead = /^[ \t]*/.exec(text.slice(lineStart, offset))![0];
  return lead;
}

/** `value` as JSON; multi-line values continue at `indent`, one-line if `oneLine`. */
function render(value: unknown, indent: string, style: Style, oneLine: boolean): string {
  if (oneLine || !(typeof value === "object" && value !== null)) return oneLineJson(value);
  return JSON.stringify(value, null, style.unit)
    .split("\n")
    .join(style.eol + indent);
}

/** `{ "a": 1, "b": [1, 2] }`: JSON on one line with a space after each separator. */
function oneLineJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oneLineJson).join(", ")}]`;
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length
      ? `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${oneLineJson(v)}`).join(", ")} }`
      : "{}";
  }
  return JSON.stringify(value) ?? "null";
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

/** One change applied to `text` (which must parse). */
function applyChange(text: string, path: JSONPath, value: unknown, style: Style): string {
  const root = parseTree(text)!;
  const node = findNodeAtLocation(root, path);
  const parentPath = path.slice(0, -1);
  const parent = findNodeAtLocation(root, parentPath) as Node;
  const key = String(path[path.length - 1]);
  if (node && value !== undefined) {
    const oneLine = !text.slice(node.offset, node.offset + node.length).includes("\n");
    return splice(
      text,
      node.offset,
      node.offset + node.length,
      render(value, indentAt(text, node.parent!.offset), style, oneLine),
    );
  }
  const props = parent.children ?? [];
  if (node && value === undefined) {
    const index = props.findIndex((p) => p.children?.[0]?.value === key);
    const prop = props[index];
    if (index > 0)
      return splice(text, props[index - 1].offset + props[index - 1].length, prop.offset + prop.length, "");
    if (props.length > 1) return splice(text, prop.offset, props[1].offset, "");
    return splice(text, parent.offset, parent.offset + parent.length, "{}");
  }
  if (value === undefined) return text;
  // a new key: after the last property, indented like it; in an empty object, one level deeper than it
  if (props.length) {
    const last = props[props.length - 1];
    const oneLine = !text.slice(parent.offset, parent.offset + parent.length).includes("\n");
    if (oneLine)
      return splice(
        text,
        last.offset + last.length,
        last.offset + last.length,
        `, ${JSON.stringify(key)}: ${render(value, "", style, true)}`,
      );
    const indent = indentAt(text, last.offset);
    return splice(
      text,
      last.offset + last.length,
      last.offset + last.length,
      `,${style.eol}${indent}${JSON.stringify(key)}: ${render(value, indent, style, false)}`,
    );
  }
  const outer = indentAt(text, parent.parent?.offset ?? parent.offset);
  const indent = outer + style.unit;
  return splice(
    text,
    parent.offset,
    parent.offset + parent.length,
    `{${style.eol}${indent}${JSON.stringify(key)}: ${render(value, indent, style, false)}${style.eol}${outer}}`,
  );
}

/**
 * `text` (the JSON of `before`) edited so that it parses to `after`, touching only what changed.
 * Objects missing on the way to a new key are created. The caller validates the result as usual.
 */
export function editJsonText(text: string, before: unknown, after: unknown): string {
  const style = styleOf(text);
  let edited = text;
  for (const [path, value] of changedPaths(before, after)) {
    // create missing parents first (e.g. "ports" when the first reserved port is added)
    for (let depth = 1; depth < path.length; depth++) {
      if (!findNodeAtLocation(parseTree(edited)!, path.slice(0, depth))) {
        edited = applyChange(edited, path.slice(0, depth), {}, style);
      }
    }
    edited = applyChange(edited, path, value, style);
  }
  return edited.endsWith("\n") ? edited : edited + style.eol;
}
