/**
 * Tiny real listener processes for inspection tests, started through src/exec/run.ts spawnService (own
 * process group). `stopAll()` kills exactly the groups this helper started. Ports: 22000-22999 only.
 */
import { spawnService, type SpawnedProcess } from "../../src/exec/run";

/** Node program: listens on every `host:port` given as arguments, prints "ready" once all are bound. */
export const LISTEN_JS = `
const net = require("net");
const specs = process.argv.slice(1).map((s) => { const i = s.lastIndexOf(":"); return { host: s.slice(0, i), port: +s.slice(i + 1) }; });
let left = specs.length;
for (const { host, port } of specs) net.createServer((c) => c.end()).listen({ host, port, ipv6Only: host === "::1" }, () => { if (--left === 0) console.log("ready"); });
setInterval(() => {}, 1 << 30);
`;

/** Node program: a parent that spawns a child running LISTEN_JS with the same arguments, then idles. */
export const PARENT_JS = `
const { spawn } = require("child_process");
spawn(process.execPath, ["-e", ${JSON.stringify(LISTEN_JS)}, ...process.argv.slice(1)], { stdio: "inherit" });
setInterval(() => {}, 1 << 30);
`;

/** Node program: cluster master + 2 workers sharing one listening socket (SCHED_NONE: every worker holds the fd). */
export const CLUSTER_JS = `
const cluster = require("cluster"); const net = require("net");
cluster.schedulingPolicy = cluster.SCHED_NONE;
const port = +process.argv[1];
if (cluster.isPrimary) {
  let up = 0;
  for (let i = 0; i < 2; i++) cluster.fork().on("listening", () => { if (++up === 2) console.log("ready"); });
} else net.createServer((c) => c.end()).listen({ host: "127.0.0.1", port });
setInterval(() => {}, 1 << 30);
`;

const started: SpawnedProcess[] = [];

/** Starts `argv` in its own process group and waits until it printed "ready" (or throws with its output). */
export async function startReady(argv: string[], timeoutMs = 10_000): Promise<SpawnedProcess> {
  const proc = await spawnService(argv, { cwd: process.cwd(), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  started.push(proc);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  while (!proc.output().includes("ready")) {
    if (exited || Date.now() > deadline) {
      throw new Error(
        `expected "ready" from ${argv.join(" ").slice(0, 120)} (pid ${proc.pid}) within ${timeoutMs} ms; ${exited ? "it exited" : "timed out"}; output: ${proc.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 50);
  }
  return proc;
}

/** `node -e LISTEN_JS host:port…` */
export function listen(...specs: string[]): Promise<SpawnedProcess> {
  return startReady([process.execPath, "-e", LISTEN_JS, ...specs]);
}

/** SIGKILLs the process group of every process this helper started and waits for each to exit. */
export async function stopAll(): Promise<void> {
  const all = started.splice(0);
  for (const proc of all) proc.signalGroup("SIGKILL");
  await Promise.all(all.map((p) => p.exited));
}
