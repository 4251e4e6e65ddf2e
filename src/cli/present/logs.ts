/**
 * logs: the tails of one or many services' logs as one stream in time order (src/inspect/log-merge.ts),
 * each line prefixed with its service (and instance) and coloured per service; with follow, every line
 * appended to any of the files from then on, in the order it arrives.
 */
import { closeSync, openSync, readSync, statSync, watch } from "node:fs";
import type { Context } from "../context";
import { mergeLogs, readSource, type LogSource, type MergedLine } from "../../inspect/log-merge";
import type { Instance } from "../../model/types";

/** One log file to show: whose, which stream. */
export interface LogFile {
  label: string;
  stream: "stdout" | "stderr";
  path: string;
}

/** The log files of `instances` (stdout then stderr; one file when stderr is merged into stdout). */
export function logFiles(instances: Instance[], options: { stderrOnly: boolean }): LogFile[] {
  return instances.flatMap((i) => {
    const files: LogFile[] = [];
    if (!options.stderrOnly) files.push({ label: i.label, stream: "stdout", path: i.stdoutLog });
    if (i.stderrLog !== i.stdoutLog || options.stderrOnly)
      files.push({ label: i.label, stream: "stderr", path: i.stderrLog });
    return files;
  });
}

/** Lines read before the last N of each file, for the times of shown lines that carry none. */
const CONTEXT_LINES = 200;

/** ANSI colours given to services in turn (cyan, yellow, magenta, green, blue, and their bright forms). */
const PALETTE = [36, 33, 35, 32, 34, 96, 93, 95, 92, 94];

/** Prints the last `lines` lines of each file (newer than `sinceMs` when set) merged, then follows them. */
export async function showLogs(
  ctx: Context,
  files: LogFile[],
  options: { lines: number; follow: boolean; sinceMs?: number },
): Promise<void> {
  const labels = [...new Set(files.map((f) => f.label))];
  const width = Math.max(...files.map((f) => f.label.length + (f.stream === "stderr" ? 6 : 0)));
  const colour = new Map(labels.map((l, i) => [l, PALETTE[i % PALETTE.length]]));
  const prefix = (label: string, stream: "stdout" | "stderr") => {
    const text = `${stream === "stderr" ? `${label} (err)` : label}`.padEnd(width) + " |";
    return ctx.color ? `\u001b[${colour.get(label)}m${text}\u001b[0m` : text;
  };
  const write = (l: Pick<MergedLine, "label" | "stream" | "text">) =>
    ctx.stdout.write(`${prefix(l.label, l.stream)} ${l.text}\n`);

  // lines before the last N are read too: a shown line without a timestamp takes the time of the last
  // timestamped line before it in its file, even when that one is not shown (-n 3 orders as -n 1000 does)
  const context = options.sinceMs !== undefined ? Infinity : options.lines + CONTEXT_LINES;
  const sources = files
    .map((f) => readSource(f.path, f.label, f.stream, options.lines === 0 ? 0 : context))
    .filter((s): s is LogSource => s !== undefined);
  let merged = mergeLogs(sources);
  if (options.sinceMs !== undefined) {
    const since = options.sinceMs;
    merged = merged.filter((l) => l.at >= since);
  }
  // -n N per service and stream (with --since too): the last N of each file
  const kept = new Map<string, number>();
  merged = merged
    .reverse()
    .filter((l) => {
      const key = `${l.label}\0${l.stream}`;
      kept.set(key, (kept.get(key) ?? 0) + 1);
      return kept.get(key)! <= options.lines;
    })
    .reverse();
  for (const l of merged) write(l);
  if (!merged.length && !options.follow)
    ctx.stdout.write(
      `(no lines${options.sinceMs !== undefined ? " in that time" : ""} in ${files.map((f) => f.path).join(", ")})\n`,
    );
  if (!options.follow) return;

  const offsets = new Map(files.map((f) => [f.path, safeSize(f.path)]));
  const partial = new Map<string, string>();
  await new Promise<void>(() => {
    const poll = () => {
      for (const f of files) {
        const size = safeSize(f.path);
        const from = offsets.get(f.path)!;
        if (size < from) offsets.set(f.path, 0); // rotated: read the new file from its start
        if (size <= (offsets.get(f.path) ?? 0)) continue;
        const start = offsets.get(f.path)!;
        const fd = openSync(f.path, "r");
        const buffer = Buffer.alloc(size - start);
        readSync(fd, buffer, 0, buffer.length, start);
        closeSync(fd);
        offsets.set(f.path, size);
        const text = (partial.get(f.path) ?? "") + buffer.toString("utf8");
        const parts = text.split("\n");
        partial.set(f.path, parts.pop()!);
        for (const t of parts) write({ label: f.label, stream: f.stream, text: t });
      }
    };
    for (const f of files) {
      try {
        watch(f.path, poll);
      } catch {
        /* the file may appear later; the interval covers it */
      }
    }
    setInterval(poll, 250);
  });
}

/**
 * A duration as `--since` takes it: `90s`, `15m`, `2h`, `1d`, or a number of seconds; milliseconds, or
 * undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "s"]!;
  return Number(m[1]) * unit;
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
