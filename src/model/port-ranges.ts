/**
 * Port ranges as written in the manifest (`"8000-8100"`, `"6000"`, `6000`) and the few set operations the
 * budget and the renderers need. Pure converters: bad input throws a plain Error whose message the
 * caller (manifest policy, CLI) places at a location.
 */
import type { PortRange } from "./types";

/** Re-exported so users of the range helpers need only this module. */
export type { PortRange };

/** Lowest TCP port. */
export const MIN_PORT = 1;
/** Highest TCP port. */
export const MAX_PORT = 65535;

const RANGE = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/;

function rangeError(text: string | number): Error {
  const found = typeof text === "number" ? String(text) : JSON.stringify(text);
  return new Error(`expected LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, found ${found}`);
}

/**
 * Parses one range: `"8000-8100"` → `{low: 8000, high: 8100}`, `"6000"` or `6000` → `{low: 6000, high: 6000}`.
 * Surrounding blanks are ignored. Throws Error ("expected LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535, found …")
 * for anything else: reversed bounds, 0, > 65535, fractions, signs, empty text.
 */
export function parseRange(text: string | number): PortRange {
  let low: number;
  let high: number;
  if (typeof text === "number") {
    low = high = text;
  } else {
    const m = RANGE.exec(text);
    if (!m) throw rangeError(text);
    low = Number(m[1]);
    high = m[2] === undefined ? low : Number(m[2]);
  }
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < MIN_PORT || high > MAX_PORT || low > high) {
    throw rangeError(text);
  }
  return { low, high };
}

/**
 * Parses a manifest `range`/`allowed` value: one range or a list of them, in the order written.
 * Throws like {@link parseRange}, adding the list index for lists (`expected …, found "x" (item 2)`).
 */
export function parseRanges(value: string | number | (string | number)[]): PortRange[] {
  if (!Array.isArray(value)) return [parseRange(value)];
  return value.map((item, i) => {
    try {
      return parseRange(item);
    } catch (err) {
      throw new Error(`${(err as Error).message} (item ${i})`);
    }
  });
}

/** True when `port` lies in at least one of `ranges` (bounds inclusive; any order, overlaps allowed). */
export function inRanges(port: number, ranges: readonly PortRange[]): boolean {
  for (const r of ranges) if (port >= r.low && port <= r.high) return true;
  return false;
}

/** Writes ranges the way people read them, in the given order: `"3000-4000, 6000, 8001-8009"`; `""` for none. */
export function formatRanges(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.low === r.high ? String(r.low) : `${r.low}-${r.high}`)).join(", ");
}

/**
 * Sorted, disjoint ranges covering exactly the same ports: overlapping and adjacent ranges are joined
 * (`8000-8010, 8005-8020, 8021` → `8000-8021`). Returns new objects; the input is not changed.
 */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.low - b.low || a.high - b.high);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.low <= last.high + 1) last.high = Math.max(last.high, r.high);
    else out.push({ low: r.low, high: r.high });
  }
  return out;
}

/** Ports common to both lists, as sorted disjoint ranges (e.g. a group's ranges within `ports.allowed`). */
export function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const x = mergeRanges(a);
  const y = mergeRanges(b);
  const out: PortRange[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const low = Math.max(x[i].low, y[j].low);
    const high = Math.min(x[i].high, y[j].high);
    if (low <= high) out.push({ low, high });
    if (x[i].high < y[j].high) i++;
    else j++;
  }
  return out;
}

/**
 * Number of ports in one range (`high - low + 1`), or the number of distinct ports in a list of ranges
 * (overlaps counted once).
 */
export function rangeSize(range: PortRange | readonly PortRange[]): number {
  if (!Array.isArray(range)) {
    const r = range as PortRange;
    return r.high - r.low + 1;
  }
  let n = 0;
  for (const r of mergeRanges(range)) n += r.high - r.low + 1;
  return n;
}

/** Every port in `ranges`, ascending, each once even where ranges overlap. Lazy: nothing is materialized. */
export function* portsIn(ranges: readonly PortRange[]): Generator<number, void, undefined> {
  for (const r of mergeRanges(ranges)) for (let p = r.low; p <= r.high; p++) yield p;
}
