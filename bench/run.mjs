// Runs the benchmarks in sequence, each in its own Node process (so one cannot warm or load the other),
// then prints every target from bench/results/NAME.json in one summary. `npm run bench` builds first.
//
// usage: node bench/run.mjs [NAME…] [-- ARGS passed to every bench]
//   NAME: startup, generate, restart, ports, proxy, rolling (default: all, in that order)
//   e.g.  node bench/run.mjs startup generate -- --reps 10
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { distCli, root } from "./lib.mjs";

const ALL = ["startup", "generate", "restart", "ports", "proxy", "rolling", "read-commands", "restart-apps"];
const argv = process.argv.slice(2);
const dash = argv.indexOf("--");
const names = (dash >= 0 ? argv.slice(0, dash) : argv).map((n) => n.replace(/\.mjs$/, ""));
const passed = dash >= 0 ? argv.slice(dash + 1) : [];
const unknown = names.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(", ")} (known: ${ALL.join(", ")})`);
  process.exit(2);
}
if (!existsSync(distCli)) {
  console.error(`${distCli} is missing: run node scripts/build.mjs first (npm run bench does)`);
  process.exit(2);
}
const chosen = names.length ? ALL.filter((n) => names.includes(n)) : ALL;

const outcome = [];
for (const name of chosen) {
  const file = join(root, "bench", "results", `${name}.json`);
  const before = existsSync(file) ? statSync(file).mtimeMs : 0;
  console.log(`\n━━ bench/${name} ${"━".repeat(Math.max(0, 60 - name.length))}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, "bench", `${name}.mjs`), ...passed], {
    stdio: "inherit",
    cwd: root,
  });
  const seconds = (Date.now() - t0) / 1000;
  let targets = [];
  let figures = [];
  if (r.status === 0 && existsSync(file) && statSync(file).mtimeMs > before) {
    try {
      const result = JSON.parse(readFileSync(file, "utf8"));
      targets = result.targets ?? [];
      figures = result.figures ?? []; // reported figures without a target (bench/proxy)
    } catch {
      /* unreadable result: reported below as no targets */
    }
  }
  outcome.push({ name, status: r.status ?? r.signal, seconds, targets, figures });
}

console.log(`\n━━ summary ${"━".repeat(58)}`);
for (const o of outcome) {
  if (o.status !== 0) {
    console.log(`${o.name.padEnd(9)} FAILED (exit ${o.status}) after ${o.seconds.toFixed(0)} s`);
    continue;
  }
  console.log(`${o.name.padEnd(9)} ${o.seconds.toFixed(0)} s`);
  for (const t of o.targets)
    console.log(`          ${t.met ? "MET    " : "NOT MET"} ${t.description}: ${t.value} (limit ${t.limit})`);
  for (const f of o.figures) console.log(`          figure  ${f.description}: ${f.value}`);
}
// a missed target is a finding, not a failure; only a bench that crashed fails the run
process.exitCode = outcome.some((o) => o.status !== 0) ? 1 : 0;
