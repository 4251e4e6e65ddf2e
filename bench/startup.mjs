// bench/startup: what a fresh `orchestrate port NAME` process costs against a bare `node -e 0`,
// interleaved (A, B, C, … A, B, C …) in ONE run, spawnSync wall times (hrtime), medians and ratios.
// Target (README "Performance"): the fast path costs at most 1.3× `node -e 0`.
//
// Variants:
//   node -e 0                    the baseline
//   port (fast path)             dist/cli.cjs -m manifest.json port trade_executor, the stamp in run/ present
//                                (one warm `validate` first writes it)
//   port (slow, no stamp)        the same on a temp copy of the manifest whose run/.manifest-validated is
//                                deleted before every run (untimed): full CLI, zod validation, stamp rewrite
//   url (slow path)              dist/cli.cjs url trade_executor: never takes the fast path
// and, unless --no-variants, the same two lookups through the OTHER build, made from src/ in a temp dir:
//   when dist/ is split (scripts/build.mjs: dist/cli.cjs holds only src/cli/fast-path.ts and `require`s
//   dist/orchestrate-cli.cjs when the fast path does not answer), the monolithic bundle it replaced
//   ("monolithic: …": one file, the full CLI behind a lazy import(), as dist/cli.cjs was before);
//   when dist/ is one bundle, the split build ("split: …": a tiny entry + the unchanged bundle).
//
// usage: node bench/startup.mjs [--reps 60] [--no-variants] [--profile]
//   --profile: 5 more runs of each fast path under `node --cpu-prof`, printing the top self-time entries
//   (wrapSafe = V8 compiling the bundle's source; readFileUtf8 = reading it)
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  distCli,
  distFullCli as fullCli,
  flag,
  interleave,
  option,
  printTable,
  profileSelfTimes,
  root,
  target,
  timeSpawn,
  writeResult,
} from "./lib.mjs";

const REPS = option("reps", 60);
const VARIANTS = !flag("no-variants");
const PROFILE = flag("profile");
const SERVICE = "trade_executor";
const manifest = join(root, "manifest.json");
if (!existsSync(distCli)) throw new Error(`${distCli} is missing: run node scripts/build.mjs first`);

const node = process.execPath;
const expectedPort =
  String(JSON.parse((await import("node:fs")).readFileSync(manifest, "utf8")).services[SERVICE].port) + "\n";

// one warm validate: writes run/.manifest-validated so `port` can take the fast path
timeSpawn(node, [distCli, "-m", manifest, "validate"]);

