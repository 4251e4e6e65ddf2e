/**
 * No control characters in any string of the manifest: supervisord cannot carry a newline in a value,
 * systemd drops or rejects them (docs/facts.md), and a terminal escape in a description is an attack.
 */
import type { Problem } from "../../errors";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function visible(s: string): string {
  return JSON.stringify(s);
}

/** Every string and key of the raw manifest containing U+0000-U+001F or U+007F, as error Problems (docs/facts.md). */
export function stringRules(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === "string") {
      if (CONTROL.test(value)) problems.push(problem(path, value));
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, String(i)]));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (CONTROL.test(k)) problems.push(problem(path, k, true));
        walk(v, [...path, k]);
      }
    }
  };
  walk(raw, []);
  return problems;
}

function problem(path: string[], value: string, isKey = false): Problem {
  const service = path[0] === "services" ? path[1] : undefined;
  const field = service ? path.slice(2).join(".") : path.join(".");
  const code = value.match(CONTROL)![0].charCodeAt(0);
  return {
    severity: "error",
    path: path.join("."),
    service,
    field: field || "(key)",
    value,
    message: `${isKey ? "key" : "value"} ${visible(value)} contains control character U+${code.toString(16).padStart(4, "0").toUpperCase()} (newline, tab, escape…), which supervisord and systemd cannot carry faithfully`,
    fix: "remove it; put multi-line or binary values in a file and pass its path",
  };
}
