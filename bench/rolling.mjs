// bench/rolling: requests lost and latency during a restart of 4 instances behind the project's private nginx, under
// a steady keep-alive load (autocannon, 32 connections, through the proxy), in one run:
//   (a) `orchestrate restart api`: the rollout (src/fleet/rollout.ts), repeated back to back until at least
//       --min-requests requests were answered during rollouts;
//   (a') the same with `--take-out reload` (each instance marked down, nginx reloaded, drained, then stopped);
//   (b) `supervisorctl restart api@0 api@1 api@2 api@3` of the same instances (stops every one, then starts them);
//   (c) `pm2 reload` of a Node http service in PM2 cluster mode with 4 instances, behind the same nginx;
//   (d) the proxy's reloads alone (api:0 out and in, as many reloads as the rollouts made, nothing restarted): what
//       nginx's graceful reload itself costs keep-alive clients (its old workers close their client connections).
// Every non-2xx answer and every connection error or timeout counts as failed; p99 latency during each restart is
// compared with a steady-state run of the same load just before. Targets (issue 16): (a) 0 failed of ≥ 20,000
// and p99 during the rollout ≤ 2× steady state; (b) and (c) are reported beside it, and the rollout's duration
// against supervisorctl restart of the same instances.
//
// The API is a FastAPI app under uvicorn from Debian's packages (python3-fastapi, python3-uvicorn; /usr/bin/python3).
// PM2 comes from npm (devDependency), with PM2_HOME in the bench's temp folder; exactly the PM2 daemon started here
// is killed at the end (its pid file), nothing else. Bounded: every phase has a deadline, the whole run stops itself.
//
// usage: node bench/rolling.mjs [--steady 5] [--min-requests 20000] [--max-rollouts 8] [--connections 32]
//        ports 12500-12599 only
import autocannon from "autocannon";
import { build } from "esbuild";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { distCli, median, option, quantile, root, sleep, target, writeResult } from "./lib.mjs";

const STEADY_S = option("steady", 5);
const MIN_REQUESTS = option("min-requests", 20000);
const MAX_ROLLOUTS = option("max-rollouts", 8);
const CONNECTIONS = option("connections", 32);
const SUPERVISORCTL_REPS = option("supervisorctl-reps", 3);
const PM2_REPS = option("pm2-reps", 3);
const RELOAD_ROLLOUTS = option("reload-rollouts", 2);
const PROXY_PORT = 12500;
const API_PORT = 12501; // 12501-12504
const PM2_PORT = 12510;
const PYTHON = "/usr/bin/python3";
const DEADLINE = Date.now() + 15 * 60_000; // the whole bench

const out = mkdtempSync("/tmp/orch-bench-roll-");
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
export { loadProject } from "./src/manifest"; export { waitForPort } from "./src/inspect/port-probe";
export { SupervisordBackend } from "./src/backend/supervisord/backend"; export { setUpstreamOut } from "./src/fleet/proxy"; export { isAlive } from "./src/inspect/processes";`,
    resolveDir: root,
    loader: "ts",
  },
  outfile: join(out, "lib.cjs"),
});
const { applyNginx, stopNginx, nginxPid, loadProject, waitForPort, SupervisordBackend, isAlive, setUpstreamOut } =
  createRequire(import.meta.url)(join(out, "lib.cjs"));

const project = join(out, "p");
mkdirSync(project, { recursive: true });
writeFileSync(
  join(project, "app.py"),
  `from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/api/{rest:path}")
def api(rest: str):
    return {"path": rest}
`,
);
writeFileSync(
  join(project, "pm2-app.js"),
  `"use strict";
