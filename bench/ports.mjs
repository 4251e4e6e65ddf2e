// bench/ports: "who holds each of 100 managed ports" — our listener inspection against
// `lsof -nP -iTCP -sTCP:LISTEN` and a seed-style `nc -z` loop, interleaved in ONE run; medians and ratios.
// Target (issue 6): check-ports at most 0.25× lsof.
//
// src/inspect/listeners.ts (+ src/exec/run.ts, the one module that spawns) and the check-ports procedure
// (src/live-ports/live-facts.ts) are bundled on the fly with esbuild into a temp folder: once as a module
// used in-process, once as a tiny CLI printing the port table (a fresh process minus commander/zod).
// The real CLI is measured too: `node dist/cli.cjs --manifest M check-ports --json` over a 100-service
// manifest (one service per port, group g = the 100 ports), whose 20 listeners are FOREIGN (exit 1).
//
// usage: node bench/ports.mjs [--reps 30] [--listening 20] [--cli dist/cli.cjs]     ports 27100-27199 only
import { build } from "esbuild";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { distCli, median, option, printTable, root, writeResult } from "./lib.mjs";

const REPS = option("reps", 30);
const LISTENING = option("listening", 20);
const PORTS = Array.from({ length: 100 }, (_, i) => 27100 + i);
const CLI = option("cli", distCli);
if (!existsSync(CLI)) {
  console.error(`${CLI} is missing: run node scripts/build.mjs first (npm run bench does)`);
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), "orchestrate-bench-ports-"));
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
  absWorkingDir: root,
  mainFields: ["module", "main"],
};
await build({
  ...common,
  stdin: {
    contents: `export { listenersByPort } from "./src/inspect/listeners"; export { run, spawnService } from "./src/exec/run";
export { inspectManagedPorts } from "./src/live-ports/live-facts"; export { listenersOf } from "./src/inspect/listeners-of"; export { loadProject } from "./src/manifest";`,
    resolveDir: root,
    loader: "ts",
  },
  outfile: join(out, "lib.cjs"),
});
await build({
  ...common,
  stdin: {
    contents: `import { listenersByPort } from "./src/inspect/listeners";
const [method, first, count] = process.argv.slice(2);
const ports = Array.from({ length: Number(count) }, (_, i) => Number(first) + i);
listenersByPort(ports, { method }).then((map) => {
  const lines = [];
  for (const [port, ls] of map) lines.push(ls.length === 0 ? port + "\\tfree" : port + "\\t" + ls.map((l) => l.address + " pid " + l.pid + " " + l.user + " " + (l.command ?? "?").slice(0, 60)).join("; "));
  process.stdout.write(lines.join("\\n") + "\\n");
});`,
    resolveDir: root,
    loader: "ts",
  },
  outfile: join(out, "check-ports.cjs"),
});
const lib = createRequire(import.meta.url)(join(out, "lib.cjs"));
const { listenersByPort, run, spawnService, inspectManagedPorts, loadProject, listenersOf } = lib;

// the 100-service manifest check-ports reads (services never started: the helper below holds 20 of their ports)
const manifestFile = join(out, "manifest.json");
const services = Object.fromEntries(
  PORTS.map((port, i) => [
    `s${String(i).padStart(2, "0")}`,
    { group: "g", port, command: [process.execPath, "-e", "0"] },
  ]),
);
writeFileSync(
  manifestFile,
  JSON.stringify(
    {
      project: "bench",
      host: "127.0.0.1",
      groups: { g: { range: `${PORTS[0]}-${PORTS[PORTS.length - 1]}` } },
      services,
    },
    null,
    2,
  ),
);
const { model } = loadProject(manifestFile);
const cliArgs = [CLI, "--manifest", manifestFile, "check-ports", "--json"];

