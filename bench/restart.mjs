// bench/restart: restarting 30 services under one private supervisord, timed from the start until all
// 30 ports accept connections, side by side in ONE run (interleaved, --reps each):
//   orchestrate restart (warm)       `node dist/cli.cjs --manifest M restart` with supervisord running and
//                                    all 30 up: a full restart of a running fleet (validate, generate,
//                                    apply, stop + start in dependency order, readiness, verify)
//   supervisorctl restart all + poll `supervisorctl -c units/supervisord.conf restart all`, then this
//                                    process polls every port until all accept (the hand-tuned baseline)
//   MASTER_RESTART.sh-style          the seeds' script, written to the temp project (see scriptText below):
//                                    flush ports (lsof → kill -9), supervisorctl shutdown, sleep 3, start
//                                    supervisord (retrying each second while the old one still exits),
//                                    sleep 2, `supervisorctl restart NAME` + `sleep 1` for each program,
//                                    then parse `supervisorctl status` (30 RUNNING or exit 1)
//   orchestrate restart (cold)       the same command with supervisord NOT running (shut down untimed
//                                    before): it starts supervisord, whose autostart brings the fleet up
// Every variant is followed by the same in-process port poll, inside its timing.
// Target: orchestrate ≤ 1.1× "supervisorctl restart all + poll", far below the script.
//
// The services: test/fixtures/services/binds-port.js (binds PORT on 127.0.0.1) on ports 26000-26029,
// startSecs 1, in a temp project /tmp/obr-XXXXXX (short: the socket path must stay < 108 bytes).
// Clean-up: supervisorctl shutdown, then wait for supervisord's pid to exit; a listener left on one of the
// 30 ports is killed only when its working directory is the temp project (i.e. one of ours). No pkill.
//
// usage: node bench/restart.mjs [--reps 5] [--script-sleep 1] [--no-script] [--no-cold] [--keep] [--cli PATH]
//   --cli: another build of the CLI to time instead of dist/cli.cjs (e.g. a variant in a temp folder)
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  distCli,
  flag,
  interleave,
  median,
  msSince,
  option,
  printTable,
  root,
  sleep,
  target,
  timeSpawn,
  writeResult,
} from "./lib.mjs";

const REPS = option("reps", 5);
const SCRIPT_SLEEP = option("script-sleep", 1);
const WITH_SCRIPT = !flag("no-script");
const WITH_COLD = !flag("no-cold");
const KEEP = flag("keep");
const CLI = option("cli", distCli);
const COUNT = 30;
const FIRST_PORT = 26000;
const PORTS = Array.from({ length: COUNT }, (_, i) => FIRST_PORT + i);
const NAMES = PORTS.map((_, i) => `s${String(i).padStart(2, "0")}`);

