/**
 * The supervisord renderer checked by supervisord's own parser (test/oracle/supervisor_oracle.py, run with
 * /usr/bin/python3 as docs/facts.md says): what it reads from the rendered files must be exactly the model's
 * launchSpec — argv, environment, directory — and the env-file wrapper must deliver the values supervisord
 * cannot hold. Nothing is started: no supervisord, no port. Fails (never skips) when the supervisor module
 * is missing.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnvironment } from "../../src/model/environment";
import { launchSpec } from "../../src/render/supervisord/launch";
import type { Model, RenderedFile } from "../../src/model/types";
import { envFileAssignment } from "../../src/render/supervisord/envfile-exec";
import { renderSupervisord } from "../../src/render/supervisord/programs";
import { environmentValue, isRepresentableEnvValue } from "../../src/render/supervisord/escape";
import { hostileModel, FILE_ENV } from "../golden/supervisor/model";
import { makeModel, type ServiceInput } from "../helpers/model";
import { v11Model } from "../golden/v11/manifest";

const PYTHON = "/usr/bin/python3";
const ORACLE = join(__dirname, "..", "oracle", "supervisor_oracle.py");

interface OracleProgram {
  name: string;
  argv: string[];
  environment: Record<string, string> | null;
  directory: string | null;
  [key: string]: unknown;
}
interface OracleResult {
  ok: boolean;
  error?: string;
  supervisord?: Record<string, unknown> & { servers: { file: string; chmod: number }[] };
  supervisorctl?: { serverurl: string };
  programs: OracleProgram[];
  warnings: string[];
}

/** One long-lived oracle answering one config path per line, so hundreds of configs cost milliseconds each. */
class Oracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = "";
  private exited: string | undefined;
  constructor() {
    this.child = spawn(PYTHON, [ORACLE, "--serve"], { env: baseEnvironment() });
    this.child.stderr.on("data", (d) => (this.stderr += String(d)));
    createInterface({ input: this.child.stdout }).on("line", (line) => this.waiting.shift()?.(line));
    this.child.on("exit", (code) => {
      this.exited = JSON.stringify({ ok: false, error: `oracle exited ${code}: ${this.stderr}` });
      for (const w of this.waiting.splice(0)) w(this.exited);
    });
  }
  load(conf: string): Promise<OracleResult> {
    if (this.exited) return Promise.resolve(JSON.parse(this.exited) as OracleResult);
    return new Promise((resolve) => {
      this.waiting.push((line) => resolve(JSON.parse(line) as OracleResult));
      this.child.stdin.write(conf + "\n");
    });
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** Writes rendered files under `root` with their modes; creates logs/ and run/ (else the conf is refused). */
function writeAll(root: string, files: RenderedFile[]): void {
  mkdirSync(join(root, "logs"), { recursive: true });
  mkdirSync(join(root, "run"), { recursive: true });
  for (const f of files) {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    chmodSync(path, f.mode);
  }
}

/** Runs argv (no shell) with exactly `env`, returning stdout; throws with stderr on a non-zero exit. */
function runExact(argv: string[], env: Record<string, string>, cwd: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { env, cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Parses `env -0` output. */
function parseEnv0(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of out.split("\0").filter(Boolean)) {
    const eq = entry.indexOf("=");
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

let oracle: Oracle;
let base: string;

beforeAll(() => {
  const probe = spawnSync(PYTHON, [ORACLE, "/nonexistent.conf"], { encoding: "utf8" });
  if (probe.error || probe.status === 4) {
    throw new Error(
      `supervisor's Python module is not importable with ${PYTHON} (${probe.error?.message ?? probe.stderr.trim()}); ` +
        "install it with: apt-get install -y supervisor",
    );
  }
  oracle = new Oracle();
  // A root with a space and a % in it: every path key and the wrapper's path must survive it.
  base = mkdtempSync(join(tmpdir(), "orch %sv "));
});

afterAll(() => {
  oracle?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("the hostile model, as supervisord reads it", () => {
  let root: string;
  let model: Model;
  let result: OracleResult;
  const me = userInfo();

  beforeAll(async () => {
    root = join(base, "hostile");
    const printer = join(root, "bin", "print env.py");
    model = hostileModel(root, printer, me.username);
    writeAll(root, renderSupervisord(model));
    mkdirSync(dirname(printer), { recursive: true });
    writeFileSync(
      printer,
      "#!/usr/bin/python3\nimport json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ), 'cwd': os.getcwd()}))\n",
    );
    chmodSync(printer, 0o755);
    mkdirSync(model.services[1].directory, { recursive: true });
    mkdirSync(join(root, "secrets"), { recursive: true });
    writeFileSync(
      join(root, "secrets", "worker.env"),
      [
        "# secrets, systemd EnvironmentFile= syntax",
        "; another comment",
        "",
        "TOKEN=s3cr3t",
        "export EXPORTED='with export'",
        '  SPACED  =  "  kept inside quotes  "  ',
        "UNQUOTED = trailing space dropped   ",
        'ESCAPES="a\\"b\\\\c\\$d\\`e\\xf"',
        "MULTI='line1",
        "line2'",
        "CONT=one\\",
        "two",
        "HOST=from-envfile",
        "not a variable line",
        "1BAD=skipped",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    result = await oracle.load(model.paths.supervisordConf);
  });

  it("loads without error or warning", () => {
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("runs a private daemon on the project's socket", () => {
    expect(result.supervisord).toMatchObject({
      pidfile: model.paths.pidfile,
      logfile: model.paths.supervisordLog,
      childlogdir: model.paths.logs,
      identifier: "orchestrate-demo",
      nodaemon: false,
    });
    expect(result.supervisord!.servers).toEqual([expect.objectContaining({ file: model.paths.socket, chmod: 0o700 })]);
    expect(result.supervisorctl).toEqual({ serverurl: `unix://${model.paths.socket}` });
  });

  it("has one program per enabled service with exactly the launch spec's argv, environment and directory", () => {
    const enabled = model.services.filter((s) => s.enabled);
    expect(result.programs.map((p) => p.name).sort()).toEqual(enabled.map((s) => s.name).sort());
    for (const s of enabled) {
      const p = result.programs.find((x) => x.name === s.name)!;
      const spec = launchSpec(model, s);
      expect(p.argv, s.name).toEqual(spec.argv);
      expect(p.environment, s.name).toEqual(spec.env);
      expect(p.directory, s.name).toBe(spec.cwd);
      expect(p.group).toBe(s.name);
      expect(p).toMatchObject({
        stdout_logfile: s.stdoutLog,
        stderr_logfile: s.stderrLog,
        stdout_logfile_maxbytes: model.logs.maxBytes,
        stdout_logfile_backups: model.logs.backups,
        priority: s.programPriority,
        startsecs: s.startSecs,
        startretries: s.startRetries,
        stopsignal: s.stopSignal,
        stopwaitsecs: Math.ceil(s.stopTimeout),
        stopasgroup: true,
        killasgroup: true,
        autostart: false, // units/ (the private supervisord): orchestrate starts programs in dependency order
        autorestart: "true",
        redirect_stderr: false,
      });
    }
    expect(result.programs.find((p) => p.name === "api")!.uid).toBe(me.uid);
    expect(result.programs.find((p) => p.name === "api")!.argv.slice(1)).toEqual(model.services[0].argv.slice(1));
  });

  it("delivers every argv word and env value exactly, through the wrapper where needed", () => {
    for (const s of model.services.filter((x) => x.enabled)) {
      const p = result.programs.find((x) => x.name === s.name)!;
      const out = JSON.parse(runExact(p.argv, { ...baseEnvironment(), ...p.environment }, p.directory!));
      expect(out.argv, s.name).toEqual(s.argv.slice(1));
      expect(out.cwd, s.name).toBe(s.directory);
      const expected = { ...s.env };
      if (s.name === "worker") {
        Object.assign(expected, {
          TOKEN: "s3cr3t",
          EXPORTED: "with export",
          SPACED: "  kept inside quotes  ",
          UNQUOTED: "trailing space dropped",
          ESCAPES: 'a"b\\c$d`e\\xf',
          MULTI: "line1\nline2",
          CONT: "onetwo",
          HOST: "from-envfile", // the service's envFile wins, as systemd's EnvironmentFile= does
        });
      }
      expect(out.env, s.name).toMatchObject(expected);
      expect(Object.keys(out.env).filter((k) => /BAD|not a/.test(k))).toEqual([]);
    }
  });

  it("every value it moves to the env file really is lost or refused when written inline", async () => {
    // Write each value the two ways a careful writer could (either quote kind, % doubled) into an otherwise
    // valid config and show that supervisord does not read it back: every refusal in envValueProblem is
    // necessary. The control row proves the harness itself reads a plain value back.
    const dir = mkdtempSync(join(tmpdir(), "orch-naive-"));
    try {
      mkdirSync(join(dir, "logs"));
      const conf = join(dir, "naive.conf");
      const read = async (key: string, value: string, q: string) => {
        const line = `environment=${key}=${q}${value.replace(/%/g, "%%")}${q}`;
        writeFileSync(
          conf,
          `[supervisord]\nlogfile=${dir}/logs/s.log\n[include]\nfiles=none/*.conf\n[program:p]\ncommand=/bin/true\n${line}\n`,
        );
        const r = await oracle.load(conf);
        expect(r.error ?? "", `${key} quoted with ${q}`).not.toMatch(/^oracle|directory named/);
        return r.ok ? r.programs[0].environment?.[key] : undefined;
      };
      expect(await read("CONTROL", "plain, value", '"')).toBe("plain, value");
      for (const [key, value] of Object.entries(FILE_ENV)) {
        for (const q of ['"', "'"]) expect(await read(key, value, q), `${key} quoted with ${q}`).not.toBe(value);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- property: random argv words and env values ----

const CHARS = [
  "a",
  "Z",
  "0",
  " ",
  "\t",
  "%",
  '"',
  "'",
  ";",
  "#",
  ",",
  "=",
  "\\",
  "(",
  ")",
  "$",
  "`",
  "{",
  "}",
  "*",
  "~",
  "/",
  "-",
  ":",
  "é",
  "☃",
  "😀",
  "\u00a0",
  "\u3000",
  "\u2028",
  "\x1c",
  "\x85",
];
const TOKENS = ["%(here)s", "%(ENV_HOME)s", " ;", " #", "%%", "\"'", '\\"'];
const piece = (extra: string[]) => fc.oneof(fc.constantFrom(...CHARS, ...extra), fc.constantFrom(...TOKENS));
const word = fc.array(piece([]), { maxLength: 8 }).map((p) => p.join(""));
const envValue = fc.array(piece(["\n", "\r"]), { maxLength: 8 }).map((p) => p.join(""));
const service = fc.record({ words: fc.array(word, { maxLength: 5 }), env: fc.array(envValue, { maxLength: 4 }) });

describe("manifest v1.1 (test/golden/v11/manifest.ts), as supervisord reads it", () => {
  let model: Model;
  let result: OracleResult;

  beforeAll(async () => {
    const root = join(base, "v11");
    const printer = join(root, "bin", "print.py");
    model = v11Model(root, printer);
    // as install --supervisor-conf-dir writes them: the manifest's autostart (units/ has autostart=false)
    writeAll(root, renderSupervisord(model, "system"));
    mkdirSync(dirname(printer), { recursive: true });
    writeFileSync(
      printer,
      "#!/usr/bin/python3\nimport json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}))\n",
    );
    chmodSync(printer, 0o755);
    result = await oracle.load(model.paths.supervisordConf);
  });

  it("loads without error or warning", () => {
    expect(result.error).toBeUndefined();
    expect(result.warnings).toEqual([]);
  });

  it("has one program per instance, each its own group (no [group:]), with the instance's argv, env and PORT", () => {
    const instances = model.services.flatMap((s) => s.instances.map((i) => ({ s, i })));
    expect(result.programs.map((p) => p.name).sort()).toEqual(instances.map(({ i }) => i.program).sort());
    for (const { s, i } of instances) {
      const p = result.programs.find((x) => x.name === i.program)!;
      const spec = launchSpec(model, s, i);
      expect(p.group, i.program).toBe(i.program);
      expect(p.argv, i.program).toEqual(spec.argv);
      expect(p.environment, i.program).toEqual(spec.env);
      expect(p.environment?.PORT, i.program).toBe(i.port === undefined ? undefined : String(i.port));
      const out = JSON.parse(runExact(p.argv, { ...baseEnvironment(), ...p.environment }, p.directory!));
      expect(out.argv, i.program).toEqual(i.argv.slice(1));
      expect(out.env, i.program).toMatchObject(i.env);
    }
  });

  it("reads every lifecycle key exactly as the model says", () => {
    const autorestart = { always: "true", "on-failure": "unexpected", never: "false" };
    for (const s of model.services) {
      for (const i of s.instances) {
        const p = result.programs.find((x) => x.name === i.program)!;
        expect(p, i.program).toMatchObject({
          autostart: s.autostart,
          autorestart: autorestart[s.restart],
          exitcodes: s.exitCodes,
          startsecs: s.type === "oneshot" ? 0 : s.startSecs,
          redirect_stderr: s.stderr === "merge",
          priority: s.programPriority,
          stdout_logfile: i.stdoutLog,
        });
        if (s.stderr === "separate") expect(p.stderr_logfile, i.program).toBe(i.stderrLog);
      }
    }
    const by = (program: string) => result.programs.find((x) => x.name === program)!;
    // the written keys, spelled out: the table above could not catch a model that is wrong itself
    expect(by("migrate")).toMatchObject({
      autorestart: "false",
      startsecs: 0,
      exitcodes: [0, 2],
      redirect_stderr: true,
    });
    expect(by("pinned@1")).toMatchObject({ autorestart: "unexpected", exitcodes: [0, 3], priority: 5 });
    expect(by("reindex")).toMatchObject({ autostart: false, autorestart: "false" });
    expect(by("users@1").environment).toMatchObject({ PORT: "22102", SHARD: "shard-1", LOG_FMT: "{levelname} 100%" });
    expect(by("gateway").environment).toMatchObject({ USERS_URL: "http://127.0.0.1:22101/v1", USERS_PORT: "22101" });
    // dependency order first, then the manifest's priority
    expect(by("migrate").priority).toBeLessThan(by("users@0").priority as number);
    expect(by("users@0").priority).toBeLessThan(by("gateway").priority as number);
  });
});

describe("property: whatever the words and values, supervisord reads exactly the model", () => {
  it("holds for 200 random batches of programs", async () => {
    let run = 0;
    let wrapped = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(service, { minLength: 1, maxLength: 4 }), async (batch) => {
        const root = join(base, `p${run++}`);
        const inputs: ServiceInput[] = batch.map((b, i) => ({
          name: `s${i}`,
          port: 20000 + i,
          argv: ["/bin/true", ...b.words],
          env: Object.fromEntries(b.env.map((v, j) => [`K${i}_${j}`, v])), // unique across the batch, see below
        }));
        const model = makeModel(root, inputs);
        writeAll(root, renderSupervisord(model));
        const result = await oracle.load(model.paths.supervisordConf);
        expect(result.error).toBeUndefined();
        for (const s of model.services) {
          const p = result.programs.find((x) => x.name === s.name)!;
          const spec = launchSpec(model, s);
          expect(p.argv).toEqual(spec.argv);
          expect(p.argv.slice(p.argv.indexOf("/bin/true"))).toEqual(s.argv);
          expect(p.environment).toEqual(spec.env);
          expect(p.directory).toBe(s.directory);
          for (const [key, value] of Object.entries(s.env)) {
            // refused by the renderer ⇔ isRepresentableEnvValue says no ⇔ carried by the env file
            let refused = false;
            try {
              environmentValue(value);
            } catch {
              refused = true;
            }
            expect(refused).toBe(!isRepresentableEnvValue(value));
            expect(key in spec.env).toBe(!refused);
          }
        }
        // The wrapper for real, once per batch (a Python start costs ~60 ms here): every env file of the
        // batch in one call, then /usr/bin/env -0 prints what the program would receive. Keys are unique
        // across the batch, so the files cannot hide each other's values.
        const wrappedSpecs = model.services.map((s) => launchSpec(model, s)).filter((spec) => spec.envFiles.length > 0);
        if (wrappedSpecs.length > 0) {
          wrapped += wrappedSpecs.length;
          const files = wrappedSpecs.flatMap((spec) => spec.envFiles);
          const inline = Object.assign({}, ...wrappedSpecs.map((spec) => spec.env));
          const env = parseEnv0(
            runExact(
              [wrappedSpecs[0].argv[0], ...files, "--", "/usr/bin/env", "-0"],
              { ...baseEnvironment(), ...inline },
              root,
            ),
          );
          for (const s of model.services) {
            if (launchSpec(model, s).envFiles.length === 0) continue;
            const { PORT: _p, HOST: _h, SERVICE_NAME: _n, ...own } = s.env;
            expect(env).toMatchObject(own);
          }
        }
        // (the batch folders are removed with `base` in afterAll: removing each one here cost more than the oracle)
      }),
      { numRuns: 200 },
    );
    expect(wrapped).toBeGreaterThan(0);
  });
});

describe("envFileAssignment", () => {
  it("is read back exactly by the wrapper for every hostile value", () => {
    const dir = join(base, "assign");
    mkdirSync(dir, { recursive: true });
    const values = { ...FILE_ENV, CR: "a\rb\r\n", EMPTY: "", SPACES: "  both  ", MIXED: "'\"`$\\\n" };
    const file = join(dir, "x.env");
    writeFileSync(
      file,
      Object.entries(values)
        .map(([k, v]) => envFileAssignment(k, v))
        .join("\n") + "\n",
    );
    const wrapper = join(base, "hostile", "units", "bin", "envfile-exec");
    const env = parseEnv0(runExact([wrapper, file, "--", "/usr/bin/env", "-0"], baseEnvironment(), dir));
    expect(env).toMatchObject(values);
  });

  it("fails with exit 127 and a clear message when an env file is missing", () => {
    const wrapper = join(base, "hostile", "units", "bin", "envfile-exec");
    const r = spawnSync(wrapper, [join(base, "missing.env"), "--", "/bin/true"], {
      env: baseEnvironment(),
      encoding: "utf8",
    });
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/env file .*missing\.env does not exist/);
    const bad = spawnSync(wrapper, ["/bin/true"], { env: baseEnvironment(), encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: envfile-exec FILE\.\.\. -- PROGRAM/);
  });

  it("exec's in place: the program keeps the wrapper's PID", () => {
    const wrapper = join(base, "hostile", "units", "bin", "envfile-exec");
    const file = join(base, "pid.env");
    writeFileSync(file, "A=1\n");
    const out = execFileSync(
      PYTHON,
      [
        "-c",
        `import subprocess,sys; p=subprocess.Popen([sys.argv[1], sys.argv[2], "--", "/bin/sh", "-c", "echo $$"], stdout=subprocess.PIPE); print(p.pid, p.communicate()[0].decode().strip())`,
        wrapper,
        file,
      ],
      { env: baseEnvironment(), encoding: "utf8" },
    );
    const [spawned, reported] = out.trim().split(" ");
    expect(reported).toBe(spawned);
  });
});
