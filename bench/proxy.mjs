// bench/proxy: latency and throughput of a request through the project's private nginx against the same service
// directly — same run, same load generator (autocannon), variants interleaved (direct, proxy, direct, proxy …).
// Reports p50/p99 latency (ms), requests/s and the proxy/direct ratios. no target is set for this overhead:
// the figures are reported (bench/results/proxy.json "figures"); the rolling-restart target needs instances (v1.1).
//
// The service is test/fixtures/services/echo-http.js (plain Node http) in its own process; nginx is started by
// src/backend/nginx (bundled on the fly with esbuild, like bench/ports.mjs) from the rendered units/nginx/.
//
// usage: node bench/proxy.mjs [--reps 3] [--duration 5] [--connections 10]     ports 12400-12499 only
import autocannon from "autocannon";
import { build } from "esbuild";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, option, quantile, root, writeResult } from "./lib.mjs";

const REPS = option("reps", 3);
const DURATION = option("duration", 5);
const CONNECTIONS = option("connections", 10);
const PROXY_PORT = 12400;
const SERVICE_PORT = 12401;

const out = mkdtempSync(join(tmpdir(), "orchestrate-bench-proxy-"));
await build({
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
  absWorkingDir: root,
  mainFields: ["module", "main"],
  stdin: {
    contents: `export { applyNginx, stopNginx, nginxPid } from "./src/backend/nginx/control";
export { loadProject } from "./src/manifest"; export { waitForPort } from "./src/inspect/port-probe";`,
    resolveDir: root,
    loader: "ts",
  },
  outfile: join(out, "lib.cjs"),
});
const { applyNginx, stopNginx, nginxPid, loadProject, waitForPort } = createRequire(import.meta.url)(
  join(out, "lib.cjs"),
);

const project = join(out, "project");
const manifest = join(project, "manifest.json");
rmSync(project, { recursive: true, force: true });
await import("node:fs").then((fs) => fs.mkdirSync(project, { recursive: true }));
writeFileSync(
  manifest,
  JSON.stringify({
    project: "bench-proxy",
    host: "127.0.0.1",
    proxy: { listen: `127.0.0.1:${PROXY_PORT}` },
    services: { api: { port: SERVICE_PORT, command: "node echo-http.js", routes: ["/api/"] } },
  }),
);
const model = loadProject(manifest).model;
const service = spawn(process.execPath, [join(root, "test/fixtures/services/echo-http.js")], {
  env: { PATH: process.env.PATH, PORT: String(SERVICE_PORT), HOST: "127.0.0.1", SERVICE_NAME: "api" },
  stdio: "ignore",
});

/**
 * One autocannon run: latency p50/p99 in ms from every response's own hrtime duration (autocannon's summary
 * histogram rounds to whole ms, too coarse on loopback), average requests/s, and the request errors by kind.
 */
function load(url, duration = DURATION) {
  return new Promise((resolve, reject) => {
    const times = [];
    const errors = {};
    const instance = autocannon({ url, connections: CONNECTIONS, duration, pipelining: 1 }, (err, r) => {
      if (err) return reject(err);
      if (r.non2xx) return reject(new Error(`${url}: ${r.non2xx} non-2xx responses`));
      resolve({
        p50: Math.round(quantile(times, 0.5) * 1000) / 1000,
        p99: Math.round(quantile(times, 0.99) * 1000) / 1000,
        rps: r.requests.average,
        requests: times.length,
        errors,
      });
    });
    instance.on("response", (_client, _status, _bytes, ms) => times.push(ms));
    instance.on("reqError", (e) => (errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1));
  });
}

try {
  if (!(await waitForPort(SERVICE_PORT, { hosts: ["127.0.0.1"] })).ok) throw new Error("echo-http did not start");
  await applyNginx(model);
  const variants = {
    direct: `http://127.0.0.1:${SERVICE_PORT}/api/bench`,
    "through nginx": `http://127.0.0.1:${PROXY_PORT}/api/bench`,
  };
  for (const url of Object.values(variants)) await load(url, 1); // warm-up
  const runs = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
  for (let rep = 0; rep < REPS; rep++)
    for (const [name, url] of Object.entries(variants)) {
      const r = await load(url);
      runs[name].push(r);
      console.log(
        `rep ${rep + 1}/${REPS} ${name.padEnd(14)} p50 ${r.p50} ms  p99 ${r.p99} ms  ${Math.round(r.rps)} req/s`,
      );
    }
  const med = (name, key) => median(runs[name].map((r) => r[key]));
  const d = { p50: med("direct", "p50"), p99: med("direct", "p99"), rps: med("direct", "rps") };
  const p = { p50: med("through nginx", "p50"), p99: med("through nginx", "p99"), rps: med("through nginx", "rps") };
  const ratio = (a, b) => Math.round((a / Math.max(b, 0.001)) * 100) / 100;
  console.log(
    `\nvariant          p50 ms   p99 ms    req/s   (medians of ${REPS} × ${DURATION} s, ${CONNECTIONS} connections)`,
  );
  for (const [n, v] of [
    ["direct", d],
    ["through nginx", p],
  ])
    console.log(
      `${n.padEnd(15)}${String(v.p50).padStart(8)}${String(v.p99).padStart(9)}${String(Math.round(v.rps)).padStart(9)}`,
    );
  const figures = [
    { description: "proxy p50 latency / direct", value: ratio(p.p50, d.p50) },
    { description: "proxy p99 latency / direct", value: ratio(p.p99, d.p99) },
    { description: "proxy throughput / direct", value: ratio(p.rps, d.rps) },
  ];
  for (const f of figures) console.log(`${f.description}: ${f.value}×`);
  writeResult("proxy", {
    reps: REPS,
    durationS: DURATION,
    connections: CONNECTIONS,
    direct: d,
    proxy: p,
    figures,
    targets: [],
    raw: runs,
  });
} finally {
  if (nginxPid(model) !== undefined) await stopNginx(model);
  service.kill("SIGTERM");
  rmSync(out, { recursive: true, force: true });
}
