/**
 * The exposure audit: each managed and external port's real listener addresses (src/inspect/listeners.ts) against
 * its declared exposure (src/model/surface.ts). Pure: model and listener table in, findings out.
 * A `loopback` port listening on a wildcard (0.0.0.0, ::) or on a non-loopback address is reachable from other
 * hosts unless a firewall stops it: an error finding with the fix. An `internal`/`public` port listening on
 * loopback only cannot be reached from outside: a warning.
 */
import type { Listener } from "../inspect/listeners";
import { isLoopbackAddress } from "../model/edge";
import type { Exposure } from "../model/edge-types";
import { exposedPorts } from "../model/surface";
import type { Model } from "../model/types";

/** One exposure problem. */
export interface ExposureFinding {
  severity: "error" | "warning";
  port: number;
  owner: { kind: "service" | "external" | "proxy"; name: string };
  exposure: Exposure;
  /** The listener addresses found on the port ("0.0.0.0", "::", "127.0.0.1", …). */
  addresses: string[];
  /** The listening process, when visible. */
  pid?: number;
  command?: string;
  message: string;
  fix: string;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "*"]);

/** How to bind a well-known external to loopback, by name or port; else a general fix. */
function externalFix(name: string, port: number): string {
  if (/redis/i.test(name) || port === 6379)
    return 'set "bind 127.0.0.1 -::1" and "protected-mode yes" in redis.conf, then restart redis';
  if (/postgres|pg/i.test(name) || port === 5432)
    return "set listen_addresses = 'localhost' in postgresql.conf, then restart postgres";
  if (/mongo/i.test(name) || port === 27017) return "set net.bindIp: 127.0.0.1 in mongod.conf, then restart mongod";
  if (/mysql|maria/i.test(name) || port === 3306) return "set bind-address = 127.0.0.1 in my.cnf, then restart mysqld";
  return `make ${name} listen on 127.0.0.1 only`;
}

/**
 * Findings for every exposed port of `model` that has a listener in `listeners`; a port nobody listens on is not
 * an exposure problem (verify and check-ports report it). Sorted by severity, then port.
 */
export function auditExposure(model: Model, listeners: Listener[]): ExposureFinding[] {
  const findings: ExposureFinding[] = [];
  for (const e of exposedPorts(model)) {
    const here = listeners.filter((l) => l.port === e.port);
    if (here.length === 0) continue;
    const addresses = [...new Set(here.map((l) => l.address))];
    const open = here.filter((l) => !isLoopbackAddress(l.address));
    const holder = (open[0] ?? here[0]) as Listener;
    const base = {
      port: e.port,
      owner: e.owner,
      exposure: e.exposure,
      addresses,
      pid: holder.pid,
      command: holder.command,
    };
    const who = e.owner.kind === "proxy" ? "the proxy" : `${e.owner.kind} ${e.owner.name}`;
    if (e.exposure === "loopback" && open.length) {
      const where = open
        .map((l) => (WILDCARDS.has(l.address) ? `${l.address} (all interfaces)` : l.address))
        .join(", ");
      findings.push({
        ...base,
        severity: "error",
        message: `${who} is "loopback" but port ${e.port} listens on ${where}: other hosts can reach it`,
        fix:
          e.owner.kind === "service"
            ? `bind {bind} / $BIND_ADDRESS (127.0.0.1) instead of ${open[0].address}, or set "exposure": "internal" or "public" on ${e.owner.name}`
            : e.owner.kind === "external"
              ? `${externalFix(e.owner.name, e.port)}; or declare "exposure": "internal" on external ${e.owner.name} and apply the firewall (units/firewall.nft)`
              : 'set proxy.listen to "127.0.0.1:PORT", or make it public by listening on another address',
      });
    } else if (e.exposure !== "loopback" && open.length === 0) {
      findings.push({
        ...base,
        severity: "warning",
        message: `${who} is "${e.exposure}" but port ${e.port} listens on ${addresses.join(", ")} only: no other host can reach it`,
        fix:
          e.owner.kind === "service"
            ? "bind {bind} / $BIND_ADDRESS (0.0.0.0)"
            : "make it listen on an address other hosts reach",
      });
    }
  }
  return findings.sort((a, b) => (a.severity === b.severity ? a.port - b.port : a.severity === "error" ? -1 : 1));
}
