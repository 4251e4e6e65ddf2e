/**
 * Helpers for the add-service / modify-service / remove-service end-to-end files: a copy of the example
 * fleet (the repo's manifest.json) with every port remapped into one sub-block of 28000-28999, byte
 * hashes of manifest.json and units/, an independent "next free port of a group" computation, and a
 * listener of our own that the allocator cannot see (it holds no port yet).
 *
 * Sub-blocks (each FILE its own, so files running in parallel never race for a port):
 *   add-service.test.ts              28000-28499
 *   modify-remove-service.test.ts    28500-28699
 *   add-service-concurrency.test.ts  28700-28849
 *   add-service-crash.test.ts        28850-28999
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { REPO_ROOT, show, type CliResult, type TestProject } from "./project";

export const SUPERVISORD = "/usr/bin/supervisord";
export const PYTHON = "/usr/bin/python3";
/** The example fleet's generic HTTP service (reads PORT, SERVICE_NAME; /health → 200). */
export const HTTP_SERVICE = join(REPO_ROOT, "services", "http_service.py");

export interface ServiceEntry {
  group?: string;
  port?: number;
  command: string | string[];
  directory?: string;
  env?: Record<string, string>;
  health?: string;
  dependsOn?: string[];
  startSecs?: number;
  readyTimeout?: number;
  stopTimeout?: number;
  [key: string]: unknown;
}
export interface Manifest {
  ports: { allowed?: unknown[]; avoid?: number[]; reserved?: Record<string, string> };
  groups: Record<string, { range: unknown; description?: string }>;
  external?: Record<string, { port: number; description?: string }>;
  services: Record<string, ServiceEntry>;
  [key: string]: unknown;
}

/**
 * The fleet's ports mapped into [base, base+150): 8000+k → base+k (k ≤ 100), 3000 → base+110,
 * 4000 → base+120, 6000 → base+130, the externals → base+140, base+141. Ranges and reservations follow.
 * The relative layout (holes, overlapping group ranges, the reserved 8083) is kept, so allocation meets
 * the same situations as in the real fleet.
 */
export function remapPort(base: number, port: number): number {
  if (port >= 8000 && port <= 8100) return base + (port - 8000);
  if (port === 3000) return base + 110;
  if (port === 4000) return base + 120;
  if (port === 6000) return base + 130;
  if (port === 5432) return base + 140;
  if (port === 6379) return base + 141;
  throw new Error(`remapPort: no mapping for ${port}`);
}

function remapRange(base: number, item: unknown): unknown {
  if (typeof item === "number") return remapPort(base, item);
  if (typeof item === "string") {
    const m = /^(\d+)-(\d+)$/.exec(item);
    if (!m) return String(remapPort(base, Number(item)));
    const [lo, hi] = [Number(m[1]), Number(m[2])];
    if (lo === 3000 && hi === 4000) return `${base + 110}-${base + 120}`;
    if (lo === 8000 && hi === 8100) return `${base}-${base + 100}`;
    return `${remapPort(base, lo)}-${remapPort(base, hi)}`;
  }
  if (Array.isArray(item)) return item.map((i) => remapRange(base, i));
  throw new Error(`remapRange: unexpected ${JSON.stringify(item)}`);
}

/**
 * The repo's manifest.json with ports in [base, base+150), services run from the repo's folder
 * (directory = absolute repo root), `avoid` replaced by `avoid` (ports inside the block), without the proxy
 * and routes (no nginx: the change pipeline is what these files test).
 */
export function fleetManifest(base: number, options: { avoid?: number[] } = {}): Manifest {
  const m = JSON.parse(readFileSync(join(REPO_ROOT, "manifest.json"), "utf8")) as Manifest;
  delete m.$schema;
  m.ports.allowed = remapRange(base, m.ports.allowed) as unknown[];
  m.ports.avoid = options.avoid ?? [];
  m.ports.reserved = Object.fromEntries(
    Object.entries(m.ports.reserved ?? {}).map(([p, why]) => [String(remapPort(base, Number(p))), why]),
  );
  for (const g of Object.values(m.groups)) g.range = remapRange(base, g.range);
  for (const e of Object.values(m.external ?? {})) e.port = remapPort(base, e.port);
  for (const s of Object.values(m.services)) {
    s.directory = REPO_ROOT;
    if (s.port !== undefined) s.port = remapPort(base, s.port);
    delete s.routes; // the proxy is covered by procedure-fleet and cli-proxy: these files test the change pipeline
  }
  delete m.proxy;
  return m;
}