require("node:http")
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ path: req.url, pid: process.pid }));
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
`,
);
const manifest = join(project, "manifest.json");
writeFileSync(
  manifest,
  JSON.stringify(
    {
      version: 1.1,
      project: "bench-roll",
      host: "127.0.0.1",
      proxy: { listen: `127.0.0.1:${PROXY_PORT}` },
      services: {
        api: {
          command: [PYTHON, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"],
          port: API_PORT,
          instances: 4,
          health: "/health",
          routes: ["/api/"],
          startSecs: 1,
          readyTimeout: 30,
          stopTimeout: 10,
        },
        // run by PM2, not by supervisord: declared so the proxy routes /pm2/ to it
        pm2app: { command: ["node", "pm2-app.js"], port: PM2_PORT, routes: ["/pm2/"], autostart: false },
      },
    },
    null,
    2,
  ),
);

/** Runs a command without blocking this process (autocannon runs in it): exit status, output and ms taken. */
function spawnAsync(file, args, options = {}) {
  const t0 = performance.now();
  return new Promise((resolve) =>
    execFile(file, args, { encoding: "utf8", timeout: 180_000, ...options }, (err, stdout, stderr) =>
      resolve({ status: err ? (err.code ?? 1) : 0, stdout, stderr, ms: performance.now() - t0 }),
    ),
  );
}
const cli = (...args) =>
  spawnAsync(process.execPath, [distCli, "--manifest", manifest, "--no-color", ...args], { cwd: project });

/**
 * Runs autocannon through the proxy until `action` settles (or for `seconds` when there is none), then stops it.
 * Returns latencies (ms) of the responses that came back while the action ran, and every failure of the whole run.
 */
function loadDuring(path, action, seconds = 0) {
  return new Promise((resolve, reject) => {
    const inWindow = [];
    let window = !action;
    let failedStatus = 0;
    let answered = 0;
    const errors = {};
    const codes = {};
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${PROXY_PORT}${path}`,
        connections: CONNECTIONS,
        duration: action ? 600 : seconds,
        pipelining: 1,
        timeout: 10,
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          latencies: inWindow,
          answered,
          failedStatus,
          codes,
          errors,
          timeouts: r.timeouts,
          errorsTotal: r.errors,
          result,
        });
      },
    );
    let result;
    instance.on("response", (_c, status, _b, ms) => {
      if (!window) return;
      answered++;
      inWindow.push(ms);
      if (status < 200 || status >= 300) {
        failedStatus++;
        codes[status] = (codes[status] ?? 0) + 1;
      }
    });
    instance.on("reqError", (e) => (errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1));
    if (action)
      (async () => {
        await sleep(1000); // connections up and warm
        window = true;
        try {
          result = await action(() => answered);
        } finally {
          window = false;
          await sleep(300);
          instance.stop();
        }
      })().catch(reject);
  });
}

const p99 = (xs) => Math.round(quantile(xs, 0.99) * 100) / 100;
const failedOf = (r) => r.failedStatus + r.errorsTotal + r.timeouts;
const report = (label, r, extra = "") =>
  console.log(
    `${label.padEnd(34)} ${String(r.answered).padStart(7)} answered, ${failedOf(r)} failed (${r.failedStatus} non-2xx ${JSON.stringify(r.codes)}, ${r.errorsTotal} errors ${JSON.stringify(r.errors)}, ${r.timeouts} timeouts), p99 ${p99(r.latencies)} ms${extra}`,
  );

const apiPrograms = [0, 1, 2, 3].map((i) => `api@${i}`);
async function apiReady() {
  for (let i = 0; i < 4; i++)
    if (!(await waitForPort(API_PORT + i, { hosts: ["127.0.0.1"], timeoutMs: 30_000 })).ok)
      throw new Error(`api:${i} not listening on ${API_PORT + i}`);
}

let pm2Home;
let pm2Pid;
let model;
const pm2 = (...args) =>
  spawnAsync(process.execPath, [join(root, "node_modules/pm2/bin/pm2"), ...args], {
    cwd: project,
    env: { ...process.env, PM2_HOME: pm2Home, PORT: String(PM2_PORT) },
  });

