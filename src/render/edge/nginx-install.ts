/**
 * The proxy for a system nginx (`orchestrate install --nginx-conf-dir DIR`): one file DIR/orchestrate-PROJECT.conf,
 * read by the `include /etc/nginx/conf.d/*.conf;` inside the system nginx.conf's http block, and the service
 * files under DIR/orchestrate-PROJECT/ (a folder: `conf.d/*.conf` does not read them twice). A system nginx
 * resolves relative includes against its own nginx.conf's folder (nginx docs, "include"), so every include here
 * is absolute. Main-context lines of the private nginx (pid, error_log, events, temp paths, its access log) are
 * left out: the system nginx has its own. `default_server` is left out too (the system's default site keeps
 * it; nginx refuses two on one port). Pure: model and folder in, files (absolute paths) out.
 */
import { join } from "node:path";
import type { Model, RenderedFile } from "../../model/types";
import { nginxQuote } from "./nginx-escape";
import { renderNginx } from "./nginx";
import { NGINX_HEADER, routedServices, upgradeVariable, upstreamFile } from "./nginx-service";
import type { ReadyPorts } from "./nginx-service";

/** DIR/orchestrate-PROJECT.conf: the file the system nginx includes. */
export function nginxInstallEntry(model: Pick<Model, "project">, dir: string): string {
  return join(dir, `orchestrate-${model.project}.conf`);
}

/** DIR/orchestrate-PROJECT/: the upstreams, locations and server file it includes. */
export function nginxInstallFolder(model: Pick<Model, "project">, dir: string): string {
  return join(dir, `orchestrate-${model.project}`);
}

/** Every file to install into `dir` (absolute paths); empty without a proxy. */
export function renderNginxInstall(model: Model, dir: string, ready?: ReadyPorts): RenderedFile[] {
  if (!model.proxy) return [];
  const folder = nginxInstallFolder(model, dir);
  const include = (rel: string) => `include ${nginxQuote(join(folder, rel), "install --nginx-conf-dir")};`;
  const files: RenderedFile[] = [];
  for (const f of renderNginx(model, { readyPorts: ready })) {
    const rel = f.path.slice("units/nginx/".length);
    if (rel === "nginx.conf") continue;
    let content = f.content;
    if (rel === "server.conf")
      content = content
        .replace(/^(\s*)include (\S+);$/gm, (_m, sp: string, file: string) => `${sp}${include(file)}`)
        .replace(/ default_server;$/gm, ";");
    files.push({ path: join(folder, rel), content, mode: 0o644 });
  }
  const entry = [
    NGINX_HEADER.replace("orchestrate generate", "orchestrate install --nginx-conf-dir"),
    `# project ${model.project}: include this file inside the http block (Debian: /etc/nginx/conf.d/*.conf is)`,
    '# WebSocket: Connection follows the client\'s Upgrade (nginx docs, "WebSocket proxying")',
    `map $http_upgrade ${upgradeVariable(model.project)} {`,
    "    default upgrade;",
    '    "" close;',
    "}",
    ...routedServices(model.services).map((s) => include(upstreamFile(s))),
    include("server.conf"),
    "",
  ].join("\n");
  files.push({ path: nginxInstallEntry(model, dir), content: entry, mode: 0o644 });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
