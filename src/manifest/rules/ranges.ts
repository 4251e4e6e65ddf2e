/**
 * Port ranges as written in `groups.NAME.range` and `ports.allowed`: each must parse as LOW-HIGH with
 * 1 ≤ LOW ≤ HIGH ≤ 65535. The schema only checks the shape (`"8100-8002"` has the shape), so a reversed or
 * out-of-range range is reported here, naming the field, instead of crashing later in resolve.
 */
import type { Problem } from "../../errors";
import { parseRange } from "../../model/port-ranges";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function check(value: unknown, path: string, field: string, problems: Problem[]): void {
  const items = Array.isArray(value) ? value : [value];
  items.forEach((item, i) => {
    if (typeof item !== "string") return; // numbers and other types: the schema reports them
    const at = Array.isArray(value) ? `${path}.${i}` : path;
    try {
      parseRange(item);
    } catch {
      const m = typeof item === "string" ? /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(item) : null;
      const reversed = m && Number(m[1]) > Number(m[2]) && Number(m[1]) <= 65535;
      problems.push({
        severity: "error",
        path: at,
        field,
        value: item,
        message: reversed
          ? `${field} ${JSON.stringify(item)} is reversed: its low end ${m![1]} is above its high end ${m![2]}`
          : `${field} ${JSON.stringify(item)} is not a port range inside 1-65535`,
        fix: reversed
          ? `write it low-high: "${m![2]}-${m![1]}"`
          : 'write "LOW-HIGH" with 1 <= LOW <= HIGH <= 65535, e.g. "8000-8100", or a single port',
      });
    }
  });
}

/** Error Problems for every `groups.NAME.range` and `ports.allowed` item that does not parse. */
export function rangeRules(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const m = isObject(raw) ? raw : {};
  if (isObject(m.ports) && Array.isArray(m.ports.allowed))
    check(m.ports.allowed, "ports.allowed", "ports.allowed", problems);
  if (isObject(m.groups))
    for (const [name, g] of Object.entries(m.groups))
      if (isObject(g) && g.range !== undefined)
        check(g.range, `groups.${name}.range`, `groups.${name}.range`, problems);
  return problems;
}
