// bench/generate: validate + resolve + render of synthetic manifests of 1,000 and 10,000 services,
// the loadProject-like path split into phases: parseManifestText → validateManifest → resolveModel → renderAll.
// Target (README "Performance"): 10,000 services in under 1.5 s, cost growing linearly (10k/1k ratio near 10).
//
// Each measurement is a FRESH child process (what one `orchestrate generate` pays: cold JIT, cold heap)
// that runs the pipeline --iters times: the first run is "cold", the median of the others "warm". The
// sizes alternate (1k, 10k, 1k, 10k …) for --reps children each. Peak RSS: the child's
// process.resourceUsage().maxRSS, and process.memoryUsage() sampled after each phase.
// Also timed: the whole CLI, `node dist/cli.cjs -m M validate`, on the same manifests.
//
// The functions come from dist/index.cjs when it exports all four; otherwise the needed src/ modules are
// bundled on the fly with esbuild into a temp folder (the result file says which).
//
// usage: node bench/generate.mjs [--reps 5] [--iters 4] [--sizes 1000,10000] [--profile] [--lib PATH]
//   --profile: one extra child per size under `node --cpu-prof`, printing the top self-time functions.
//   --lib: a CJS bundle exporting the four functions to time instead (e.g. a patched build in a temp dir).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  distCli,
  distIndex,
  flag,
  median,
  msSince,
  option,
  printTable,
  profileSelfTimes,
  root,
  summary,
  target,
  timeSpawn,
  writeResult,
} from "./lib.mjs";

const FUNCTIONS = ["parseManifestText", "validateManifest", "resolveModel", "renderAll"];

/** A valid manifest of `n` services: wide group ranges, unique ports, dependsOn chains, env, health, workers. */
export function syntheticManifest(n) {
  const perGroup = 1000;
  const groupCount = Math.ceil(n / perGroup);
  const base = 20000;
  const groups = {};
  for (let g = 0; g < groupCount; g++) {
    // each group's range is twice as wide as it needs: 2,000 ports for 1,000 services
    groups[`g${g}`] = {
      range: `${base + g * 2 * perGroup}-${base + (g + 1) * 2 * perGroup - 1}`,
      description: `synthetic group ${g}`,
    };
  }
  const avoid = [];
  const reserved = {};
  const services = {};
  for (let i = 0; i < n; i++) {
    const g = Math.floor(i / perGroup);
    const name = `svc-${String(i).padStart(5, "0")}`;
    const worker = i % 50 === 49; // 2% workers without a port
    const port = base + g * 2 * perGroup + 2 * (i % perGroup); // even ports; odd ones stay free
    const s = {
      group: `g${g}`,
      command:
        i % 3 === 0
          ? ["/usr/bin/python3", "services/http_service.py", "{name}", "--port", "{port}"]
          : `node services/app.js --name {name} --port {port} --label "svc ${i}"`,
      directory: i % 7 === 0 ? `apps/${name}` : ".",
      description: `Synthetic service ${i} (${["api", "worker", "watchdog", "poller"][i % 4]})`,
      technology: i % 3 === 0 ? "python" : "node",
      env: {
        LOG_LEVEL: ["info", "debug", "warn"][i % 3],
        DB_URL: `postgres://127.0.0.1:5432/db${i % 10}?sslmode=disable&app=${name}`,
        RATIO: `${i % 100}%`,
      },
    };
    // every 10th has a value with a double quote: supervisord needs the env-file wrapper for it
    if (i % 10 === 3) s.env.GREETING = `hello "${name}"`;
    if (worker) {
      s.command = ["/usr/bin/python3", "services/worker.py", name];
    } else {
      s.port = port;
      if (i % 2 === 0) s.health = "/health";
    }
    // dependsOn chains of 10: each service depends on the one before it within its block of 10;
    // every 100th also depends on the first service of the previous hundred (a longer backbone)
    const deps = [];
    if (i % 10 !== 0) deps.push(`svc-${String(i - 1).padStart(5, "0")}`);
    if (i % 100 === 0 && i >= 100) deps.push(`svc-${String(i - 100).padStart(5, "0")}`);
    if (deps.length) s.dependsOn = deps;
    if (i % 5 === 0) s.stopTimeout = 5;
    if (i % 11 === 0) s.startSecs = 3;
    if (i % 40 === 19) s.enabled = false; // last of its chain: nothing depends on a disabled service
    services[name] = s;
  }
  for (let g = 0; g < groupCount; g++) {
    avoid.push(base + g * 2 * perGroup + 1);
    reserved[String(base + g * 2 * perGroup + 3)] = `reserved in group ${g}`;
  }
  return {
    $schema: "./manifest.schema.json",
    project: "synth",
    host: "127.0.0.1",
    ports: { allowed: [`${base}-${base + groupCount * 2 * perGroup - 1}`, "5432", "6379"], avoid, reserved },
    groups,
    external: { postgres: { port: 5432, description: "database" }, redis: { port: 6379, description: "cache" } },
    logs: { maxBytes: 1048576, backups: 3 },
    services,
  };
}

