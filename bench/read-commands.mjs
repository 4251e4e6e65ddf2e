// bench/read-commands: `orchestrate status`, `verify`, `ports` and `check-ports` on the example fleet
// (the repo's manifest.json, its 14 services and 15 rows on ports 12000-12014 in a temp project) against
// `supervisorctl -c units/supervisord.conf status` on the same running fleet, interleaved in ONE run;
// then `status` and `verify` of a 200-service fleet (tiny Python listeners on 12000-12199) in absolute
// time. The ports lie below the kernel's ephemeral range (ip_local_port_range 32768-60999): there an
// outgoing connection's source port can take a service's port at the moment it binds (seen: 2 of 200
// failed with EADDRINUSE). Targets (issue 14): each read command ≤ 1.0× supervisorctl status; 200 services under 1 s.
//
// Each fleet is started with `orchestrate restart` (untimed), which also writes the validated-manifest
// stamp the read fast path needs, and shut down with `orchestrate shutdown` at the end. No pkill.
//
// usage: node bench/read-commands.mjs [--reps 20] [--no-200]
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { distCli, flag, interleave, median, option, printTable, root, target, timeSpawn, writeResult } from "./lib.mjs";

const REPS = option("reps", 20);
const node = process.execPath;
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", NO_COLOR: "1" };

function project(prefix, manifest) {
  const dir = mkdtempSync(`/tmp/${prefix}-`);
  symlinkSync(join(root, "services"), join(dir, "services"));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  return dir;
}
const cli = (dir, args, expectStatus = 0) =>
  timeSpawn(node, [distCli, "--manifest", join(dir, "manifest.json"), ...args], { cwd: dir, env, expectStatus });

function exampleFleet() {
  const m = JSON.parse(readFileSync(join(root, "manifest.json"), "utf8"));
  delete m.$schema;
  m.ports = { avoid: [] };
  if (m.proxy) m.proxy.listen = "127.0.0.1:11999";
  for (const g of Object.values(m.groups)) g.range = "12000-12199";
  let port = 12000;
  for (const s of Object.values(m.services)) {
    if (s.port !== undefined) {
      s.port = port;
      port += s.instances ?? 1; // an instance takes the port after its predecessor's
    }
    s.startSecs = 1;
  }
  return m;
}

function bigFleet(count) {
  const listen =
    "import os,socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);" +
    "s.bind(('127.0.0.1',int(os.environ['PORT'])));s.listen();time.sleep(1e9)";
  const services = {};
  for (let i = 0; i < count; i++)
    services[`s${String(i).padStart(3, "0")}`] = {
      port: 12000 + i,
      command: ["/usr/bin/python3", "-c", listen],
      startSecs: 1,
    };
  return { project: "big", host: "127.0.0.1", services };
}

const results = { reps: REPS };
const targets = [];
let dir = project("obrc", exampleFleet());
try {
  cli(dir, ["restart"]);
  const sctl = () =>
    timeSpawn("supervisorctl", ["-c", join(dir, "units", "supervisord.conf"), "status"], {
      cwd: dir,
      env,
      expectStatus: null, // exits 3: the one-shot db_migrate is EXITED, which supervisorctl counts as not running
    });
  const times = await interleave(
    {
      "supervisorctl status": sctl,
      "orchestrate status": () => cli(dir, ["status"]),
      "orchestrate verify": () => cli(dir, ["verify"]),
      "orchestrate ports": () => cli(dir, ["ports"]),
      "orchestrate check-ports": () => cli(dir, ["check-ports"]),
      "node -e 0": () => timeSpawn(node, ["-e", "0"], { env }),
    },
    { reps: REPS, warmup: 2 },
  );
  console.log(
    `bench/read-commands: the example fleet (14 services, 15 rows), ${REPS} interleaved reps, node ${process.version}`,
  );
  results.example = printTable(times, { baseline: "supervisorctl status" });
  results.exampleRaw = times;
  const base = median(times["supervisorctl status"]);
  for (const c of ["status", "verify", "ports", "check-ports"])
    targets.push(target(`${c} ≤ 1.0× supervisorctl status`, median(times[`orchestrate ${c}`]) / base, 1.0));
} finally {
  cli(dir, ["shutdown"], null);
  rmSync(dir, { recursive: true, force: true });
}

if (!flag("no-200")) {
  dir = project("obrb", bigFleet(200));
  try {
    // supervisord spawning 200 programs at start may not answer within restart's 10 s: run it again
    if (cli(dir, ["restart"], null).status !== 0) cli(dir, ["restart"]);
    const times = await interleave(
      {
        "supervisorctl status (200)": () =>
          timeSpawn("supervisorctl", ["-c", join(dir, "units", "supervisord.conf"), "status"], { cwd: dir, env }),
        "orchestrate status (200)": () => cli(dir, ["status"]),
        "orchestrate verify (200)": () => cli(dir, ["verify"]),
      },
      { reps: Math.max(5, Math.round(REPS / 2)), warmup: 1 },
    );
    console.log(`\n200 services`);
    results.big = printTable(times, { baseline: "supervisorctl status (200)" });
    results.bigRaw = times;
    targets.push(target("status of 200 services < 1000 ms", median(times["orchestrate status (200)"]), 1000));
    targets.push(target("verify of 200 services < 1000 ms", median(times["orchestrate verify (200)"]), 1000));
  } finally {
    cli(dir, ["shutdown"], null);
    rmSync(dir, { recursive: true, force: true });
  }
}
writeResult("read-commands", { ...results, targets });
