/**
 * Small facts of the edge every layer above asks: the ports of a service's instances, the address a program
 * binds, how a `listen` value reads, and where the private nginx keeps its files.
 */
import { join } from "node:path";
import type { Exposure, ListenAddress } from "./edge-types";
import type { ProjectPaths, Service } from "./types";

/**
 * The ports of a service's instances, in instance order; empty for a worker.
 * Manifest v1.1 (branch v11) gives every Service `instances[]`, each with its port: this reads
 * them when present, and until then a service has one instance on `service.port`. Every edge module (nginx
 * upstreams, firewall, exposure audit) reads instance ports here and nowhere else.
 */
export function instancePorts(
  service: Pick<Service, "port"> & { instances?: ReadonlyArray<{ port?: number }> },
): number[] {
  if (service.instances) return service.instances.flatMap((i) => (i.port === undefined ? [] : [i.port]));
  return service.port === undefined ? [] : [service.port];
}

/** The address a program binds for its exposure: 127.0.0.1 for loopback, 0.0.0.0 (every IPv4 address) otherwise. */
export function bindAddress(exposure: Exposure): string {
  return exposure === "loopback" ? "127.0.0.1" : "0.0.0.0";
}

/**
 * Reads a manifest `listen` value (`8443`, `"127.0.0.1:8443"`, `"[::1]:8443"`, `"*:80"`) as address and port;
 * a bare port or `*` means every address. @throws RangeError when it is not one of those forms.
 */
export function parseListen(value: number | string): ListenAddress {
  if (typeof value === "number") return { port: value };
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|\*):)?(\d{1,5})$/.exec(value);
  if (!m) throw new RangeError(`"${value}" is not PORT or ADDR:PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`port ${port} of "${value}" is not 1-65535`);
  const address = m[1] === undefined || m[1] === "*" ? undefined : m[1].replace(/^\[|\]$/g, "");
  return address === undefined ? { port } : { address, port };
}

/** True when a listen address is reachable from this host only (127.0.0.0/8 or ::1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  return address !== undefined && (/^127\./.test(address) || address === "::1");
}

/** `ADDR:PORT` as nginx writes it (`[::1]:8443`; a bare port for every address). */
export function formatListen(listen: ListenAddress): string {
  if (listen.address === undefined) return String(listen.port);
  return listen.address.includes(":") ? `[${listen.address}]:${listen.port}` : `${listen.address}:${listen.port}`;
}

/** Files of the private nginx (all absolute). Its configuration lives in units/nginx/, its state in run/nginx/. */
export interface NginxPaths {
  /** units/nginx/: nginx.conf, server.conf, upstreams/, locations/ */
  confDir: string;
  /** units/nginx/nginx.conf (given with -c) */
  conf: string;
  /** run/nginx/ (given with -p: nginx's prefix) */
  prefix: string;
  /** run/nginx/nginx.pid */
  pid: string;
  /** run/nginx/tmp/: the *_temp_path folders */
  temp: string;
  /** run/nginx/next/: a candidate configuration checked before it is swapped into units/nginx/ */
  staging: string;
  /** logs/nginx.error.log (also given with -e, so nothing is written to the compiled-in path) */
  errorLog: string;
  /** logs/nginx.access.log */
  accessLog: string;
}

/** Where the private nginx of a project keeps its files. */
export function nginxPaths(paths: Pick<ProjectPaths, "units" | "run" | "logs">): NginxPaths {
  const confDir = join(paths.units, "nginx");
  const prefix = join(paths.run, "nginx");
  return {
    confDir,
    conf: join(confDir, "nginx.conf"),
    prefix,
    pid: join(prefix, "nginx.pid"),
    temp: join(prefix, "tmp"),
    staging: join(prefix, "next"),
    errorLog: join(paths.logs, "nginx.error.log"),
    accessLog: join(paths.logs, "nginx.access.log"),
  };
}
