/**
 * The oracle: supervisor's own parser (test/oracle/ini_oracle.py, Debian's /usr/bin/python3 with the
 * `supervisor` module, docs/facts.md) against readIni / splitCommand / splitEnvironment / expandPercent and
 * against importSupervisordConf, for the REC.IO fixture, a set of hostile configs, and random input
 * (fast-check, hundreds of cases per run, one Python process per batch). A missing Python or
 * supervisor module FAILS these tests: an oracle that silently skips proves nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { importSupervisordConf } from "../../src/manifest/import";
import {
  expandPercent,
  readIni,
  splitCommand,
  splitEnvironment,
  type IniLocation,
} from "../../src/manifest/ini-reader";
import { manifestSchema } from "../../src/manifest/schema";

const PYTHON = "/usr/bin/python3";
const ORACLE = join(__dirname, "..", "oracle", "ini_oracle.py");
const FIXTURES = join(__dirname, "..", "fixtures", "recio");
const ENVIRON = { HOME: "/home/op", PATH: "/usr/bin:/bin", ORCH_SPACE: "a b" };
const at: IniLocation = { file: "case", line: 1, section: "program:x", key: "k" };
const tmp = mkdtempSync(join(tmpdir(), "ini-oracle-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Case =
  | { kind: "ini" | "env" | "cmd"; text: string }
  | { kind: "pct"; text: string; vars: Record<string, string | number> }
  | { kind: "conf"; path: string; environ: Record<string, string> };
type Answer = { ok: true; value: any } | { ok: false; error: string };
interface OracleProgram {
  name: string;
  argv: string[];
  directory: string | null;
  environment: Record<string, string>;
}

/** Runs the oracle on a batch. Throws (never skips) when Python or supervisor is missing. */
function oracle(cases: Case[]): Answer[] {
  const r = spawnSync(PYTHON, [ORACLE], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error)
    throw new Error(
      `cannot run ${PYTHON} (${r.error.message}): the oracle needs Debian's python3 with supervisor (apt-get install -y supervisor)`,
    );
  if (r.status !== 0) throw new Error(`oracle exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer[];
}

/** What our side gives, or the error message; the same shape as an oracle answer. */
function ours(f: () => unknown): Answer {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

function iniAsObject(text: string) {
  return Object.fromEntries(
    readIni(text, "case").map((s) => [s.name, Object.fromEntries([...s.entries].map(([k, e]) => [k, e.value]))]),
  );
}

/** Reads the env files import writes (systemd EnvironmentFile dialect, see src/manifest/secrets.ts). */
function parseEnvFile(content: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of content.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\[\s\S])*)"|(\S*))$/gm)) {
    out[m[1]] = m[2] !== undefined ? m[2].replace(/\\([\\"$`])/g, "$1") : m[3];
  }
  return out;
}