const node = process.execPath;
const cleanEnv = { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8" };

/** Resolves true when 127.0.0.1:port accepts a connection within timeoutMs. */
function accepts(port, timeoutMs = 250) {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** Polls every port (10 ms apart per port) until all accept; throws after timeoutMs. */
async function pollAll(timeoutMs = 60_000) {
  const t0 = process.hrtime.bigint();
  await Promise.all(
    PORTS.map(async (p) => {
      while (!(await accepts(p))) {
        if (msSince(t0) > timeoutMs) throw new Error(`port ${p} still not accepting after ${timeoutMs} ms`);
        await sleep(10);
      }
    }),
  );
}

/** PIDs (from `ss -ltnpH`) listening on any of our ports. */
function listenerPids() {
  const r = spawnSync("ss", ["-ltnpH"], { encoding: "utf8" });
  const pids = new Set();
  for (const line of r.stdout.split("\n")) {
    const local = line.trim().split(/\s+/)[3] ?? "";
    const port = Number(local.slice(local.lastIndexOf(":") + 1));
    if (!PORTS.includes(port)) continue;
    for (const m of line.matchAll(/pid=(\d+)/g)) pids.add(Number(m[1]));
  }
  return [...pids];
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run node scripts/build.mjs first`);
const busy = listenerPids();
if (busy.length)
  throw new Error(`ports ${FIRST_PORT}-${FIRST_PORT + COUNT - 1} must be free; held by pid ${busy.join(", ")}`);

// ---------------------------------------------------------------------------------------------------
// the temp project
const dir = mkdtempSync("/tmp/obr-");
const manifest = join(dir, "manifest.json");
const conf = join(dir, "units", "supervisord.conf");
const pidfile = join(dir, "run", "supervisord.pid");
copyFileSync(join(root, "test", "fixtures", "services", "binds-port.js"), join(dir, "svc.js"));
const services = {};
for (const [i, name] of NAMES.entries()) {
  services[name] = {
    group: "bench",
    port: PORTS[i],
    command: [node, "svc.js"],
    startSecs: 1,
    stopTimeout: 5,
    description: "binds-port fixture",
  };
}
writeFileSync(
  manifest,
  JSON.stringify(
    {
      project: "benchrestart",
      host: "127.0.0.1",
      groups: { bench: { range: `${PORTS[0]}-${PORTS[COUNT - 1]}`, description: "bench fleet" } },
      services,
    },
    null,
    2,
  ) + "\n",
);
timeSpawn(node, [CLI, "--manifest", manifest, "generate"], { cwd: dir });

const scriptText = `#!/bin/bash
# MASTER_RESTART.sh-style restart (the seeds' procedure, REC.IO), on this bench's private supervisord.
CONF=${conf}
PORTS="${PORTS.join(" ")}"
PROGRAMS="${NAMES.join(" ")}"
echo "🔄 MASTER RESTART"
# 1. flush the ports (the seeds: lsof -ti :PORT | xargs kill -9; here restricted to LISTEN sockets,
#    so that only the services' own listeners can be hit)
for port in $PORTS; do
  lsof -ti tcp:$port -sTCP:LISTEN | xargs -r kill -9
done
# 2. stop supervisor and give it time to exit
supervisorctl -c "$CONF" shutdown
sleep 3
# 3. start supervisor (again each second while the old one still holds the socket)
until env -i PATH="$PATH" supervisord -c "$CONF"; do sleep 1; done
sleep 2
# 4. restart every program, one by one
for program in $PROGRAMS; do
  supervisorctl -c "$CONF" restart $program
  sleep ${SCRIPT_SLEEP}
done
# 5. status: every program RUNNING
supervisorctl -c "$CONF" status | awk '$2 == "RUNNING" { n++ } END { print n " of ${COUNT} RUNNING"; exit (n == ${COUNT} ? 0 : 1) }'
`;
const script = join(dir, "MASTER_RESTART.sh");
writeFileSync(script, scriptText, { mode: 0o755 });

const supervisordPids = new Set();
const notePid = () => {
  try {
    const pid = Number(readFileSync(pidfile, "utf8").trim());
    if (pid > 0) supervisordPids.add(pid);
    return pid;
  } catch {
    return undefined;
  }
};
const livePid = () => {
  const pid = notePid();
  return pid && alive(pid) ? pid : undefined;
};

/** supervisord running with all 30 accepting (untimed preparation). */
async function ensureUp() {
  if (!livePid()) {
    const r = spawnSync("supervisord", ["-c", conf], { encoding: "utf8", env: cleanEnv, cwd: dir });
    if (r.status !== 0) throw new Error(`supervisord -c ${conf}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    notePid();
  }
  await pollAll(30_000);
}

/** supervisorctl shutdown, then wait for the pid to exit (TERM, then KILL of that pid after 30 s). */
async function shutdown() {
  const pid = livePid();
  if (pid) {
    spawnSync("supervisorctl", ["-c", conf, "shutdown"], { encoding: "utf8" });
    const t0 = process.hrtime.bigint();
    while (alive(pid) && msSince(t0) < 30_000) await sleep(50);
    if (alive(pid)) {
      process.kill(pid, "SIGTERM");
      await sleep(3000);
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }
  // a listener left on our ports is killed only when it runs in our temp project
  for (const p of listenerPids()) {
    let cwd = "";
    try {
      cwd = readlinkSync(`/proc/${p}/cwd`);
    } catch {
      /* gone */
    }
    if (cwd === dir) process.kill(p, "SIGKILL");
  }
}

/**
 * Runs `orchestrate restart` with its stdout read as it comes, each line stamped with the bench's clock:
 * the wall time of every step (from its "[N/6] title" line to its "✓ ok — …" line), of the gaps between
 * steps (work done between two steps), of the start-up (spawn → first line) and of the exit (last line →
 * exit). Returns { ms (whole process), phases: label → ms, stdout, status }.
 */
function runTimed(args, opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(node, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    const lines = [];
    let buf = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      const at = msSince(t0);
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop();
      for (const text of parts) lines.push({ at, text });
    });
    child.stderr.setEncoding("utf8").on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("close", (status) => {
      const ms = msSince(t0);
      if (buf) lines.push({ at: ms, text: buf });
      const phases = {};
      let open; // { title, at }
      let lastEnd = { label: "start-up (spawn → first step printed)", at: 0 };
      for (const { at, text } of lines) {
        const head = text.match(/^\[\d+\/\d+\]\s+(.*)$/);
        if (head) {
          const title = head[1].replace(/\d+ services?/, "N services");
          const gap = lastEnd.label.startsWith("start-up")
            ? lastEnd.label
            : `between "${lastEnd.label}" and "${title}"`;
          phases[gap] = (phases[gap] ?? 0) + (at - lastEnd.at);
          open = { title, at };
          continue;
        }
        if (open && /^\s+[✓✗!\-↺] (ok|failed|skipped|warning|rolled back)\b/.test(text)) {
          phases[`step: ${open.title}`] = at - open.at;
          lastEnd = { label: open.title, at };
          open = undefined;
        }
      }
      phases["exit (last step printed → process exit)"] = ms - lastEnd.at;
      resolve({ ms, phases, status, stdout: lines.map((l) => l.text).join("\n"), stderr: err });
    });
  });
}