/** Expands a manifest range spec ("a-b", n, "n", or a list of them) to its ports, ascending. */
export function expandRange(spec: unknown): number[] {
  const out: number[] = [];
  const add = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(add);
    if (typeof x === "number") return void out.push(x);
    const m = /^(\d+)(?:-(\d+))?$/.exec(String(x));
    if (!m) throw new Error(`bad range ${JSON.stringify(x)}`);
    for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) out.push(p);
  };
  add(spec);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** True when we can bind 127.0.0.1:port and 0.0.0.0:port right now (nothing else holds it). */
export async function canBind(port: number): Promise<boolean> {
  for (const host of ["127.0.0.1", "0.0.0.0"]) {
    const ok = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

/**
 * The rule, written independently of src/: the lowest port of the group's range that is inside
 * ports.allowed, not avoided, not reserved, not external, not another service's, and bindable now.
 */
export async function expectedNextFreePort(m: Manifest, group: string): Promise<number> {
  const allowed = m.ports.allowed ? new Set(expandRange(m.ports.allowed)) : undefined;
  const taken = new Set<number>([
    ...(m.ports.avoid ?? []),
    ...Object.keys(m.ports.reserved ?? {}).map(Number),
    ...Object.values(m.external ?? {}).map((e) => e.port),
    ...Object.values(m.services).flatMap((s) => (s.port === undefined ? [] : [s.port])),
  ]);
  for (const port of expandRange(m.groups[group].range)) {
    if (allowed && !allowed.has(port)) continue;
    if (taken.has(port)) continue;
    if (await canBind(port)) return port;
  }
  throw new Error(`group ${group}: no free port`);
}

/** sha256 of every file under `dir` (relative path → hash); a missing folder is an empty map. */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

/** The bytes a change may touch: manifest.json and every file under units/. */
export interface ProjectBytes {
  manifest: string;
  units: Map<string, string>;
}

export function projectBytes(project: TestProject): ProjectBytes {
  return { manifest: readFileSync(project.manifestPath, "utf8"), units: hashTree(project.paths.units) };
}

/** Files that differ between two snapshots of units/ (added, removed or changed), sorted. */
export function unitsDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

/** Asserts nothing changed in manifest.json and units/ (message lists what did). */
export function sameBytes(before: ProjectBytes, after: ProjectBytes): string | undefined {
  const problems: string[] = [];
  if (before.manifest !== after.manifest) problems.push("manifest.json changed");
  const diff = unitsDiff(before.units, after.units);
  if (diff.length) problems.push(`units/ changed: ${diff.join(", ")}`);
  return problems.length ? problems.join("; ") : undefined;
}

/** `status --json` → name → { state, pid }. */
export async function statusJson(project: TestProject): Promise<Map<string, { state: string; pid?: number }>> {
  const r = await project.cli(["status", "--json"]);
  let report: { services: { name: string; state: string; pid?: number }[] };
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`expected status --json to print JSON; ${show(r)}`);
  }
  for (const s of report.services) project.track(s.pid);
  return new Map(report.services.map((s) => [s.name, { state: s.state, pid: s.pid }]));
}

/** name → pid of every program with a pid (status --json). */
export async function pidsOf(project: TestProject): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const [name, s] of await statusJson(project)) if (s.pid) m.set(name, s.pid);
  return m;
}

/** The numbered step lines "  N. title … (123 ms)" of a change's output, by number. */
export function stepLines(result: CliResult): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of result.stdout.split("\n")) {
    const m = /^\s*\[?(\d+)(?:\/\d+)?[\].]\s/.exec(line);
    if (m && !out.has(Number(m[1]))) out.set(Number(m[1]), line);
  }
  return out;
}

export { show };
