/**
 * The nginx configuration of a project with a `proxy`, in units/nginx/: nginx.conf (a private nginx: pid, logs
 * and every *_temp_path inside run/ and logs/, so no root and no system file are needed), server.conf (the
 * servers: default, one per route host, the TLS redirect), and per routed service upstreams/NAME.conf and
 * locations/NAME[@HOST].conf. Includes are relative: nginx resolves them against the folder of the -c file
 * (nginx docs, "include"; ngx_cycle conf_prefix), so a copy of units/nginx/ in another folder is checked as is.
 * `daemon off;` is not in the file: the process manager gives it with -g (nginx docs, "daemon"; command line -g).
 */
import { formatListen, nginxPaths } from "../../model/edge";
import type { ListenAddress } from "../../model/edge-types";
import type { Model, RenderedFile, Service } from "../../model/types";
import { nginxQuote } from "./nginx-escape";
import {
  NGINX_HEADER,
  locationsFile,
  nginxIdent,
  upgradeVariable,
  renderLocations,
  renderUpstream,
  routeServer,
  routedServices,
  serversOf,
  upstreamFile,
  type ReadyPorts,
} from "./nginx-service";

/** Options of {@link renderNginx}. */
export interface RenderNginxOptions {
  /** Ports of the instances that are ready; the others are rendered `down`. Default: every instance. */
  readyPorts?: ReadonlySet<number>;
}

const TEMP_PATHS = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] as const;

/** The main-context and http-context lines shared by nginx.conf and the per-service check wrapper. */
function head(model: Model, pidFile: string): string[] {
  const p = nginxPaths(model.paths);
  const temp = TEMP_PATHS.map((t) => `    ${t}_temp_path ${nginxQuote(`${p.temp}/${t}`, `nginx ${t}_temp_path`)};`);
  return [
    NGINX_HEADER,
    `# private nginx of project ${model.project}: nginx -p ${p.prefix}/ -c ${p.conf} -e ${p.errorLog}`,
    "worker_processes auto;",
    `pid ${nginxQuote(pidFile, "nginx pid file")};`,
    `error_log ${nginxQuote(p.errorLog, "nginx error_log")} notice;`,
    "events {",
    "    worker_connections 1024;",
    "}",
    "http {",
    "    # upstream= names the instance that answered: verify reads it back (src/verify/routes.ts)",
    `    log_format ${nginxIdent(model.project)} '$remote_addr [$time_local] "$request" $status $body_bytes_sent host=$host upstream=$upstream_addr rt=$request_time';`,
    `    access_log ${nginxQuote(p.accessLog, "nginx access_log")} ${nginxIdent(model.project)};`,
    ...temp,
    "    default_type application/octet-stream;",
    "    server_tokens off;",
    "    # a reload closes the old workers' client connections: read and discard what a client already sent before",
    '    # closing (no reset that loses its request; nginx docs, "lingering_close": always)',
    "    lingering_close always;",
    '    # WebSocket: Connection follows the client\'s Upgrade (nginx docs, "WebSocket proxying")',
    `    map $http_upgrade ${upgradeVariable(model.project)} {`,
    "        default upgrade;",
    '        "" close;',
    "    }",
  ];
}

function listenLine(listen: ListenAddress, extra: string): string {
  return `    listen ${formatListen(listen)}${extra};`;
}

function acmeLocation(webroot: string): string[] {
  return [
    "    # HTTP-01 challenges: certbot certonly --webroot -w WEBROOT writes WEBROOT/.well-known/acme-challenge/TOKEN",
    "    location ^~ /.well-known/acme-challenge/ {",
    `        root ${nginxQuote(webroot, "proxy.acmeWebroot")};`,
    "        default_type text/plain;",
    "        try_files $uri =404;",
    "    }",
  ];
}

/** A server block: listen(s), server_name, the includes of its services' locations, 404 for anything else. */
function serverBlock(model: Model, host: string | undefined, services: Service[]): string[] {
  const proxy = model.proxy!;
  const tls = proxy.tls;
  const isDefault = host === undefined;
  const names = isDefault ? (proxy.serverNames.length ? proxy.serverNames : ["_"]) : [host];
  const lines = [`# ${isDefault ? "default server" : `host ${host}`}`, "server {"];
  lines.push(listenLine(proxy.listen, `${tls ? " ssl" : ""}${isDefault ? " default_server" : ""}`));
  lines.push(`    server_name ${names.join(" ")};`);
  if (tls)
    lines.push(
      `    ssl_certificate ${nginxQuote(tls.certificate, "proxy.tls.certificate")};`,
      `    ssl_certificate_key ${nginxQuote(tls.key, "proxy.tls.key")};`,
    );
  else if (proxy.acmeWebroot) lines.push(...acmeLocation(proxy.acmeWebroot));
  let root = false;
  for (const s of services) {
    if (!serversOf(s, proxy).includes(host)) continue;
    lines.push(`    include ${locationsFile(s, host)};`);
    root ||= s.routes.some((r) => r.path === "/" && routeServer(r, proxy) === host);
  }
  if (!root) lines.push("    location / {", "        return 404;", "    }");
  lines.push("}");
  return lines;
}