const stepLog = { "orchestrate restart (warm)": [], "orchestrate restart (cold)": [] };
const runOrchestrate = (label) => async () => {
  const t0 = process.hrtime.bigint();
  const r = await runTimed([CLI, "--manifest", manifest, "restart"], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) throw new Error(`orchestrate restart: exit ${r.status}\n${r.stdout}${r.stderr}`);
  const tPoll = process.hrtime.bigint();
  await pollAll();
  const ms = msSince(t0);
  stepLog[label]?.push({ ...r.phases, "bench port poll afterwards": msSince(tPoll), "process total": r.ms });
  notePid();
  return ms;
};

const variants = {
  "orchestrate restart (warm)": runOrchestrate("orchestrate restart (warm)"),
  "supervisorctl restart all + poll": async () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("supervisorctl", ["-c", conf, "restart", "all"], { encoding: "utf8", cwd: dir });
    if (r.status !== 0) throw new Error(`supervisorctl restart all: exit ${r.status}\n${r.stdout}${r.stderr}`);
    await pollAll();
    return msSince(t0);
  },
};
if (WITH_SCRIPT) {
  variants["MASTER_RESTART.sh-style"] = async () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("bash", [script], { encoding: "utf8", cwd: dir, env: cleanEnv });
    if (r.status !== 0) throw new Error(`MASTER_RESTART.sh-style: exit ${r.status}\n${r.stdout}${r.stderr}`);
    await pollAll();
    const ms = msSince(t0);
    notePid();
    return ms;
  };
}
if (WITH_COLD) variants["orchestrate restart (cold)"] = runOrchestrate("orchestrate restart (cold)");

const cleanup = async () => {
  await shutdown();
  for (const pid of supervisordPids) if (alive(pid)) process.kill(pid, "SIGKILL");
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
};
process.once("SIGINT", () => {
  cleanup().finally(() => process.exit(130));
});

try {
  // warm-up (untimed): the cold path once, then the fast variants once
  await shutdown();
  await variants["orchestrate restart (warm)"]();
  await ensureUp();
  await variants["supervisorctl restart all + poll"]();
  for (const k of Object.keys(stepLog)) stepLog[k].length = 0;

  const times = await interleave(variants, {
    reps: REPS,
    warmup: 0,
    before: async (name) => {
      if (name === "orchestrate restart (cold)") await shutdown();
      else if (name !== "MASTER_RESTART.sh-style") await ensureUp();
    },
    onRep: (rep, t) =>
      process.stderr.write(
        `rep ${rep + 1}/${REPS}: ${Object.entries(t)
          .map(([n, xs]) => `${n} ${(xs[rep] / 1000).toFixed(2)} s`)
          .join(", ")}\n`,
      ),
  });

  if (CLI !== distCli) console.log(`CLI under test: ${CLI}`);
  console.log(
    `bench/restart: ${COUNT} × binds-port.js (ports ${PORTS[0]}-${PORTS[COUNT - 1]}, startSecs 1) under one private supervisord, ${REPS} interleaved reps, until all ${COUNT} ports accept; node ${process.version}`,
  );
  const table = printTable(times, { baseline: "supervisorctl restart all + poll", ratioLabel: "× ctl+poll" });
  const warm = table["orchestrate restart (warm)"].median;
  const targets = [
    target(
      "orchestrate restart (warm) ≤ 1.1× supervisorctl restart all + poll",
      table["orchestrate restart (warm)"].ratio,
      1.1,
    ),
  ];
  if (WITH_SCRIPT) {
    const r = warm / table["MASTER_RESTART.sh-style"].median;
    console.log(`orchestrate restart (warm) / MASTER_RESTART.sh-style: ${r.toFixed(3)}`);
    targets.push(target("orchestrate restart (warm) far below MASTER_RESTART.sh-style (≤ 0.5×)", r, 0.5));
  }

  // where orchestrate's time goes: medians of the step times it prints
  const steps = {};
  for (const [label, runs] of Object.entries(stepLog)) {
    if (!runs.length) continue;
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
    steps[label] = Object.fromEntries(
      keys.map((k) => [k, Math.round(median(runs.map((r) => r[k]).filter((x) => x !== undefined)))]),
    );
    console.log(`\n${label}: where the time goes (medians; stamped as orchestrate's output lines arrive)`);
    const w = Math.max(...keys.map((k) => k.length)) + 2;
    for (const k of keys) console.log(`  ${k.padEnd(w)} ${String(steps[label][k]).padStart(7)} ms`);
  }
  writeResult("restart", {
    cli: CLI,
    reps: REPS,
    services: COUNT,
    ports: `${PORTS[0]}-${PORTS[COUNT - 1]}`,
    scriptSleep: SCRIPT_SLEEP,
    script: WITH_SCRIPT ? scriptText : undefined,
    variants: table,
    targets,
    orchestrateSteps: steps,
    rawMs: times,
  });
} finally {
  await cleanup();
}