/** Imports `text` (saved as `path`) and checks every program against the oracle's answer for that file. */
function expectImportMatches(path: string, answer: Answer, legacyPorts?: unknown) {
  const text = readFileSync(path, "utf8");
  // %(ENV_X)s frozen: exactly the values the oracle expanded (the start-time form is checked below)
  const result = ours(() =>
    importSupervisordConf(text, { fileName: path, legacyPorts, environ: ENVIRON, freezeEnv: true }),
  );
  const startTime = ours(() => importSupervisordConf(text, { fileName: path, legacyPorts, environ: ENVIRON }));
  expect(startTime.ok).toBe(result.ok);
  expect({ file: path, ok: result.ok, error: result.ok ? undefined : result.error }).toMatchObject({ ok: answer.ok });
  if (!answer.ok || !result.ok) return [];
  const { manifest, files } = result.value as ReturnType<typeof importSupervisordConf>;
  expect(manifestSchema.safeParse(manifest).success).toBe(true);
  const programs = answer.value.programs as OracleProgram[];
  for (const p of programs) {
    const name = p.name.toLowerCase();
    const service = manifest.services[name];
    expect(service, `service for program ${p.name}`).toBeDefined();
    // a port found in the command is written {port}: orchestrate puts the service's port back
    const filled = (argv: string | string[]) => [argv].flat().map((w) => w.replace(/\{port\}/g, String(service.port)));
    expect(filled(service.command), `${p.name} argv`).toEqual(p.argv);
    // without --freeze-env a start-time %(ENV_X)s runs through /bin/sh -c: run what it would exec
    const live = filled(
      ((startTime as { value: unknown }).value as ReturnType<typeof importSupervisordConf>).manifest.services[name]
        .command,
    );
    if (live[0] === "/bin/sh" && live[1] === "-c" && live.length === 3 && service.command[0] !== "/bin/sh") {
      const run = spawnSync("/bin/sh", ["-c", live[2].replace(/^exec /, "printf '%s\\0' ")], {
        env: ENVIRON,
        encoding: "utf8",
      });
      expect(run.stdout.split("\0").slice(0, -1), `${p.name} argv at start time`).toEqual(p.argv);
    } else expect(live, `${p.name} argv`).toEqual(p.argv);
    expect(service.directory ?? null, `${p.name} directory`).toEqual(p.directory);
    const secretFile = files.find((f) => f.path === service.envFile);
    const imported = { ...service.env, ...(secretFile ? parseEnvFile(secretFile.content) : {}) };
    const expected = Object.fromEntries(
      Object.entries(p.environment).filter(([k]) => !["PORT", "HOST", "SERVICE_NAME"].includes(k)),
    );
    expect(imported, `${p.name} environment`).toEqual(expected);
    if (secretFile) expect(secretFile.mode).toBe(0o600);
  }
  return programs;
}