// a copy of the manifest without a stamp, for the slow `port` (the repo's own stamp is left alone)
const tmp = mkdtempSync(join(tmpdir(), "orchestrate-bench-startup-"));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
process.once("SIGINT", () => {
  cleanup();
  process.exit(130);
});
try {
  const slowDir = join(tmp, "slow");
  mkdirSync(slowDir);
  copyFileSync(manifest, join(slowDir, "manifest.json"));
  const slowManifest = join(slowDir, "manifest.json");
  const slowStamp = join(slowDir, "run", ".manifest-validated");

  // the other build, made in a temp dir from src/: when dist/ is split (dist/cli.cjs = only the fast path,
  // `require`ing dist/orchestrate-cli.cjs otherwise), the monolithic bundle it replaced (one file, the full
  // CLI behind a lazy `import()`, as before the split); when dist/ is one bundle, the split build.
  const distSplit = existsSync(fullCli) && statSync(distCli).size < 64 * 1024;
  let alt;
  if (VARIANTS) {
    const dir = join(tmp, "alt");
    mkdirSync(dir);
    const common = {
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      logLevel: "error",
      legalComments: "none",
      mainFields: ["module", "main"],
      absWorkingDir: root,
    };
    if (distSplit) {
      await build({
        ...common,
        stdin: {
          contents: `import { tryFastPath } from "./src/cli/fast-path";
const argv = process.argv.slice(2);
const code = tryFastPath(argv, process.env);
if (code !== undefined) process.exitCode = code;
else import("./src/cli/run-cli").then((m) => m.runCli(argv)).then((c) => { process.exitCode = c; }, (e) => { process.stderr.write(String(e && e.stack || e) + "\\n"); process.exitCode = 70; });`,
          resolveDir: root,
          loader: "ts",
        },
        outfile: join(dir, "cli.cjs"),
      });
      alt = { label: "monolithic", entry: join(dir, "cli.cjs"), entryBytes: statSync(join(dir, "cli.cjs")).size };
    } else {
      copyFileSync(distCli, join(dir, "cli-full.cjs"));
      await build({
        ...common,
        stdin: {
          contents: `import { tryFastPath } from "./src/cli/fast-path";
const code = tryFastPath(process.argv.slice(2), process.env);
if (code !== undefined) process.exitCode = code;
else require(require("node:path").join(__dirname, "cli-full.cjs"));`,
          resolveDir: root,
          loader: "ts",
        },
        outfile: join(dir, "cli.cjs"),
      });
      alt = { label: "split", entry: join(dir, "cli.cjs"), entryBytes: statSync(join(dir, "cli.cjs")).size };
    }
  }

  const port = (cli, m) => () => timeSpawn(node, [cli, "-m", m, "port", SERVICE], { expectStdout: expectedPort });
  const url = (cli) => () => timeSpawn(node, [cli, "-m", manifest, "url", SERVICE], { expectStdout: /^http:\/\// });
  const variants = {
    "node -e 0": () => timeSpawn(node, ["-e", "0"]),
    "port (fast path)": port(distCli, manifest),
    "port (slow, no stamp)": port(distCli, slowManifest),
    "url (slow path)": url(distCli),
  };
  if (alt) {
    variants[`${alt.label}: port (fast path)`] = port(alt.entry, manifest);
    variants[`${alt.label}: url (slow path)`] = url(alt.entry);
  }
  const before = (name) => {
    if (name === "port (slow, no stamp)") rmSync(slowStamp, { force: true });
  };
  // the fast-path variants must really take the fast path: the stamp must exist and match
  if (!existsSync(join(root, "run", ".manifest-validated")))
    throw new Error("validate did not write run/.manifest-validated");

  const times = await interleave(variants, { reps: REPS, warmup: 2, before });
  const cliBytes = statSync(distCli).size;
  const fullBytes = distSplit ? statSync(fullCli).size : undefined;
  const kib = (n) => `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  console.log(
    `bench/startup: orchestrate ${"port " + SERVICE} vs node -e 0, ${REPS} interleaved runs each, node ${process.version}; ` +
      (distSplit
        ? `dist/ is split: cli.cjs ${kib(cliBytes)} + orchestrate-cli.cjs ${kib(fullBytes)}`
        : `dist/cli.cjs ${kib(cliBytes)} (one bundle)`) +
      (alt ? `; ${alt.label} variant built in a temp dir: ${kib(alt.entryBytes)}` : ""),
  );
  const table = printTable(times, { baseline: "node -e 0" });
  const targets = [target("port fast path ≤ 1.3× node -e 0", table["port (fast path)"].ratio, 1.3)];
  if (alt)
    console.log(
      `(for comparison, not a target) ${alt.label} build: port fast path ${table[`${alt.label}: port (fast path)`].ratio.toFixed(2)}× node -e 0`,
    );
  const profiles = {};
  if (PROFILE) {
    for (const [label, cli] of [
      ["port (fast path)", distCli],
      ...(alt ? [[`${alt.label}: port (fast path)`, alt.entry]] : []),
    ]) {
      const pdir = join(tmp, `prof-${Object.keys(profiles).length}`);
      for (let i = 0; i < 5; i++)
        timeSpawn(
          node,
          ["--cpu-prof", "--cpu-prof-dir", pdir, "--cpu-prof-interval", "100", cli, "-m", manifest, "port", SERVICE],
          { expectStdout: expectedPort },
        );
      profiles[label] = profileSelfTimes(
        readdirSync(pdir).map((f) => join(pdir, f)),
        8,
      );
      console.log(`\nprofile of ${label} (mean of 5 runs, self time):`);
      for (const t of profiles[label]) console.log(`${t.ms.toFixed(1).padStart(8)} ms  ${t.fn}  ${t.where}`);
    }
  }
  writeResult("startup", {
    reps: REPS,
    service: SERVICE,
    distSplit,
    cliBytes,
    fullCliBytes: fullBytes,
    variant: alt && { label: alt.label, entryBytes: alt.entryBytes },
    variants: table,
    targets,
    profiles,
    rawMs: times,
  });
} finally {
  cleanup();
}
