/**
 * The private nginx of a project: the only code that starts, reloads and stops nginx. It runs daemonized beside
 * the private supervisord (`nginx -p run/nginx/ -c units/nginx/nginx.conf -e logs/nginx.error.log`): the start
 * command returns only after the master has read the configuration and bound every listen socket (exit 0), or
 * with nginx's message (exit 1), so "started" needs no polling; it outlives the CLI, and `-s reload` / `-s quit`
 * reach it through its pid file (nginx docs, "Controlling nginx"). Under a process manager use
 * `nginxArgv(model, { foreground: true })` instead (`-g "daemon off;"`).
 *
 * Every reload is safe: the rendered files are staged and checked (./check.ts); only when nginx accepts them are
 * they swapped into units/nginx/ and the master signalled. A reload lets old workers finish the requests they hold
 * while new workers take new connections (nginx docs, "Changing Configuration"); a refused configuration leaves
 * units/nginx/ and the running nginx untouched.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { OperationError } from "../../errors";
import { run } from "../../exec/run";
import { isAlive } from "../../inspect/processes";
import { nginxPaths } from "../../model/edge";
import type { Model, RenderedFile } from "../../model/types";
import { nginxArgv, renderNginx, type RenderNginxOptions } from "../../render/edge/nginx";
import { ensureDir, writeFileAtomicSync } from "../../write/atomic";
import { childrenOf, readPidfile } from "../supervisord/pids";
import { pollUntil, waitForExit } from "../../signal/poll";
import { signalProcess } from "../../signal/send";
import { startTimeOf } from "../../inspect/processes";
import { checkCandidate, nginxBinary, type NginxRefusal } from "./check";

/** nginx refused a configuration: nothing was swapped in, the running nginx keeps serving the old one. Exit 1. */
export class NginxRefusedError extends OperationError {
  constructor(readonly refusals: NginxRefusal[]) {
    super(
      "nginx refused the new configuration; the running one keeps serving:\n" +
        refusals
          .map((r) => `  ${r.service ? `service ${r.service}` : "proxy"}: ${r.file ?? "(no file named)"}: ${r.message}`)
          .join("\n"),
      "fix the manifest (or the file named) and run the command again; units/nginx/ was not changed",
    );
  }
}

/** The master's pid when the private nginx runs (its pid file names a live process), else undefined. */
export function nginxPid(model: Pick<Model, "paths">): number | undefined {
  const pid = readPidfile(nginxPaths(model.paths).pid);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

async function nginx(model: Model, extra: string[]): Promise<void> {
  const argv = nginxArgv(model, { binary: nginxBinary(), extra });
  const r = await run(argv[0], argv.slice(1), { timeoutMs: 30_000 });
  if (r.exitCode !== 0)
    throw new OperationError(`${argv.join(" ")} failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim()}`);
}

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function logSince(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString("utf8");
  } catch {
    return "";
  }
}

/** Starts the private nginx on units/nginx/nginx.conf (already checked). Returns the master's pid. */
export async function startNginx(model: Model): Promise<number> {
  const p = nginxPaths(model.paths);
  ensureDir(p.temp);
  ensureDir(model.paths.logs);
  await nginx(model, []);
  // the command returns when the master has bound its sockets and forked; the daemon writes its pid file after
  // that (nginx core, main(): ngx_daemon, then ngx_create_pidfile), so wait for it
  let pid: number | undefined;
  if (!(await pollUntil(() => (pid = nginxPid(model)) !== undefined, 10_000)))
    throw new OperationError(`nginx started but ${p.pid} names no live process after 10 s (see ${p.errorLog})`);
  return pid!;
}

/** The worker processes of a master and whether each still accepts (its title is not "… is shutting down"). */
async function workers(master: number): Promise<{ pid: number; shuttingDown: boolean }[]> {
  return (await childrenOf(master)).flatMap((c) => {
    let title = "";
    try {
      title = readFileSync(`/proc/${c.pid}/cmdline`, "utf8");
    } catch {
      return [];
    }
    return /worker process/.test(title) ? [{ pid: c.pid, shuttingDown: /shutting down/.test(title) }] : [];
  });
}

/**
 * Signals the master to re-read units/nginx/ (`-s reload`) and waits (up to `timeoutMs`, default 10000) until the
 * new configuration is what answers new connections: its error log says new workers started and every old worker
 * is gone or "shutting down" (an old worker sets that title and closes its listen sockets, then finishes the
 * requests it holds: nginx docs, "Changing Configuration"). A refusal logged by the master (it keeps the old
 * configuration) is an OperationError (exit 1).
 */
export async function reloadNginx(model: Model, timeoutMs = 10_000): Promise<void> {
  const log = nginxPaths(model.paths).errorLog;
  const master = nginxPid(model);
  const old = master === undefined ? [] : (await workers(master)).map((w) => w.pid);
  const offset = logSize(log);
  await nginx(model, ["-s", "reload"]);
  let outcome: "ok" | "refused" | undefined;
  await pollUntil(async () => {
    const text = logSince(log, offset);
    if (/\[emerg\]|\[alert\]/.test(text)) outcome = "refused";
    else if (/start worker process/.test(text)) {
      const now = master === undefined ? [] : await workers(master);
      const accepting = now.filter((w) => old.includes(w.pid) && !w.shuttingDown);
      if (accepting.length === 0) outcome = "ok";
    }
    return outcome !== undefined;
  }, timeoutMs);
  if (outcome === "refused")
    throw new OperationError(`nginx kept its old configuration on reload: ${logSince(log, offset).trim()}`);
  if (outcome === undefined)
    throw new OperationError(`nginx did not confirm the reload within ${timeoutMs} ms (see ${log})`);
}