describe("supervisor's own parser as the oracle", () => {
  test("the oracle runs (Debian python3 with the supervisor module)", () => {
    const [answer] = oracle([{ kind: "cmd", text: "a 'b c'" }]);
    expect(answer).toEqual({ ok: true, value: ["a", "b c"] });
  });

  test("REC.IO fixture: 12 programs, argv, directory and environment exactly as supervisord reads them", () => {
    const path = join(FIXTURES, "supervisord.conf");
    const [conf, ini] = oracle([
      { kind: "conf", path, environ: ENVIRON },
      { kind: "ini", text: readFileSync(path, "utf8") },
    ]);
    expect(ini).toEqual({ ok: true, value: iniAsObject(readFileSync(path, "utf8")) });
    const legacy = JSON.parse(readFileSync(join(FIXTURES, "MASTER_PORT_MANIFEST.json"), "utf8"));
    const programs = expectImportMatches(path, conf, legacy);
    expect(programs).toHaveLength(12);
  });

  const hostile: Record<string, string> = {
    "quotes, escapes, %, continuations, comments, [DEFAULT], globals": [
      "[supervisord]",
      'environment=GLOBAL_A="g 1",G_PCT="100%%%%"',
      "logfile=/tmp/x.log",
      "[DEFAULT]",
      "directory=%(here)s/app",
      "[program:Web_App]",
      "command=/bin/first",
      'command = /srv/bin/server --port 18096 "two words" "a "\\;"b" "100%%" x;y z ;gone',
      "\t'single $HOME *' back\\\\slash caf\u00e9 %(program_name)s %(ENV_HOME)s %(ENV_T_DQ)s",
      "  ; a comment line inside the continuation",
      `environment=PORT="18096",T_DQ='say "hi" now',T_URL="http://x:80/p?q=1&r=2",T_PCT="100%%",`,
      '  T_UNQ=http://x/p?q=1, API_TOKEN="tok,en", HOST="0.0.0.0",',
      '  DATABASE_URL="postgres://u:p@h/db",T_SEMI="a;b",T_BS="c:\\\\d\\"',
      "stopsignal=INT",
      "stopwaitsecs: 5",
      "[program:worker]",
      'COMMAND=python3 -c "import time; time.sleep(1)" %(ENV_ORCH_SPACE)s',
      "DIRECTORY=/srv/w",
      "environment=A_KEY='x',KEYBOARD=us,PATH=\"/opt/bin:%(ENV_PATH)s\"",
      "[program: spaced ]",
      "command=/bin/echo %(process_num)02d %(group_name)s %(host_node_name)s",
      "[program:api]",
      "command=node server.js --port=18097 '{literal}'",
      "numprocs=1",
      "[group:both]",
      "programs=api,worker",
      "",
    ].join("\n"),
    "CRLF line ends and key: value":
      '[supervisord]\r\n[program:c]\r\ncommand: /bin/x  "a  b"\r\ndirectory : /tmp\r\nenvironment : X="1",\r\n   Y="2"\r\n',
  };
  const refused: Record<string, string> = {
    "a lone %": "[supervisord]\n[program:a]\ncommand=/bin/x 100%\n",
    "an unknown %(name)s": "[supervisord]\n[program:a]\ncommand=/bin/x %(nope)s\n",
    "an unclosed quote in command": '[supervisord]\n[program:a]\ncommand=/bin/x "a\n',
    "environment that is not KEY=VALUE pairs": "[supervisord]\n[program:a]\ncommand=/bin/x\nenvironment=A=1 B=2\n",
    "a program name with /": "[supervisord]\n[program:a/b]\ncommand=/bin/x\n",
    "a program without command": "[supervisord]\n[program:a]\ndirectory=/tmp\n",
    "a line that is not key=value": "[supervisord]\n[program:a]\ncommand=/bin/x\njunk\n",
  };

  test.each(Object.entries(hostile))("hostile config (%s): readIni and import agree with supervisor", (name, text) => {
    const path = join(tmp, `${name.replace(/\W+/g, "_")}.conf`);
    writeFileSync(path, text);
    const [conf, ini] = oracle([
      { kind: "conf", path, environ: ENVIRON },
      { kind: "ini", text },
    ]);
    expect(conf.ok, JSON.stringify(conf)).toBe(true);
    expect(ours(() => iniAsObject(text))).toEqual(ini);
    expect(expectImportMatches(path, conf).length).toBeGreaterThan(0);
  });

  test.each(Object.entries(refused))("refused by both: %s", (name, text) => {
    const path = join(tmp, `refused_${name.replace(/\W+/g, "_")}.conf`);
    writeFileSync(path, text);
    const [conf] = oracle([{ kind: "conf", path, environ: ENVIRON }]);
    expect(conf.ok).toBe(false);
    expect(() => importSupervisordConf(text, { fileName: path, environ: ENVIRON })).toThrowError(/\S/);
  });
});

