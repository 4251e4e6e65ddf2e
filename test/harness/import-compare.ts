/**
 * The comparison harness of the supervisord import (issue 13): supervisor's own parser
 * (test/oracle/import_oracle.py) reads a real configuration; the import's manifest gives the same
 * processes; every field is compared per process and every difference must be named by the report.
 *
 * Two sides are compared with the original:
 * - "contract": the processes the imported manifest means under manifest v1.1 (docs in the v1.1 model:
 *   one program NAME@I per instance, restart always/on-failure/never → autorestart true/unexpected/false,
 *   exitCodes → exitcodes, stderr merge → redirect_stderr, priority kept, logs under logs/).
 * - "generated": what orchestrate's real renderer writes (the v1.1 renderer, programs as the system
 *   supervisord would run them), read back by the oracle.
 */
import { resolve } from "node:path";
import { spawnSync } from "node:child_process";
import type { Manifest, ServiceEntry } from "../../src/manifest/schema";
import type { ProcessField, ProcessMapping, ReportItem } from "../../src/manifest/import";

/** One process as the oracle prints it. */
export interface OracleProcess {
  kind: string;
  name: string;
  group: string;
  argv: string[];
  environment: Record<string, string>;
  directory: string | null;
  uid: string | null;
  umask: string | null;
  autostart: boolean;
  autorestart: string;
  exitcodes: number[];
  priority: number;
  startsecs: number;
  startretries: number;
  stopsignal: string;
  stopwaitsecs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
  redirect_stderr: boolean;
  stdout_logfile: string | null;
  stderr_logfile: string | null;
}

export type OracleResult = { ok: true; processes: OracleProcess[]; warnings: string[] } | { ok: false; error: string };

export const ORACLE = resolve(__dirname, "..", "oracle", "import_oracle.py");

