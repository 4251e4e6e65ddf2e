// Shared helpers for the benchmarks in bench/: statistics, an interleaved runner, spawn timing,
// table printing and the JSON result file. Benchmarks report RATIOS against a baseline measured in the
// same run (the README's Performance section); nothing here asserts on absolute times.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/..). */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const distCli = join(root, "dist", "cli.cjs");
export const distIndex = join(root, "dist", "index.cjs");
/** The full command tree when the build is split (dist/cli.cjs then holds only the `port` fast path). */
export const distFullCli = join(root, "dist", "orchestrate-cli.cjs");

/** Median of a list of numbers (the mean of the two middle values for an even count). */
export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The q-quantile (0..1) by nearest rank. */
export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** median, p10, p90, min, max and n of a sample, rounded for JSON. */
export function summary(xs) {
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    median: r(median(xs)),
    p10: r(quantile(xs, 0.1)),
    p90: r(quantile(xs, 0.9)),
    min: r(Math.min(...xs)),
    max: r(Math.max(...xs)),
    n: xs.length,
  };
}

/** Milliseconds since `t0` (a process.hrtime.bigint() value). */
export function msSince(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A numeric or string command-line option: `--name VALUE` (or `--name=VALUE`). */
export function option(name, fallback) {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === `--${name}` && i + 1 < argv.length)
      return typeof fallback === "number" ? Number(argv[i + 1]) : argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) {
      const v = argv[i].slice(name.length + 3);
      return typeof fallback === "number" ? Number(v) : v;
    }
  }
  return fallback;
}

/** True when `--name` is on the command line. */
export function flag(name) {
  return process.argv.includes(`--${name}`);
}

/**
 * Runs a command synchronously and returns its wall time in ms (hrtime, spawn to exit).
 * Throws when it exits non-zero (or with another code than `expectStatus`) or when `expectStdout` does not match.
 */
export function timeSpawn(cmd, args, opts = {}) {
  const { expectStatus = 0, expectStdout, ...spawnOpts } = opts;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...spawnOpts });
  const ms = msSince(t0);
  if (r.error) throw r.error;
  if (expectStatus !== null && r.status !== expectStatus) {
    throw new Error(
      `${cmd} ${args.join(" ")}: exit ${r.status ?? r.signal} (expected ${expectStatus})\n${r.stdout}${r.stderr}`,
    );
  }
  if (
    expectStdout !== undefined &&
    !(expectStdout instanceof RegExp ? expectStdout.test(r.stdout) : r.stdout === expectStdout)
  ) {
    throw new Error(`${cmd} ${args.join(" ")}: unexpected stdout ${JSON.stringify(r.stdout.slice(0, 300))}`);
  }
  return { ms, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/**
 * Interleaved runner: each repetition runs every variant once, in declaration order (A, B, C, A, B, C…),
 * so drift in machine load hits all variants alike. A variant is `() => number | {ms} | Promise<…>`
 * returning its own measured ms, or anything else (then the runner's wall time is used).
 * `before(name, rep)` runs untimed before each measurement (e.g. removing a cache file).
 * @returns name → array of ms
 */
export async function interleave(variants, { reps, warmup = 1, before, onRep } = {}) {
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let w = 0; w < warmup; w++) {
    for (const n of names) {
      await before?.(n, -1);
      await variants[n]();
    }
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const n of names) {
      await before?.(n, rep);
      const t0 = process.hrtime.bigint();
      const res = await variants[n]();
      const wall = msSince(t0);
      times[n].push(typeof res === "number" ? res : res && typeof res.ms === "number" ? res.ms : wall);
    }
    onRep?.(rep, times);
  }
  return times;
}

/**
 * Prints a table of medians (and p10/p90) with a ratio column against `baseline` (a variant name).
 * @returns name → summary, with `ratio` added when there is a baseline
 */
export function printTable(times, { baseline, unit = "ms", ratioLabel, digits = 1, silent = false } = {}) {
  const log = silent ? () => {} : console.log;
  const names = Object.keys(times);
  const base = baseline ? median(times[baseline]) : undefined;
  const w = Math.max(10, ...names.map((n) => n.length)) + 2;
  const label = ratioLabel ?? (baseline ? `× ${baseline.length > 18 ? "baseline" : baseline}` : "");
  const f = (x) => x.toFixed(digits).padStart(10);
  log(
    `${"variant".padEnd(w)}${`median ${unit}`.padStart(10)}${"p10".padStart(10)}${"p90".padStart(10)}${"n".padStart(5)}${base !== undefined ? label.padStart(Math.max(10, label.length + 2)) : ""}`,
  );
  const out = {};
  for (const n of names) {
    const s = summary(times[n]);
    const ratio = base !== undefined ? s.median / base : undefined;
    out[n] = ratio !== undefined ? { ...s, ratio: Math.round(ratio * 1000) / 1000 } : s;
    log(
      `${n.padEnd(w)}${f(s.median)}${f(s.p10)}${f(s.p90)}${String(s.n).padStart(5)}${ratio !== undefined ? ratio.toFixed(2).padStart(Math.max(10, label.length + 2)) : ""}`,
    );
  }
  return out;
}

/** "MET" / "NOT MET" line for a ratio target, printed and returned as an object for the JSON. */
export function target(description, value, limit, { lowerIsBetter = true } = {}) {
  const met = lowerIsBetter ? value <= limit : value >= limit;
  console.log(
    `target ${description}: ${typeof value === "number" ? value.toFixed(2) : value} (limit ${limit}) ${met ? "MET" : "NOT MET"}`,
  );
  return { description, value: Math.round(value * 1000) / 1000, limit, met };
}

/** Where the machine and runtime are described in each result file. */
export function environment() {
  const c = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: c.length,
    cpuModel: c[0]?.model,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Writes bench/results/NAME.json (git-ignored) and says where (unless silent). */
export function writeResult(name, data, { silent = false } = {}) {
  const dir = join(root, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, ...environment(), ...data }, null, 2) + "\n");
  if (!silent) console.log(`result: ${file}`);
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Self time per function of one or more V8 .cpuprofile files (from `node --cpu-prof`), highest first:
 * [{ fn, where, ms }]. `where` is file:line (1-based), shortened to the last two path parts.
 */
export function profileSelfTimes(files, top = 15) {
  const agg = new Map();
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, "utf8"));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const cf = byId.get(p.samples[i]).callFrame;
      const key = `${cf.functionName || "(anonymous)"}\t${cf.url ? `${cf.url.split("/").slice(-2).join("/")}:${cf.lineNumber + 1}` : ""}`;
      agg.set(key, (agg.get(key) ?? 0) + p.timeDeltas[i] / 1000);
    }
  }
  return [...agg]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => {
      const [fn, where] = k.split("\t");
      return { fn, where, ms: Math.round((ms / files.length) * 10) / 10 };
    });
}