/** Stops the private nginx gracefully (`-s quit`: workers finish their requests) and waits for the master to exit. */
export async function stopNginx(model: Model, timeoutMs = 10_000): Promise<boolean> {
  const pid = nginxPid(model);
  if (pid === undefined) return false;
  // `-s quit` reads the configuration first; once generate removed it (no proxy any more), send QUIT itself:
  // the same graceful shutdown (nginx docs, "Controlling nginx": QUIT)
  if (existsSync(nginxPaths(model.paths).conf)) await nginx(model, ["-s", "quit"]);
  else await signalProcess({ pid, startTime: startTimeOf(pid) }, "SIGQUIT");
  if (!(await pollUntil(() => !isAlive(pid), timeoutMs)))
    throw new OperationError(`nginx (pid ${pid}) did not exit within ${timeoutMs} ms of -s quit`);
  return true;
}

/** What {@link applyNginx} did. */
export interface NginxApply {
  /** "unchanged": nginx runs and already has this configuration, nothing was signalled */
  action: "started" | "reloaded" | "written" | "unchanged";
  /** Files of units/nginx/ whose content changed. */
  changed: string[];
  pid?: number;
}

/**
 * run/nginx/loaded.sha256: the digest of the units/nginx/ files the running master last loaded (written after a
 * start or a confirmed reload by {@link applyNginx}). `generate` may write units/nginx/ without a reload, so
 * "unchanged on disk" does not mean "loaded"; this digest does, and a reload that would change nothing is
 * skipped: every reload makes the old workers close their idle keep-alive client connections.
 */
function loadedPath(model: Pick<Model, "paths">): string {
  return join(nginxPaths(model.paths).prefix, "loaded.sha256");
}

function digestOf(files: RenderedFile[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) h.update(`${f.path}\0${f.content}\0`);
  return h.digest("hex");
}

function loadedDigest(model: Pick<Model, "paths">): string | undefined {
  try {
    return readFileSync(loadedPath(model), "utf8").trim();
  } catch {
    return undefined;
  }
}

function recordLoaded(model: Pick<Model, "paths">, digest: string): void {
  ensureDir(nginxPaths(model.paths).prefix, 0o700);
  writeFileAtomicSync(loadedPath(model), digest + "\n", 0o600);
}

/**
 * Renders units/nginx/ for `model` (instances outside `options.readyPorts` marked down), checks it, and only then
 * swaps it in and reloads the running nginx (or starts it, unless `options.start` is false). The running nginx is
 * reloaded when what it loaded differs from the result (see run/nginx/loaded.sha256 above), or always with
 * `options.reload` (`proxy reload`: a renewed certificate changes no configuration file).
 * @throws NginxRefusedError (exit 1) naming service, file and nginx's message; nothing changed then.
 */
export async function applyNginx(
  model: Model,
  options: RenderNginxOptions & { start?: boolean; files?: RenderedFile[]; reload?: boolean } = {},
): Promise<NginxApply> {
  const files = options.files ?? renderNginx(model, options);
  const check = await checkCandidate(model, files);
  if (!check.ok) throw new NginxRefusedError(check.refusals);
  const changed: string[] = [];
  for (const f of files) {
    const target = join(model.paths.root, f.path);
    let old: string | undefined;
    try {
      old = readFileSync(target, "utf8");
    } catch {
      /* new file */
    }
    if (old === f.content) continue;
    writeFileAtomicSync(target, f.content, f.mode);
    changed.push(f.path);
  }
  const digest = digestOf(files);
  const running = nginxPid(model);
  if (running !== undefined) {
    if (!changed.length && !options.reload && loadedDigest(model) === digest)
      return { action: "unchanged", changed, pid: running };
    await reloadNginx(model);
    recordLoaded(model, digest);
    return { action: "reloaded", changed, pid: nginxPid(model) };
  }
  if (options.start === false) return { action: "written", changed };
  const pid = await startNginx(model);
  recordLoaded(model, digest);
  return { action: "started", changed, pid };
}

/**
 * recover: stops the private nginx whatever state it is in. `-s quit` first (workers finish their requests,
 * 5 s), then SIGTERM to the master (nginx's fast shutdown, 5 s), then SIGKILL to its process group (the master
 * leads it after daemonizing: a worker orphaned by a killed master would keep serving). Every signal is guarded
 * by the master's PID and start time. Returns what was done, for the step's detail; nothing with `dryRun`.
 */
export async function emergencyStopNginx(model: Model, options: { dryRun: boolean }): Promise<string | undefined> {
  const pid = nginxPid(model);
  if (pid === undefined) return undefined;
  const target = { pid, startTime: startTimeOf(pid) };
  if (options.dryRun) return `would stop nginx (pid ${pid}): -s quit, then SIGTERM, then SIGKILL to its group`;
  try {
    if (await stopNginx(model, 5000)) return `nginx (pid ${pid}) stopped (-s quit)`;
  } catch {
    /* no answer to -s quit (or its configuration is gone): signal it */
  }
  await signalProcess(target, "SIGTERM");
  if (await waitForExit(pid, 5000, target.startTime)) return `nginx (pid ${pid}) stopped with SIGTERM`;
  await signalProcess(target, "SIGKILL", { group: true });
  await waitForExit(pid, 5000, target.startTime);
  return `nginx (pid ${pid}) killed with SIGKILL (its process group)`;
}