// ~20 listeners in one helper process, spread over the four address kinds
const HOSTS = ["127.0.0.1", "0.0.0.0", "::", "::1"];
const held = PORTS.filter((_, i) => i % Math.round(100 / LISTENING) === 0).slice(0, LISTENING);
const listenJs = `const net = require("net"); let left = ${held.length};
for (const [host, port] of ${JSON.stringify(held.map((p, i) => [HOSTS[i % 4], p]))})
  net.createServer((c) => c.end()).listen({ host, port, ipv6Only: host === "::1" }, () => { if (--left === 0) console.log("ready"); });
setInterval(() => {}, 1 << 30);`;
const helper = await spawnService([process.execPath, "-e", listenJs], {
  cwd: root,
  env: { PATH: process.env.PATH ?? "" },
});
const cleanup = () => {
  helper.signalGroup("SIGKILL");
  rmSync(out, { recursive: true, force: true });
};
process.once("SIGINT", () => {
  cleanup();
  process.exit(130);
});

try {
  for (let pause = 2; !helper.output().includes("ready"); pause = Math.min(pause * 2, 50)) {
    if (helper.output().includes("Error")) throw new Error(`listener helper failed: ${helper.output()}`);
    await new Promise((r) => setTimeout(r, pause));
  }

  // correctness first: every variant must see exactly the held ports, with the helper's pid
  const expectHeld = (label, heldPorts) => {
    const missing = held.filter((p) => !heldPorts.includes(p));
    const extra = heldPorts.filter((p) => !held.includes(p));
    if (missing.length || extra.length)
      throw new Error(`${label}: expected ${held.length} held ports, missing ${missing}, unexpected ${extra}`);
  };
  for (const method of ["ss", "proc"]) {
    const map = await listenersByPort(PORTS, { method });
    const heldPorts = [...map].filter(([, ls]) => ls.length > 0).map(([p]) => p);
    expectHeld(`in-process ${method}`, heldPorts);
    const wrong = [...map.values()].flat().filter((l) => l.pid !== helper.pid);
    if (wrong.length)
      throw new Error(
        `in-process ${method}: expected pid ${helper.pid}, found ${wrong.map((l) => `${l.port}:${l.pid}`)}`,
      );
  }
  const lsofOut = (await run("lsof", ["-nP", "-iTCP", "-sTCP:LISTEN"])).stdout;
  expectHeld(
    "lsof",
    PORTS.filter((p) => lsofOut.includes(`:${p} (LISTEN)`)),
  );
  const ncLoop = `for p in $(seq ${PORTS[0]} ${PORTS[PORTS.length - 1]}); do nc -z -w 1 127.0.0.1 $p && echo $p; done; true`;
  const ncOut = (await run("bash", ["-c", ncLoop])).stdout.split("\n").filter(Boolean).map(Number);
  const onV4 = held.filter((_, i) => HOSTS[i % 4] !== "::1"); // nc to 127.0.0.1 cannot see a ::1-only listener
  if (ncOut.length !== onV4.length)
    console.log(`note: nc -z 127.0.0.1 found ${ncOut.length} of ${held.length} (misses ::1-only listeners by design)`);
  // check-ports, in-process and as the real CLI: every held port FOREIGN with the helper's pid, exit 1
  const expectReport = (label, report) => {
    const listening = report.ports.filter((p) => p.state === "listening");
    expectHeld(
      label,
      listening.map((p) => p.port),
    );
    const wrong = listening.filter((p) => p.owner !== "foreign" || !p.conflict || p.holders[0]?.pid !== helper.pid);
    if (wrong.length || report.conflicts !== held.length)
      throw new Error(
        `${label}: expected ${held.length} FOREIGN conflicts held by pid ${helper.pid}, found ${JSON.stringify(wrong[0] ?? report.conflicts)}`,
      );
  };
  expectReport("in-process check-ports", await inspectManagedPorts(model, { kind: "supervisor" }));
  const cliRun = await run(process.execPath, cliArgs);
  if (cliRun.exitCode !== 1)
    throw new Error(
      `${CLI} check-ports: expected exit 1 (conflicts), found ${cliRun.exitCode}: ${cliRun.stderr.slice(0, 300)} (is ${CLI} older than src/? run node scripts/build.mjs)`,
    );
  expectReport("orchestrate check-ports --json", JSON.parse(cliRun.stdout));

  const variants = {
    "in-process ss": () => listenersByPort(PORTS, { method: "ss" }),
    "in-process proc": () => listenersByPort(PORTS, { method: "proc" }),
    "in-process managed holders": () => listenersOf(PORTS, []),
    "fresh node, ss": () => run(process.execPath, [join(out, "check-ports.cjs"), "ss", String(PORTS[0]), "100"]),
    "fresh node, proc": () => run(process.execPath, [join(out, "check-ports.cjs"), "proc", String(PORTS[0]), "100"]),
    "in-process check-ports (full)": () => inspectManagedPorts(model, { kind: "supervisor" }),
    "orchestrate check-ports --json": () => run(process.execPath, cliArgs),
    "node -e 0": () => run(process.execPath, ["-e", "0"]),
    "lsof -nP -iTCP -sTCP:LISTEN": () => run("lsof", ["-nP", "-iTCP", "-sTCP:LISTEN"]),
    "nc -z loop (100 ports)": () => run("bash", ["-c", ncLoop]),
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const fn of Object.values(variants)) await fn(); // warm-up (execa import, page cache)
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = performance.now();
      const result = await fn();
      times[name].push(performance.now() - t0);
      const expected = name === "orchestrate check-ports --json" ? 1 : 0; // 20 foreign holders = conflicts
      if (result && "exitCode" in result && result.exitCode !== expected)
        throw new Error(`${name}: exit ${result.exitCode}, expected ${expected}: ${result.stderr}`);
    }
  }
  const lsof = median(times["lsof -nP -iTCP -sTCP:LISTEN"]);
  console.log(
    `bench/ports: 100 managed ports (${PORTS[0]}-${PORTS[PORTS.length - 1]}), ${held.length} listening, ${REPS} interleaved reps, node ${process.version}`,
  );
  console.log(`${"variant".padEnd(30)} ${"median ms".padStart(10)} ${"× lsof".padStart(8)}`);
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(`${name.padEnd(30)} ${m.toFixed(2).padStart(10)} ${(m / lsof).toFixed(2).padStart(8)}`);
  }
  const inProc = Math.min(
    median(times["in-process ss"]),
    median(times["in-process proc"]),
    median(times["in-process managed holders"]),
  );
  const fresh = Math.min(median(times["fresh node, ss"]), median(times["fresh node, proc"]));
  const full = median(times["in-process check-ports (full)"]);
  const cli = median(times["orchestrate check-ports --json"]);
  console.log(
    `target check-ports ≤ 0.25× lsof: in-process best ${(inProc / lsof).toFixed(2)}× ${inProc / lsof <= 0.25 ? "MET" : "NOT MET"}; ` +
      `fresh process best ${(fresh / lsof).toFixed(2)}× (a bare node start alone is ${(median(times["node -e 0"]) / lsof).toFixed(2)}×)`,
  );
  console.log(
    `check-ports in-process, full (listeners + process ancestry + ownership + group budget): ${(full / lsof).toFixed(2)}× lsof ${full / lsof <= 0.25 ? "MET" : "NOT MET"}; ` +
      `real CLI \`orchestrate check-ports --json\`: ${(cli / lsof).toFixed(2)}× lsof, ${(cli / median(times["nc -z loop (100 ports)"])).toFixed(2)}× the nc -z loop`,
  );
  // bench/results/ports.json, written silently (the printed output above is the bench's interface)
  writeResult(
    "ports",
    {
      reps: REPS,
      ports: `${PORTS[0]}-${PORTS[PORTS.length - 1]}`,
      listening: held.length,
      variants: printTable(times, { baseline: "lsof -nP -iTCP -sTCP:LISTEN", silent: true }),
      targets: [
        {
          description: "check-ports in-process best ≤ 0.25× lsof",
          value: Math.round((inProc / lsof) * 1000) / 1000,
          limit: 0.25,
          met: inProc / lsof <= 0.25,
        },
        {
          description: "check-ports in-process, full report ≤ 0.25× lsof",
          value: Math.round((full / lsof) * 1000) / 1000,
          limit: 0.25,
          met: full / lsof <= 0.25,
        },
      ],
      freshProcessRatio: Math.round((fresh / lsof) * 1000) / 1000,
      cliRatio: Math.round((cli / lsof) * 1000) / 1000,
      cliVsNcLoop: Math.round((cli / median(times["nc -z loop (100 ports)"])) * 1000) / 1000,
      rawMs: times,
    },
    { silent: true },
  );
} finally {
  cleanup();
  await helper.exited;
}