/** server.conf: the default server, one server per route host, and with TLS the plain-HTTP redirect server. */
export function renderServers(model: Model): string {
  const proxy = model.proxy!;
  const services = routedServices(model.services);
  const hosts = [...new Set(services.flatMap((s) => serversOf(s, proxy)).filter((h): h is string => !!h))];
  const lines = [NGINX_HEADER, ...serverBlock(model, undefined, services)];
  for (const h of hosts) lines.push(...serverBlock(model, h, services));
  if (proxy.tls) {
    const port = proxy.listen.port === 443 ? "" : `:${proxy.listen.port}`;
    lines.push("# plain HTTP: ACME challenges, everything else redirected to https", "server {");
    lines.push(listenLine(proxy.tls.redirectListen, " default_server"), "    server_name _;");
    if (proxy.acmeWebroot) lines.push(...acmeLocation(proxy.acmeWebroot));
    lines.push("    location / {", `        return 301 https://$host${port}$request_uri;`, "    }", "}");
  }
  return lines.join("\n") + "\n";
}

/** nginx.conf of the private nginx: the shared head, every upstream, then server.conf. */
export function renderNginxMain(model: Model): string {
  const lines = head(model, nginxPaths(model.paths).pid);
  for (const s of routedServices(model.services)) lines.push(`    include ${upstreamFile(s)};`);
  lines.push("    include server.conf;", "}");
  return lines.join("\n") + "\n";
}

/**
 * A minimal nginx.conf holding only `service`'s upstream and locations (in a stand-in server per host), written
 * beside nginx.conf: `nginx -t` on it names the service whose block nginx refuses. Its pid file is a separate one.
 */
export function renderServiceCheck(model: Model, service: Service): string {
  const lines = head(model, `${nginxPaths(model.paths).prefix}/check.pid`);
  lines.push(`    include ${upstreamFile(service)};`);
  for (const host of serversOf(service, model.proxy))
    lines.push(
      "    server {",
      `        listen ${formatListen(model.proxy!.listen)};`,
      `        server_name ${host ?? "_"};`,
      `        include ${locationsFile(service, host)};`,
      "    }",
    );
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Every file of units/nginx/ (paths relative to the project root); empty when the model has no proxy. */
export function renderNginx(model: Model, options: RenderNginxOptions = {}): RenderedFile[] {
  if (!model.proxy) return [];
  const ready: ReadyPorts = options.readyPorts;
  const files: RenderedFile[] = [
    { path: "units/nginx/nginx.conf", content: renderNginxMain(model), mode: 0o644 },
    { path: "units/nginx/server.conf", content: renderServers(model), mode: 0o644 },
  ];
  for (const s of routedServices(model.services)) {
    files.push({
      path: `units/nginx/${upstreamFile(s)}`,
      content: renderUpstream(model.project, s, ready),
      mode: 0o644,
    });
    for (const host of serversOf(s, model.proxy))
      files.push({
        path: `units/nginx/${locationsFile(s, host)}`,
        content: renderLocations(model, s, host),
        mode: 0o644,
      });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The files of units/nginx/ that belong to one service (relative to units/nginx/): its upstream and locations.
 * A message of `nginx -t` naming one of them names the service.
 */
export function serviceNginxFiles(model: Model, service: Service): string[] {
  return [upstreamFile(service), ...serversOf(service, model.proxy).map((h) => locationsFile(service, h))];
}

/** Debian's nginx binary (packages nginx-light, nginx); the backend lets $ORCHESTRATE_NGINX override it. */
export const NGINX_BINARY = "/usr/sbin/nginx";

/**
 * The command line of the private nginx: `nginx -p run/nginx/ -c units/nginx/nginx.conf -e logs/nginx.error.log`
 * (-e so not even the startup message goes to the compiled-in error log), plus `-g "daemon off;"` when a process
 * manager (supervisord) keeps it in the foreground. `extra` is appended (e.g. ["-t"], ["-s", "reload"]).
 */
export function nginxArgv(
  model: Pick<Model, "paths">,
  options: { foreground?: boolean; binary?: string; conf?: string; extra?: string[] } = {},
): string[] {
  const p = nginxPaths(model.paths);
  const argv = [options.binary ?? NGINX_BINARY, "-p", `${p.prefix}/`, "-c", options.conf ?? p.conf, "-e", p.errorLog];
  if (options.foreground) argv.push("-g", "daemon off;");
  return [...argv, ...(options.extra ?? [])];
}