/** The four functions: from dist/index.cjs if it exports them, else a bundle of src/ made now. */
async function libraryPath(tmp) {
  const req = createRequire(import.meta.url);
  try {
    const lib = req(distIndex);
    if (FUNCTIONS.every((f) => typeof lib[f] === "function"))
      return { path: distIndex, source: "dist/index.cjs", missing: [] };
  } catch {
    /* not built: bundle below */
  }
  const missing = (() => {
    try {
      const lib = req(distIndex);
      return FUNCTIONS.filter((f) => typeof lib[f] !== "function");
    } catch {
      return FUNCTIONS;
    }
  })();
  const out = join(tmp, "pipeline.cjs");
  await build({
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
    mainFields: ["module", "main"],
    absWorkingDir: root,
    stdin: {
      contents: `export { parseManifestText } from "./src/manifest/load";
export { validateManifest } from "./src/manifest/validate";
export { resolveModel } from "./src/manifest/resolve";
export { renderAll } from "./src/render";`,
      resolveDir: root,
      loader: "ts",
    },
    outfile: out,
  });
  return { path: out, source: "esbuild bundle of src/ (dist/index.cjs lacks " + missing.join(", ") + ")", missing };
}

// ---------------------------------------------------------------------------------------------------
// child: node bench/generate.mjs --child MANIFEST LIB ITERS → one JSON line on stdout
if (process.argv[2] === "--child" && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [, , , manifestPath, libPath, itersText] = process.argv;
  const t0 = process.hrtime.bigint();
  const lib = createRequire(import.meta.url)(libPath);
  const loadMs = msSince(t0);
  const runs = [];
  let peakSampled = 0;
  const sample = () => (peakSampled = Math.max(peakSampled, process.memoryUsage().rss));
  let files = 0;
  let bytes = 0;
  for (let it = 0; it < Number(itersText); it++) {
    const ph = {};
    let t = process.hrtime.bigint();
    const text = readFileSync(manifestPath, "utf8");
    const raw = lib.parseManifestText(text, manifestPath);
    ph.parse = msSince(t);
    sample();
    t = process.hrtime.bigint();
    const v = lib.validateManifest(raw);
    ph.validate = msSince(t);
    sample();
    if (!v.manifest)
      throw new Error(
        `synthetic manifest invalid: ${v.errors
          .slice(0, 3)
          .map((p) => `${p.path}: ${p.message}`)
          .join("; ")}`,
      );
    t = process.hrtime.bigint();
    const model = lib.resolveModel(v.manifest, manifestPath);
    ph.resolve = msSince(t);
    sample();
    t = process.hrtime.bigint();
    const rendered = lib.renderAll(model);
    ph.render = msSince(t);
    sample();
    ph.total = ph.parse + ph.validate + ph.resolve + ph.render;
    files = rendered.length;
    bytes = rendered.reduce((a, f) => a + Buffer.byteLength(f.content ?? ""), 0);
    runs.push(ph);
  }
  const mem = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      loadMs,
      runs,
      files,
      bytes,
      peakRssSampled: peakSampled,
      maxRSS: process.resourceUsage().maxRSS * 1024,
      heapUsed: mem.heapUsed,
    }) + "\n",
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------
const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain && process.argv[2] !== "--child") await main();

