// bench/ports: "who holds each of 100 managed ports" — our listener inspection against
// `lsof -nP -iTCP -sTCP:LISTEN` and a seed-style `nc -z` loop, interleaved in ONE run; medians and ratios.
// Target (issue 6): check-ports at most 0.25× lsof.
//
// The library is not built yet, so src/inspect/listeners.ts (+ src/exec/run.ts, the one module that spawns)
// is bundled on the fly with esbuild into a temp folder: once as a module used in-process, once as a tiny
// CLI printing the port table (what a fresh `orchestrate check-ports` process pays, minus commander/zod).
//
// usage: node bench/ports.mjs [--reps 30] [--listening 20]     ports 22100-22199 only
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPS = arg("reps", 30);
const LISTENING = arg("listening", 20);
const PORTS = Array.from({ length: 100 }, (_, i) => 22100 + i);

const out = mkdtempSync(join(tmpdir(), "orchestrate-bench-ports-"));
const common = { bundle: true, platform: "node", format: "cjs", target: "node20", logLevel: "warning", absWorkingDir: root };
await build({
  ...common,
  stdin: { contents: `export { listenersByPort } from "./src/inspect/listeners"; export { run, spawnService } from "./src/exec/run";`, resolveDir: root, loader: "ts" },
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
const { listenersByPort, run, spawnService } = lib;

// ~20 listeners in one helper process, spread over the four address kinds
const HOSTS = ["127.0.0.1", "0.0.0.0", "::", "::1"];
const held = PORTS.filter((_, i) => i % Math.round(100 / LISTENING) === 0).slice(0, LISTENING);
const listenJs = `const net = require("net"); let left = ${held.length};
for (const [host, port] of ${JSON.stringify(held.map((p, i) => [HOSTS[i % 4], p]))})
  net.createServer((c) => c.end()).listen({ host, port, ipv6Only: host === "::1" }, () => { if (--left === 0) console.log("ready"); });
setInterval(() => {}, 1 << 30);`;
const helper = await spawnService([process.execPath, "-e", listenJs], { cwd: root, env: { PATH: process.env.PATH ?? "" } });
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
    if (missing.length || extra.length) throw new Error(`${label}: expected ${held.length} held ports, missing ${missing}, unexpected ${extra}`);
  };
  for (const method of ["ss", "proc"]) {
    const map = await listenersByPort(PORTS, { method });
    const heldPorts = [...map].filter(([, ls]) => ls.length > 0).map(([p]) => p);
    expectHeld(`in-process ${method}`, heldPorts);
    const wrong = [...map.values()].flat().filter((l) => l.pid !== helper.pid);
    if (wrong.length) throw new Error(`in-process ${method}: expected pid ${helper.pid}, found ${wrong.map((l) => `${l.port}:${l.pid}`)}`);
  }
  const lsofOut = (await run("lsof", ["-nP", "-iTCP", "-sTCP:LISTEN"])).stdout;
  expectHeld("lsof", PORTS.filter((p) => lsofOut.includes(`:${p} (LISTEN)`)));
  const ncLoop = `for p in $(seq ${PORTS[0]} ${PORTS[PORTS.length - 1]}); do nc -z -w 1 127.0.0.1 $p && echo $p; done; true`;
  const ncOut = (await run("bash", ["-c", ncLoop])).stdout.split("\n").filter(Boolean).map(Number);
  const onV4 = held.filter((_, i) => HOSTS[i % 4] !== "::1"); // nc to 127.0.0.1 cannot see a ::1-only listener
  if (ncOut.length !== onV4.length) console.log(`note: nc -z 127.0.0.1 found ${ncOut.length} of ${held.length} (misses ::1-only listeners by design)`);

  const variants = {
    "in-process ss": () => listenersByPort(PORTS, { method: "ss" }),
    "in-process proc": () => listenersByPort(PORTS, { method: "proc" }),
    "fresh node, ss": () => run(process.execPath, [join(out, "check-ports.cjs"), "ss", String(PORTS[0]), "100"]),
    "fresh node, proc": () => run(process.execPath, [join(out, "check-ports.cjs"), "proc", String(PORTS[0]), "100"]),
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
      if (result && "exitCode" in result && result.exitCode !== 0) throw new Error(`${name}: exit ${result.exitCode}: ${result.stderr}`);
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const lsof = median(times["lsof -nP -iTCP -sTCP:LISTEN"]);
  console.log(`bench/ports: 100 managed ports (${PORTS[0]}-${PORTS[PORTS.length - 1]}), ${held.length} listening, ${REPS} interleaved reps, node ${process.version}`);
  console.log(`${"variant".padEnd(30)} ${"median ms".padStart(10)} ${"× lsof".padStart(8)}`);
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(`${name.padEnd(30)} ${m.toFixed(2).padStart(10)} ${(m / lsof).toFixed(2).padStart(8)}`);
  }
  const inProc = Math.min(median(times["in-process ss"]), median(times["in-process proc"]));
  console.log(`target check-ports ≤ 0.25× lsof: in-process best ${(inProc / lsof).toFixed(2)}× ${inProc / lsof <= 0.25 ? "MET" : "NOT MET"}; ` +
    `fresh process best ${(Math.min(median(times["fresh node, ss"]), median(times["fresh node, proc"])) / lsof).toFixed(2)}× (a bare node start alone is ${(median(times["node -e 0"]) / lsof).toFixed(2)}×)`);
} finally {
  cleanup();
  await helper.exited;
}