try {
  const up = await cli("restart");
  if (up.status !== 0) throw new Error(`orchestrate restart failed:\n${up.stdout}${up.stderr}`);
  model = loadProject(manifest).model;
  await applyNginx(model);
  await apiReady();

  // (a) steady state, then rollouts back to back until MIN_REQUESTS were answered during them
  const steadyA = await loadDuring("/api/x", undefined, STEADY_S);
  report("steady state (uvicorn ×4)", steadyA);
  const rollMs = [];
  const drains = [];
  const a = await loadDuring("/api/x", async (answered) => {
    while (
      rollMs.length < MAX_ROLLOUTS &&
      (rollMs.length === 0 || answered() < MIN_REQUESTS) &&
      Date.now() < DEADLINE
    ) {
      const r = await cli("restart", "api");
      if (r.status !== 0) throw new Error(`orchestrate restart api failed:\n${r.stdout}${r.stderr}`);
      rollMs.push(r.ms);
      drains.push(
        ...r.stdout
          .split("\n")
          .filter((l) => /drain/.test(l))
          .map((l) => l.trim()),
      );
    }
  });
  report(`(a) orchestrate restart api ×${rollMs.length}`, a, `, median ${Math.round(median(rollMs))} ms each`);
  for (const l of drains) console.log(`    ${l}`);

  // (a') the same rollout with --take-out reload: each instance marked down and nginx reloaded before it stops
  const reloadMs = [];
  const aReload = await loadDuring("/api/x", async () => {
    for (let i = 0; i < RELOAD_ROLLOUTS && Date.now() < DEADLINE; i++) {
      const r = await cli("restart", "api", "--take-out", "reload");
      if (r.status !== 0) throw new Error(`orchestrate restart api --take-out reload failed:\n${r.stdout}${r.stderr}`);
      reloadMs.push(r.ms);
    }
  });
  report(
    `(a') restart api --take-out reload ×${reloadMs.length}`,
    aReload,
    `, median ${Math.round(median(reloadMs))} ms each`,
  );

  // (d) what the proxy's reloads alone cost: api:0 out and back in, as many reloads as the rollouts did, no restart
  const reloads = rollMs.length * 5;
  const d = await loadDuring("/api/x", async () => {
    for (let i = 0; i < reloads; i++) {
      await setUpstreamOut(model, "api", new Set(i % 2 === 0 ? [API_PORT] : []));
      await sleep(500);
    }
    await setUpstreamOut(model, "api", new Set());
  });
  report(`(d) nginx reloads only ×${reloads + 1}`, d);

  // (b) supervisorctl restart of the same instances
  const conf = join(project, "units", "supervisord.conf");
  const supMs = [];
  const b = await loadDuring("/api/x", async () => {
    for (let i = 0; i < SUPERVISORCTL_REPS && Date.now() < DEADLINE; i++) {
      const t0 = performance.now();
      const r = await spawnAsync("supervisorctl", ["-c", conf, "restart", ...apiPrograms]);
      if (r.status !== 0) throw new Error(`supervisorctl restart failed: ${r.stdout}${r.stderr}`);
      await apiReady(); // supervisorctl returns at RUNNING (startsecs), the port may come later
      supMs.push(performance.now() - t0);
      await sleep(1000); // a steady second between restarts
    }
  });
  report(`(b) supervisorctl restart ×${supMs.length}`, b, `, median ${Math.round(median(supMs))} ms each`);

  // (c) PM2 cluster mode, 4 instances, `pm2 reload`
  pm2Home = join(out, "pm2");
  mkdirSync(pm2Home, { recursive: true });
  const started = await pm2("start", join(project, "pm2-app.js"), "-i", "4", "--name", "pm2app");
  if (started.status !== 0) throw new Error(`pm2 start failed: ${started.stdout}${started.stderr}`);
  pm2Pid = Number(readFileSync(join(pm2Home, "pm2.pid"), "utf8"));
  if (!(await waitForPort(PM2_PORT, { hosts: ["127.0.0.1"], timeoutMs: 30_000 })).ok)
    throw new Error("pm2app not listening");
  const steadyC = await loadDuring("/pm2/x", undefined, STEADY_S);
  report("steady state (PM2 cluster ×4)", steadyC);
  const pm2Ms = [];
  const c = await loadDuring("/pm2/x", async () => {
    for (let i = 0; i < PM2_REPS && Date.now() < DEADLINE; i++) {
      const t0 = performance.now();
      const r = await pm2("reload", "pm2app");
      if (r.status !== 0) throw new Error(`pm2 reload failed: ${r.stdout}${r.stderr}`);
      pm2Ms.push(performance.now() - t0);
    }
  });
  report(`(c) pm2 reload ×${pm2Ms.length}`, c, `, median ${Math.round(median(pm2Ms))} ms each`);

  const ratio = (x, y) => Math.round((x / Math.max(y, 0.001)) * 100) / 100;
  const targets = [
    target(`(a) failed requests during orchestrate restart api (of ${a.answered} answered)`, failedOf(a), 0),
    target(`(a) answered during rollouts ≥ ${MIN_REQUESTS}`, a.answered, MIN_REQUESTS, { lowerIsBetter: false }),
    target("(a) p99 during the rollout / steady state", ratio(p99(a.latencies), p99(steadyA.latencies)), 2),
  ];
  const figures = [
    { description: "(a) rollout: failed / answered", value: `${failedOf(a)} / ${a.answered}` },
    {
      description: "(a') rollout with --take-out reload: failed / answered",
      value: `${failedOf(aReload)} / ${aReload.answered}`,
    },
    { description: "(a') p99 during / steady", value: ratio(p99(aReload.latencies), p99(steadyA.latencies)) },
    { description: "(b) supervisorctl restart: failed / answered", value: `${failedOf(b)} / ${b.answered}` },
    { description: "(c) pm2 reload: failed / answered", value: `${failedOf(c)} / ${c.answered}` },
    { description: "(d) nginx reloads alone (no restart): failed / answered", value: `${failedOf(d)} / ${d.answered}` },
    { description: "(d) p99 during reloads alone / steady", value: ratio(p99(d.latencies), p99(steadyA.latencies)) },
    { description: "(b) p99 during / steady", value: ratio(p99(b.latencies), p99(steadyA.latencies)) },
    { description: "(c) p99 during / PM2 steady", value: ratio(p99(c.latencies), p99(steadyC.latencies)) },
    {
      description: "rollout duration / supervisorctl restart of the same instances",
      value: ratio(median(rollMs), median(supMs)),
    },
  ];
  for (const f of figures) console.log(`${f.description}: ${f.value}`);
  writeResult("rolling", {
    connections: CONNECTIONS,
    steady: { api: { p99: p99(steadyA.latencies), answered: steadyA.answered }, pm2: { p99: p99(steadyC.latencies) } },
    rollout: {
      runs: rollMs.length,
      msEach: rollMs,
      answered: a.answered,
      failed: failedOf(a),
      errors: a.errors,
      p99: p99(a.latencies),
    },
    rolloutTakeOutReload: {
      runs: reloadMs.length,
      msEach: reloadMs,
      answered: aReload.answered,
      failed: failedOf(aReload),
      errors: aReload.errors,
      p99: p99(aReload.latencies),
    },
    reloadsOnly: {
      reloads: reloads + 1,
      answered: d.answered,
      failed: failedOf(d),
      errors: d.errors,
      p99: p99(d.latencies),
    },
    supervisorctl: {
      runs: supMs.length,
      msEach: supMs,
      answered: b.answered,
      failed: failedOf(b),
      errors: b.errors,
      non2xx: b.failedStatus,
      p99: p99(b.latencies),
    },
    pm2: {
      runs: pm2Ms.length,
      msEach: pm2Ms,
      answered: c.answered,
      failed: failedOf(c),
      errors: c.errors,
      non2xx: c.failedStatus,
      p99: p99(c.latencies),
    },
    figures,
    targets,
  });
} finally {
  if (pm2Home && existsSync(join(pm2Home, "pm2.pid"))) await pm2("kill");
  // exactly the daemon started here, if `pm2 kill` left it
  if (pm2Pid && isAlive(pm2Pid)) process.kill(pm2Pid, "SIGKILL");
  // the proxy even when the first restart failed before `model` was set (it may have started nginx)
  const m = model ?? loadProject(manifest).model;
  if (nginxPid(m) !== undefined) await stopNginx(m);
  const paths = m.paths;
  await new SupervisordBackend(paths).stopDaemon().catch(() => undefined);
  rmSync(out, { recursive: true, force: true });
}