/** Runs the oracle on many configurations in one Python process. */
export function oracle(cases: Array<{ path: string; environ: Record<string, string> }>): OracleResult[] {
  const r = spawnSync("/usr/bin/python3", [ORACLE], { input: JSON.stringify(cases), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`import_oracle.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult[];
}

/** Fields of supervisord's ProcessConfig that a migration must keep (issue 13 "Same behaviour"). */
export const FIELDS: ProcessField[] = [
  "argv",
  "environment",
  "directory",
  "uid",
  "umask",
  "autostart",
  "autorestart",
  "exitcodes",
  "priority",
  "startsecs",
  "startretries",
  "stopsignal",
  "stopwaitsecs",
  "stopasgroup",
  "killasgroup",
  "redirect_stderr",
];
/** Fields orchestrate sets by policy for every program (logs under logs/, process-group stop). */
export const POLICY_FIELDS: ProcessField[] = ["stopasgroup", "killasgroup", "stdout_logfile", "stderr_logfile"];
const PROVIDED = ["PORT", "HOST", "SERVICE_NAME", "BIND_ADDRESS"];

/** Runs `exec …` of a /bin/sh -c script the import wrote, printing argv instead: what it would exec. */
function shellArgv(script: string, env: Record<string, string>): string[] {
  const r = spawnSync("/bin/sh", ["-c", script.replace(/^exec /, "printf '%s\\0' ")], { env, encoding: "utf8" });
  return r.stdout.split("\0").slice(0, -1);
}

/**
 * The process the manifest means for one mapping (the v1.1 contract). `environ` is supervisord's
 * environment (for a start-time `%(ENV_X)s`), `root` the manifest's folder.
 */
export function contractProcess(
  m: ProcessMapping,
  s: ServiceEntry,
  root: string,
  environ: Record<string, string>,
): Partial<OracleProcess> {
  const i = m.instance ?? 0;
  const port = s.port === undefined ? undefined : (s.ports?.[i] ?? s.port + i);
  const fill = (t: string) =>
    t
      .replace(/\{instance\}/g, String(i))
      .replace(/\{port\}/g, String(port))
      .replace(/\{name\}/g, m.service);
  const env = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, fill(v)]));
  let argv = (Array.isArray(s.command) ? s.command : [s.command]).map(fill);
  if (argv[0] === "/bin/sh" && argv[1] === "-c" && argv.length === 3 && argv[2].startsWith("exec "))
    argv = shellArgv(argv[2], { ...environ, ...env });
  const program = m.instance === undefined ? m.service : `${m.service}@${m.instance}`;
  const restart = { always: "true", "on-failure": "unexpected", never: "false" }[s.restart ?? "always"];
  return {
    name: program,
    group: program,
    argv,
    environment: env,
    directory: resolve(root, s.directory ?? "."),
    uid: s.user ?? null,
    umask: null,
    autostart: s.autostart ?? true,
    autorestart: restart,
    exitcodes: s.exitCodes ?? [0],
    priority: s.priority ?? 100,
    startsecs: s.startSecs ?? 2,
    startretries: s.startRetries ?? 3,
    stopsignal: s.stopSignal ?? "TERM",
    stopwaitsecs: Math.ceil(s.stopTimeout ?? 10),
    stopasgroup: true,
    killasgroup: true,
    redirect_stderr: s.stderr === "merge",
    stdout_logfile: resolve(root, "logs", `${program}.out.log`),
    stderr_logfile: s.stderr === "merge" ? null : resolve(root, "logs", `${program}.err.log`),
  };
}

/** Dense rank of each priority: only the relative start order is compared. */
function ranks(values: number[]): Map<number, number> {
  return new Map([...new Set(values)].sort((a, b) => a - b).map((v, i) => [v, i]));
}

export interface Difference {
  process: string;
  service: string;
  field: ProcessField;
  before: unknown;
  after: unknown;
  reported: boolean;
}

export interface Comparison {
  compared: number;
  equal: number;
  differences: Difference[];
}

/** Compares original processes with the other side, field by field; `after` maps a mapping to a process. */
export function compare(
  original: OracleProcess[],
  mappings: ProcessMapping[],
  after: (m: ProcessMapping) => Partial<OracleProcess> | undefined,
  report: ReportItem[],
  fields: ProcessField[],
): Comparison {
  const covers = (service: string, field: ProcessField) =>
    report.some((i) => i.fields.includes(field) && (i.services.length === 0 || i.services.includes(service)));
  const pairs = original
    .filter((p) => p.kind === "program")
    .map((p) => {
      const m = mappings.find((x) => x.group === p.group && x.process === p.name);
      return { p, m, q: m ? after(m) : undefined };
    });
  const rankBefore = ranks(pairs.map(({ p }) => p.priority));
  const rankAfter = ranks(pairs.flatMap(({ q }) => (q?.priority === undefined ? [] : [q.priority])));
  const out: Comparison = { compared: 0, equal: 0, differences: [] };
  for (const { p, m, q } of pairs) {
    for (const field of fields) {
      out.compared++;
      let before: unknown = p[field as keyof OracleProcess];
      let after: unknown = q?.[field as keyof OracleProcess];
      // "/srv/app/" and "/srv/app" are the same working directory for chdir()
      if (field === "directory" && typeof before === "string") before = resolve(before);
      if (field === "priority") [before, after] = [rankBefore.get(p.priority), rankAfter.get(q?.priority as number)];
      if (field === "environment" && q) {
        const strip = (e: Record<string, string>) =>
          Object.fromEntries(Object.entries(e).filter(([k]) => !PROVIDED.includes(k)));
        const provided = PROVIDED.filter((k) => k in p.environment && p.environment[k] !== (q.environment ?? {})[k]);
        before = { ...strip(p.environment), ...Object.fromEntries(provided.map((k) => [k, p.environment[k]])) };
        after = strip(q.environment ?? {});
      }
      if (JSON.stringify(before) === JSON.stringify(after)) out.equal++;
      else
        out.differences.push({
          process: `${p.group}:${p.name}`,
          service: m?.service ?? "(none)",
          field,
          before,
          after,
          reported: m !== undefined && covers(m.service, field),
        });
    }
  }
  return out;
}

/** The manifest's service for a mapping. */
export const serviceOf = (manifest: Manifest, m: ProcessMapping) => manifest.services[m.service];
