/**
 * `host` (top level, and `external.NAME.host`) is a host name or an IP literal: it lands in URLs
 * (`http://HOST:PORT/`), in every program's HOST and in ports.env, so `"127.0.0.1 evil"` must not pass.
 * Host names follow RFC 1123 §2.1 (labels of letters, digits and inner hyphens, at most 63 characters, at
 * most 253 in all); IP literals are IPv4 dotted quads or IPv6 (RFC 4291 §2.2) without brackets (URLs add
 * them, RFC 3986 §3.2.2; a program given HOST=[::1] could not bind it).
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Problem } from "../../errors";

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** True for a host name (RFC 1123), an IPv4 literal, or an IPv6 literal (without brackets: programs get it as HOST). */
export function isHostOrIp(host: string): boolean {
  if (isIPv4(host) || isIPv6(host)) return true;
  if (host.length > 253) return false;
  const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
  // a name whose last label is all digits would read as a (bad) IPv4 address: 127.0.0.300
  return labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function check(value: unknown, path: string, field: string, problems: Problem[]): void {
  if (typeof value !== "string" || value === "" || isHostOrIp(value)) return; // other types: the schema
  problems.push({
    severity: "error",
    path,
    field,
    value,
    message: `${field} ${JSON.stringify(value)} is neither a host name nor an IP address`,
    fix: 'use a host name (letters, digits, "-" and "."), e.g. "localhost", or an IP address such as "127.0.0.1" or "::1" (no brackets)',
  });
}

/** Error Problems for a `host` or `external.NAME.host` that is not a host name or IP literal. */
export function hostRules(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const m = isObject(raw) ? raw : {};
  check(m.host, "host", "host", problems);
  if (isObject(m.external))
    for (const [name, e] of Object.entries(m.external))
      if (isObject(e)) check(e.host, `external.${name}.host`, `external.${name}.host`, problems);
  return problems;
}