describe("random input, against the oracle (fast-check)", () => {
  const chars = (list: string[], max: number) =>
    fc.array(fc.constantFrom(...list), { maxLength: max }).map((a) => a.join(""));
  const valueChars = [
    "a",
    "B",
    "1",
    " ",
    "\t",
    ";",
    "#",
    "=",
    ":",
    '"',
    "'",
    "%",
    "[",
    "]",
    "\\",
    ",",
    "\u00e9",
    "\u00a0",
    "\x1c",
    "\ufeff",
    "\r",
    "\u2028",
    "\x85",
  ];
  const line = fc.oneof(
    fc
      .tuple(
        chars([" ", "\t"], 2),
        chars(["a", "b", ":", " ", "]", "[", ";", "DEFAULT"], 6),
        chars([" ", ";x", "]", "z"], 2),
      )
      .map(([i, n, t]) => `${i}[${n}]${t}`),
    fc
      .tuple(
        chars([" ", "\t"], 3),
        chars(["k", "K", "_", " ", "\u00a0", ";", "#"], 4),
        fc.constantFrom("=", ":", " = ", "\t:"),
        chars(valueChars, 12),
      )
      .map(([i, k, d, v]) => `${i}${k}${d}${v}`),
    fc.tuple(chars([" ", "\t"], 4), chars(valueChars, 10)).map(([i, v]) => `${i}${v}`),
    fc.tuple(chars([" "], 2), fc.constantFrom(";", "#"), chars(valueChars, 6)).map(([i, c, v]) => `${i}${c}${v}`),
  );
  const iniText = fc.array(line, { minLength: 1, maxLength: 12 }).map((lines) => `[s]\n${lines.join("\n")}\n`);
  const envText = chars(
    [
      "A",
      "b",
      "_",
      "=",
      "=",
      ",",
      '"',
      "'",
      " ",
      "#",
      "\n",
      "\\",
      "/",
      "?",
      "\u00e9",
      ":",
      "(",
      "-",
      "1",
      "\t",
      "\u{1F600}",
    ],
    24,
  );
  const cmdText = chars(["a", "b", " ", "\t", "\n", '"', "'", "\\", "$", "#", "\u00e9", "\u{1F600}", ";", "*"], 24);
  const pctText = chars(
    ["%", "%", "(here)", "(num)", "(zz)", "s", "d", "i", "u", "0", "2", "-", ".", " ", "+", "q", "h", "l", "x("],
    10,
  );
  const vars = { here: "/h", num: 5 };

  test.each<[string, fc.Arbitrary<string>, (t: string) => Case, (t: string) => unknown]>([
    ["readIni", iniText, (text) => ({ kind: "ini", text }), iniAsObject],
    ["splitEnvironment", envText, (text) => ({ kind: "env", text }), (t) => [...splitEnvironment(t, at)]],
    ["splitCommand", cmdText, (text) => ({ kind: "cmd", text }), (t) => splitCommand(t, at)],
    ["expandPercent", pctText, (text) => ({ kind: "pct", text, vars }), (t) => expandPercent(t, vars, at)],
  ])("%s equals supervisor's result on 400 random inputs", (_name, arbitrary, toCase, mine) => {
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    const inputs = fc.sample(arbitrary, { numRuns: 400, seed });
    const answers = oracle(inputs.map(toCase));
    inputs.forEach((input, i) => {
      const answer = answers[i];
      const got = ours(() => mine(input));
      const context = `seed ${seed}, input ${JSON.stringify(input)}, oracle ${JSON.stringify(answer)}`;
      // Documented refusals (src/manifest/ini-reader.ts expandPercent): an unnamed conversion, which
      // Python fills with the whole expansion table, and conversions other than s/d/i/u.
      if (!got.ok && answer.ok && /is not followed by|is not supported here/.test(got.error)) return;
      expect(got.ok, context).toBe(answer.ok);
      if (answer.ok && got.ok) expect(got.value, context).toEqual(answer.value);
    });
  });

  test("importSupervisordConf keeps argv and environment for 150 random programs", () => {
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    const programs = fc.sample(
      fc.tuple(
        cmdText.filter((t) => /\S/.test(t)),
        envText,
      ),
      { numRuns: 150, seed },
    );
    const paths = programs.map(([command, env], i) => {
      const path = join(tmp, `random_${i}.conf`);
      const continued = (v: string) => v.replace(/\n/g, "\n  ").replace(/%/g, "%%");
      writeFileSync(
        path,
        `[supervisord]\n[program:p${i}]\ncommand=${continued(command)}\nenvironment=${continued(env)}\n`,
      );
      return path;
    });
    const answers = oracle(paths.map((path) => ({ kind: "conf" as const, path, environ: ENVIRON })));
    paths.forEach((path, i) => {
      const context = `seed ${seed}, program ${JSON.stringify(programs[i])}, oracle ${JSON.stringify(answers[i])}`;
      const text = readFileSync(path, "utf8");
      const result = ours(() => importSupervisordConf(text, { fileName: path, environ: ENVIRON }));
      // Refused on purpose: a variable name the manifest cannot hold, and an empty command (supervisord
      // accepts it when reading and fails only at start).
      if (
        !result.ok &&
        answers[i].ok &&
        /not a valid environment variable name|command= has no words/.test(result.error)
      )
        return;
      expect(result.ok, context).toBe(answers[i].ok);
      if (answers[i].ok) expectImportMatches(path, answers[i]);
    });
  });
});
