// bench/restart-apps: restarting a fleet of REAL applications — FastAPI apps under uvicorn, from Debian's
// python3-fastapi and python3-uvicorn (scripts/ensure-deps.mjs installs them) — timed from the start until
// every app's /health answers 200, interleaved in ONE run:
//   with dependencies (a chain db ← users ← orders ← gateway, plus 4 independent apps):
//     orchestrate restart              the whole procedure on the running fleet (each app starts the moment
//                                      its own dependencies are healthy)
//     hand-made ordered start          the best a script can do: `supervisorctl stop all`, then per level
//                                      `supervisorctl start` of that level's programs and polling each
//                                      level's /health every 10 ms before the next level
//     supervisorctl restart all + poll no order at all (what a script does when it ignores dependencies)
//   without dependencies (the same 8 apps, no dependsOn):
//     orchestrate restart  vs  supervisorctl restart all + poll
// Targets (issue 14): with dependencies ≤ 1.0× the hand-made ordered start; without ≤ 1.0× restart all + poll.
// Ports 12300-12315 on 127.0.0.1; each fleet is shut down at the end (orchestrate shutdown). No pkill.
//
// usage: node bench/restart-apps.mjs [--reps 5]
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  distCli,
  interleave,
  median,
  msSince,
  option,
  printTable,
  sleep,
  target,
  timeSpawn,
  writeResult,
} from "./lib.mjs";

const REPS = option("reps", 5);
const node = process.execPath;
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", NO_COLOR: "1" };
const APP = `from fastapi import FastAPI
import os
app = FastAPI()
@app.get("/health")
def health():
    return {"service": os.environ.get("SERVICE_NAME"), "status": "ok"}
`;
const CHAIN = ["db", "users", "orders", "gateway"];
const FREE = ["search", "billing", "mailer", "reports"];

function manifest(first, withDeps) {
  const services = {};
  [...CHAIN, ...FREE].forEach((name, i) => {
    const ci = CHAIN.indexOf(name);
    services[name] = {
      port: first + i,
      command: ["/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "{port}"],
      health: "/health",
      startSecs: 1,
      ...(withDeps && ci > 0 ? { dependsOn: [CHAIN[ci - 1]] } : {}),
    };
  });
  return { project: withDeps ? "apps" : "appsfree", host: "127.0.0.1", services };
}

function healthy(port) {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => (req.destroy(), resolve(false)));
    req.end();
  });
}
async function pollHealthy(ports, timeoutMs = 60_000) {
  const t0 = process.hrtime.bigint();
  await Promise.all(
    ports.map(async (p) => {
      while (!(await healthy(p))) {
        if (msSince(t0) > timeoutMs) throw new Error(`port ${p} not healthy after ${timeoutMs} ms`);
        await sleep(10);
      }
    }),
  );
}

function setup(first, withDeps) {
  const dir = mkdtempSync("/tmp/obra-");
  writeFileSync(join(dir, "app.py"), APP);
  const m = manifest(first, withDeps);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m, null, 2));
  const cli = (args, expectStatus = 0) =>
    timeSpawn(node, [distCli, "--manifest", join(dir, "manifest.json"), ...args], { cwd: dir, env, expectStatus });
  const ctl = (...args) =>
    timeSpawn("supervisorctl", ["-c", join(dir, "units", "supervisord.conf"), ...args], {
      cwd: dir,
      env,
      expectStatus: null,
    });
  const ports = Object.values(m.services).map((s) => s.port);
  const portOf = Object.fromEntries(Object.entries(m.services).map(([n, s]) => [n, s.port]));
  cli(["restart"]);
  return { dir, cli, ctl, ports, portOf };
}

const results = {};
const targets = [];
for (const withDeps of [true, false]) {
  const f = setup(withDeps ? 12300 : 12308, withDeps);
  try {
    const levels = withDeps ? [[CHAIN[0], ...FREE], [CHAIN[1]], [CHAIN[2]], [CHAIN[3]]] : [[...CHAIN, ...FREE]];
    const variants = {
      "orchestrate restart": async () => {
        const t0 = process.hrtime.bigint();
        f.cli(["restart"]);
        await pollHealthy(f.ports);
        return msSince(t0);
      },
      "supervisorctl restart all + poll": async () => {
        const t0 = process.hrtime.bigint();
        f.ctl("restart", "all");
        await pollHealthy(f.ports);
        return msSince(t0);
      },
    };
    if (withDeps)
      variants["hand-made ordered start"] = async () => {
        const t0 = process.hrtime.bigint();
        f.ctl("stop", "all");
        for (const level of levels) {
          f.ctl("start", ...level);
          await pollHealthy(level.map((n) => f.portOf[n]));
        }
        return msSince(t0);
      };
    const times = await interleave(variants, { reps: REPS, warmup: 1 });
    const label = withDeps ? "with dependencies (chain of 4 + 4 independent)" : "without dependencies (8 apps)";
    console.log(`\nbench/restart-apps: 8 FastAPI apps under uvicorn, ${label}, ${REPS} interleaved reps`);
    const baseline = withDeps ? "hand-made ordered start" : "supervisorctl restart all + poll";
    results[withDeps ? "deps" : "nodeps"] = { summary: printTable(times, { baseline }), raw: times };
    targets.push(
      target(
        withDeps
          ? "restart ≤ 1.0× hand-made ordered start"
          : "restart (no deps) ≤ 1.0× supervisorctl restart all + poll",
        median(times["orchestrate restart"]) / median(times[baseline]),
        1.0,
      ),
    );
  } finally {
    f.cli(["shutdown"], null);
    rmSync(f.dir, { recursive: true, force: true });
  }
}
writeResult("restart-apps", { ...results, reps: REPS, targets });
