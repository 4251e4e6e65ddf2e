/**
 * Several logs as one stream in time order (`orchestrate logs` of many services, the failure tails of
 * restart/start/verify), and the folding of a traceback that every start retry printed again.
 *
 * Ordering: programs' output carries no time of its own, so a line is placed by the timestamp it starts
 * with when it has one (ISO 8601 `2026-12-02T07:02:29`, Python logging `2026-12-02 07:02:29,123`, gunicorn
 * `[2026-12-02 07:02:29 +0000]`); a line without one takes the time of the nearest earlier line of its file
 * that has one (the next one for the first lines of a file); a file in which no line has a timestamp is
 * placed, as a whole, at the file's last modification time. Lines of one file never change order, and at
 * equal times sources keep the order they were given in (stdout before stderr).
 */
import { statSync } from "node:fs";
import { tailBytes } from "./log-tail";

/** One log to merge: its lines (oldest first) and where they come from. */
export interface LogSource {
  /** shown before each line, e.g. "api" or "api:1"; also the key of its colour */
  label: string;
  stream: "stdout" | "stderr";
  lines: string[];
  /** the file's modification time (ms since epoch): the time of lines that carry none */
  mtimeMs: number;
}

/** One line of the merged stream. */
export interface MergedLine {
  label: string;
  stream: "stdout" | "stderr";
  text: string;
  /** the line's time in ms since epoch (its own timestamp, inherited, or the file's mtime) */
  at: number;
}

const STAMP = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,6}))?(?:\s*(Z|[+-]\d{2}:?\d{2}))?\]?/;

/** The time a line starts with, ms since epoch (local time when it names no zone); undefined without one. */
export function lineTime(line: string): number | undefined {
  const m = STAMP.exec(line);
  if (!m) return undefined;
  const ms = m[3] ? `.${m[3].slice(0, 3).padEnd(3, "0")}` : "";
  const zone = m[4] ? (m[4] === "Z" ? "Z" : m[4].replace(/^([+-]\d{2})(\d{2})$/, "$1:$2")) : "";
  const t = Date.parse(`${m[1]}T${m[2]}${ms}${zone}`);
  return Number.isNaN(t) ? undefined : t;
}

/** Merges `sources` into one stream in time order (see the module comment for lines without a time). */
export function mergeLogs(sources: LogSource[]): MergedLine[] {
  const timed = sources.map((s) => {
    const own = s.lines.map(lineTime);
    const first = own.find((t) => t !== undefined);
    let last = first ?? s.mtimeMs;
    return s.lines.map((text, i): MergedLine => {
      last = own[i] ?? last;
      return { label: s.label, stream: s.stream, text, at: last };
    });
  });
  const heads = timed.map(() => 0);
  const out: MergedLine[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < timed.length; i++) {
      if (heads[i] >= timed[i].length) continue;
      if (best < 0 || timed[i][heads[i]].at < timed[best][heads[best]].at) best = i;
    }
    if (best < 0) return out;
    out.push(timed[best][heads[best]++]);
  }
}

/** A line with its leading timestamp removed: what two retries' lines are compared by. */
function comparable(line: MergedLine): string {
  return `${line.label}\0${line.text.replace(STAMP, "").trim()}`;
}

/**
 * Folds a run of lines that repeats right after itself (a traceback printed again by every start retry,
 * with the lines around it) into one copy, followed by a note line "… repeated N times". Cycles of up to
 * `maxPeriod` lines are found; timestamps are ignored when comparing.
 */
export function foldRepeats(lines: MergedLine[], maxPeriod = 40): MergedLine[] {
  const keys = lines.map(comparable);
  const out: MergedLine[] = [];
  let i = 0;
  while (i < lines.length) {
    let folded = false;
    for (let p = 1; p <= maxPeriod && i + 2 * p <= lines.length; p++) {
      let reps = 1;
      while (i + (reps + 1) * p <= lines.length && sameRun(keys, i, i + reps * p, p)) reps++;
      if (reps >= 2 && (p > 1 || reps >= 3)) {
        const last = i + (reps - 1) * p;
        out.push(...lines.slice(last, last + p));
        const end = lines[last + p - 1];
        out.push({
          ...end,
          text: `… the ${p === 1 ? "line" : `${p} lines`} above repeated ${reps} times (once per start attempt)`,
        });
        i += reps * p;
        folded = true;
        break;
      }
    }
    if (!folded) out.push(lines[i++]);
  }
  return out;
}

function sameRun(keys: string[], a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (keys[a + k] !== keys[b + k]) return false;
  return true;
}

/** The last `lines` lines of a log file as a {@link LogSource}; undefined when the file is missing. */
export function readSource(
  path: string,
  label: string,
  stream: "stdout" | "stderr",
  lines: number,
): LogSource | undefined {
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = statSync(path).mtimeMs;
    text = tailBytes(path, Math.min(1024 * 1024, Math.max(4096, lines * 400)));
  } catch {
    return undefined;
  }
  const all = text === "" ? [] : (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
  // slice(-0) would be every line: `logs -n 0 -f` shows none of the old ones, only what arrives
  return { label, stream, lines: lines === Infinity ? all : lines <= 0 ? [] : all.slice(-lines), mtimeMs };
}