async function main() {
  const REPS = option("reps", 5);
  const ITERS = Math.max(2, option("iters", 4));
  const SIZES = String(option("sizes", "1000,10000")).split(",").map(Number);
  const PROFILE = flag("profile");
  const self = fileURLToPath(import.meta.url);
  const tmp = mkdtempSync(join(tmpdir(), "orchestrate-bench-generate-"));
  try {
    const lib = option("lib", "")
      ? { path: option("lib", ""), source: `--lib ${option("lib", "")}`, missing: [] }
      : await libraryPath(tmp);
    if (lib.missing.length)
      console.log(
        `note: dist/index.cjs does not export ${lib.missing.join(", ")}; using an esbuild bundle of src/ made for this run`,
      );
    const manifests = {};
    for (const n of SIZES) {
      const dir = join(tmp, `m${n}`);
      mkdirSync(dir);
      const path = join(dir, "manifest.json");
      writeFileSync(path, JSON.stringify(syntheticManifest(n), null, 2) + "\n");
      manifests[n] = { path, bytes: statSync(path).size };
    }

    const child = (n, extraNodeArgs = []) => {
      const r = spawnSync(
        process.execPath,
        [...extraNodeArgs, self, "--child", manifests[n].path, lib.path, String(ITERS)],
        { encoding: "utf8", maxBuffer: 64 << 20, cwd: tmp },
      );
      if (r.status !== 0) throw new Error(`child for ${n} services failed (exit ${r.status}):\n${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").pop());
    };

    // interleaved: 1k, 10k, 1k, 10k …; one warm-up pair first (page cache, disk)
    const results = Object.fromEntries(SIZES.map((n) => [n, []]));
    for (const n of SIZES) child(n);
    for (let rep = 0; rep < REPS; rep++) for (const n of SIZES) results[n].push(child(n));
    // the whole CLI on the same manifests (validate: read + parse + validate + resolve + stamp, plus start-up)
    const cli = Object.fromEntries(SIZES.map((n) => [`cli validate ${n}`, []]));
    for (const n of SIZES) timeSpawn(process.execPath, [distCli, "-m", manifests[n].path, "validate"]);
    for (let rep = 0; rep < REPS; rep++)
      for (const n of SIZES)
        cli[`cli validate ${n}`].push(
          timeSpawn(process.execPath, [distCli, "-m", manifests[n].path, "validate"], { cwd: tmp }).ms,
        );

    const phases = ["parse", "validate", "resolve", "render", "total"];
    const report = {};
    console.log(
      `bench/generate: synthetic manifests ${SIZES.map((n) => `${n} (${(manifests[n].bytes / 1024).toFixed(0)} KiB)`).join(", ")}; ${REPS} fresh processes per size, ${ITERS} pipeline runs in each (cold = first, warm = median of the rest); node ${process.version}`,
    );
    console.log(`functions from: ${lib.source}`);
    const pad = (s, w) => String(s).padStart(w);
    console.log(
      `${"size".padEnd(8)}${"kind".padEnd(6)}${phases.map((p) => pad(p + " ms", 12)).join("")}${pad("files", 8)}${pad("peak RSS", 11)}${pad("ms/svc", 9)}`,
    );
    for (const n of SIZES) {
      const rs = results[n];
      const cold = Object.fromEntries(phases.map((p) => [p, median(rs.map((r) => r.runs[0][p]))]));
      const warm = Object.fromEntries(
        phases.map((p) => [p, median(rs.map((r) => median(r.runs.slice(1).map((x) => x[p]))))]),
      );
      const maxRSS = Math.max(...rs.map((r) => r.maxRSS));
      const peakSampled = Math.max(...rs.map((r) => r.peakRssSampled));
      report[n] = {
        manifestBytes: manifests[n].bytes,
        cold: round(cold),
        warm: round(warm),
        coldTotal: summary(rs.map((r) => r.runs[0].total)),
        warmTotal: summary(rs.map((r) => median(r.runs.slice(1).map((x) => x.total)))),
        libLoadMs: Math.round(median(rs.map((r) => r.loadMs)) * 10) / 10,
        files: rs[0].files,
        renderedBytes: rs[0].bytes,
        peakRssBytes: maxRSS,
        peakRssSampledBytes: peakSampled,
        heapUsedAfterBytes: Math.max(...rs.map((r) => r.heapUsed)),
      };
      for (const [kind, ph] of [
        ["cold", cold],
        ["warm", warm],
      ]) {
        console.log(
          `${String(n).padEnd(8)}${kind.padEnd(6)}${phases.map((p) => pad(ph[p].toFixed(1), 12)).join("")}${pad(rs[0].files, 8)}${pad(kind === "cold" ? (maxRSS / 2 ** 20).toFixed(0) + " MiB" : "", 11)}${pad((ph.total / n).toFixed(3), 9)}`,
        );
      }
    }
    console.log(
      `(peak RSS = max over the ${REPS} children of resourceUsage().maxRSS; sampled memoryUsage().rss after each phase peaked at ${SIZES.map((n) => (report[n].peakRssSampledBytes / 2 ** 20).toFixed(0) + " MiB").join(" / ")})`,
    );
    console.log("");
    const cliTable = printTable(cli, { baseline: `cli validate ${SIZES[0]}` });

    const targets = [];
    const [small, large] = [Math.min(...SIZES), Math.max(...SIZES)];
    const scale = large / small;
    if (SIZES.length >= 2) {
      console.log("");
      const ratios = {};
      for (const p of phases) {
        ratios[p] = {
          cold: report[large].cold[p] / report[small].cold[p],
          warm: report[large].warm[p] / report[small].warm[p],
        };
      }
      console.log(
        `${large}/${small} ratio per phase (linear = ${scale}): ` +
          phases.map((p) => `${p} ${ratios[p].cold.toFixed(1)} cold / ${ratios[p].warm.toFixed(1)} warm`).join(", "),
      );
      report.ratios = Object.fromEntries(
        Object.entries(ratios).map(([p, r]) => [
          p,
          { cold: Math.round(r.cold * 100) / 100, warm: Math.round(r.warm * 100) / 100 },
        ]),
      );
      if (large === 10000)
        targets.push(target(`10,000 services validate+resolve+render, cold, in ms`, report[large].cold.total, 1500));
      targets.push(
        target(
          `${large}/${small} total ratio, warm (linear: ${scale}; allowing 1.5× that)`,
          ratios.total.warm,
          scale * 1.5,
        ),
      );
      report.cliRatio = cliTable[`cli validate ${large}`].ratio;
    }

    if (PROFILE) {
      // a bundle line → the module it came from (esbuild writes "// src/x/y.ts" before each module)
      const markers =
        lib.path === distIndex
          ? []
          : readFileSync(lib.path, "utf8")
              .split("\n")
              .flatMap((l, i) => (/^\/\/ (src|node_modules)\/\S+\.[cm]?[jt]s$/.test(l) ? [[i + 1, l.slice(3)]] : []));
      const base = lib.path.split("/").slice(-2).join("/");
      const sourceOf = (where) => {
        if (!where?.startsWith(base + ":") || !markers.length) return undefined;
        const line = Number(where.slice(base.length + 1));
        let found;
        for (const [at, file] of markers) if (at <= line) found = file;
        return found ? `${found} (bundle line ${line})` : undefined;
      };
      const profiles = {};
      for (const n of SIZES) {
        const dir = join(tmp, `prof${n}`);
        mkdirSync(dir);
        child(n, ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "200"]);
        const top = profileSelfTimes(
          readdirSync(dir).map((f) => join(dir, f)),
          12,
        ).map((t) => ({ ...t, source: sourceOf(t.where) }));
        profiles[n] = top;
        console.log(`\nprofile, ${n} services (${ITERS} pipeline runs), top self time:`);
        for (const t of top) console.log(`${t.ms.toFixed(1).padStart(9)} ms  ${t.fn}  ${t.source ?? t.where}`);
      }
      report.profiles = profiles;
    }
    writeResult("generate", {
      reps: REPS,
      iters: ITERS,
      sizes: SIZES,
      functionsFrom: lib.source,
      missingExports: lib.missing,
      results: report,
      cli: cliTable,
      targets,
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function round(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
