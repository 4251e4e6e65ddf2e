/**
 * Checking an nginx configuration before it serves: `nginx -t` on a candidate copy of units/nginx/ (the staging
 * folder run/nginx/next/), first one minimal wrapper per routed service (so a refusal names the service whose
 * block broke it), then the whole configuration. nginx -t parses every file, opens the log files, creates the
 * temp folders and loads certificates, but binds no socket and signals no running nginx (nginx docs, command-line
 * parameters: "-t — test configuration"); with a pid file it opens it without truncating (ngx_create_pidfile).
 */
import { join, relative } from "node:path";
import { run } from "../../exec/run";
import { nginxPaths } from "../../model/edge";
import type { Model, RenderedFile } from "../../model/types";
import { nginxArgv, renderServiceCheck, serviceNginxFiles } from "../../render/edge/nginx";
import { routedServices } from "../../render/edge/nginx-service";
import { ensureDir, writeFileAtomicSync } from "../../write/atomic";

/** The nginx executable: $ORCHESTRATE_NGINX, else Debian's /usr/sbin/nginx. */
export function nginxBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.ORCHESTRATE_NGINX || "/usr/sbin/nginx";
}

/** One refusal of `nginx -t`: whose block, which file (as it will be installed), and nginx's own words. */
export interface NginxRefusal {
  /** The service whose upstream or locations nginx refused; undefined for the shared files (nginx.conf, server.conf). */
  service?: string;
  /** File nginx named, relative to the project root, with `:LINE` when nginx gave one (`units/nginx/locations/api.conf:3`). */
  file?: string;
  /** nginx's `[emerg]` lines, with the staging folder replaced by units/nginx/. */
  message: string;
}

/** Outcome of {@link checkCandidate}. */
export interface NginxCheck {
  ok: boolean;
  refusals: NginxRefusal[];
}

/** Writes the rendered units/nginx/ files (and one check wrapper per routed service) into run/nginx/next/. */
export function stageCandidate(model: Model, files: RenderedFile[]): string {
  const p = nginxPaths(model.paths);
  ensureDir(p.temp);
  ensureDir(model.paths.logs);
  for (const f of files) {
    if (!f.path.startsWith("units/nginx/")) continue;
    writeFileAtomicSync(join(p.staging, f.path.slice("units/nginx/".length)), f.content, f.mode);
  }
  for (const s of routedServices(model.services))
    writeFileAtomicSync(join(p.staging, `check-${s.name}.conf`), renderServiceCheck(model, s), 0o644);
  return p.staging;
}

/**
 * nginx's message with the staging folder shown as units/nginx/, and the file:line it names; when it names none
 * (a certificate that cannot be loaded is reported without one), the candidate file holding the first quoted value.
 */
function readRefusal(model: Model, stderr: string, files: RenderedFile[]): { message: string; file?: string } {
  const p = nginxPaths(model.paths);
  const lines = stderr
    .split("\n")
    .filter((l) => /\[(emerg|alert|crit|error)\]/.test(l))
    .map((l) =>
      l
        .split(p.staging)
        .join(p.confDir)
        .replace(/^nginx: /, ""),
    );
  const message = lines.length ? lines.join("\n") : stderr.trim();
  const at = / in (.+:\d+)$/m.exec(message);
  if (at) return { message, file: relative(model.paths.root, at[1]) };
  const quoted = /"([^"]+)"/.exec(message)?.[1];
  const holder = quoted
    ? files.find((f) => f.path.startsWith("units/nginx/") && f.content.includes(quoted))
    : undefined;
  return { message, file: holder?.path };
}

/** `nginx -t` on one configuration file. */
export async function nginxTest(model: Model, conf: string): Promise<{ ok: boolean; stderr: string }> {
  const r = await run(nginxBinary(), nginxArgv(model, { conf, extra: ["-t", "-q"] }).slice(1), { timeoutMs: 30_000 });
  if (r.failedToStart)
    return {
      ok: false,
      stderr: `nginx: [emerg] ${nginxBinary()} could not be started: install nginx (apt-get install nginx-light)`,
    };
  return { ok: r.exitCode === 0, stderr: r.stderr };
}

/**
 * Stages `files` and checks them: every routed service's wrapper (all of them, so every broken service is named),
 * then, when those pass, the whole nginx.conf. A failure of the whole names the file; the service when the file is
 * one of a service's.
 */
export async function checkCandidate(model: Model, files: RenderedFile[]): Promise<NginxCheck> {
  const staging = stageCandidate(model, files);
  const refusals: NginxRefusal[] = [];
  for (const s of routedServices(model.services)) {
    const r = await nginxTest(model, join(staging, `check-${s.name}.conf`));
    if (!r.ok) refusals.push({ service: s.name, ...readRefusal(model, r.stderr, files) });
  }
  if (refusals.length === 0) {
    const r = await nginxTest(model, join(staging, "nginx.conf"));
    if (!r.ok) {
      const refusal = readRefusal(model, r.stderr, files);
      const owner = routedServices(model.services).find((s) =>
        serviceNginxFiles(model, s).some(
          (f) => refusal.file === `units/nginx/${f}` || refusal.file?.startsWith(`units/nginx/${f}:`),
        ),
      );
      refusals.push({ ...(owner ? { service: owner.name } : {}), ...refusal });
    }
  }
  return { ok: refusals.length === 0, refusals };
}
