/**
 * The systemd renderer against systemd 252 itself, offline (no systemd is booted, systemctl is never
 * called against the host):
 * - `systemd-analyze verify FILE` for every generated file: exit 0 and NOTHING on stderr (docs/facts.md:
 *   unknown keys and bad values only warn, so any stderr line is a failure).
 * - THE ORACLE: `systemd --test --system --unit=PROJECT.target` with `SYSTEMD_UNIT_PATH=DIR:` dumps every
 *   unit as systemd parsed it. We read ExecStart's argv and Environment= from the dump and require them
 *   to equal the model exactly, hostile values included. systemd refuses `--test` as root, so it runs as
 *   `nobody` through setpriv (the temp project is 755/644 so nobody can read it).
 * - `systemd-analyze security --offline=yes`: strict units score ≤ 2.5; default units stay ordinary.
 *
 * A missing tool fails the test with a message saying what to install; nothing is skipped silently.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import type { Model, RenderedFile } from "../../src/model/types";
import {
  instanceUnitName,
  instanceUnits,
  renderSystemd,
  targetName,
  templateName,
  unitName,
} from "../../src/render/systemd/units";
import { v11Model } from "../golden/v11/manifest";
import { hostileModel } from "../golden/systemd/hostile-model";
import { makeModel, type ServiceInput } from "../helpers/model";

const SYSTEMD = "/lib/systemd/systemd";
const ANALYZE = "/usr/bin/systemd-analyze";
const SETPRIV = "/usr/bin/setpriv";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function requireTools(): void {
  const missing = [SYSTEMD, ANALYZE, ...(process.getuid?.() === 0 ? [SETPRIV] : [])].filter((t) => !existsSync(t));
  if (missing.length) {
    throw new Error(
      `systemd oracle: expected ${missing.join(", ")} to exist, found none; fix: apt-get install -y systemd util-linux`,
    );
  }
}

// ---------------------------------------------------------------------------------------------- files

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder readable by nobody; `name` (may be hostile) is the project root inside it. */
function tempRoot(name = "project"): string {
  const tmp = mkdtempSync("/tmp/orchestrate-systemd-");
  scratch.push(tmp);
  chmodSync(tmp, 0o755);
  return join(tmp, name);
}

/** Writes the rendered files plus every folder the units name (directory, logs, envFile) as 755/644. */
function writeProject(model: Model, files: RenderedFile[]): string {
  const dirs = new Set<string>([model.paths.logs, model.paths.systemdDir]);
  for (const s of model.services) {
    dirs.add(s.directory);
    dirs.add(dirname(s.stdoutLog));
    dirs.add(dirname(s.stderrLog));
    for (const i of s.instances) dirs.add(dirname(i.stdoutLog));
    if (s.envFile) dirs.add(dirname(s.envFile));
  }
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
  for (const s of model.services) if (s.envFile) writeFileSync(s.envFile, "SECRET=never-in-units\n", { mode: 0o644 });
  for (const f of files) {
    mkdirSync(dirname(join(model.paths.root, f.path)), { recursive: true }); // drop-in folders
    writeFileSync(join(model.paths.root, f.path), f.content, { mode: f.mode });
  }
  makeReadable(dirname(model.paths.root));
  return model.paths.systemdDir;
}

function makeReadable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const entry of readdirSync(path)) makeReadable(join(path, entry));
}

// ---------------------------------------------------------------------------------------------- oracle

/** What systemd parsed for one unit, from the `systemd --test` dump. */
interface ParsedUnit {
  /** Each ExecStart command as parsed (before the exec-time `$` step: see {@link expandLikeExec}). */
  execStart: string[][];
  env: [string, string][];
  settings: Map<string, string[]>;
}

/** Runs the parse oracle over every unit the target wants; returns parsed units and stderr. */
async function systemdTest(unitDir: string, unit: string): Promise<{ units: Map<string, ParsedUnit>; stderr: string }> {
  const args = ["--test", "--system", `--unit=${unit}`];
  const env = { PATH, SYSTEMD_UNIT_PATH: `${unitDir}:` };
  const result =
    process.getuid?.() === 0
      ? await run(SETPRIV, ["--reuid=nobody", "--regid=nogroup", "--clear-groups", SYSTEMD, ...args], {
          env,
          timeoutMs: 30_000,
        })
      : await run(SYSTEMD, args, { env, timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new Error(`systemd --test: expected exit 0, found ${result.exitCode ?? result.signal}\n${result.stderr}`);
  }
  return { units: parseDump(result.stdout), stderr: result.stderr };
}

/** Splits the `systemd --test` dump into units: `\t-> Unit NAME:` then `\t\tKey: value` lines. */
function parseDump(dump: string): Map<string, ParsedUnit> {
  const units = new Map<string, ParsedUnit>();
  let current: ParsedUnit | undefined;
  let lastKey = "";
  for (const line of dump.split("\n")) {
    const unit = /^\t-> Unit (.+):$/.exec(line);
    if (unit) {
      current = { execStart: [], env: [], settings: new Map() };
      units.set(unit[1], current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith("\t\t-> ")) lastKey = line.slice(5, -1);
    else if (line.startsWith("\t\t\tCommand Line: ") && lastKey === "ExecStart") {
      current.execStart.push(unquoteCommandLine(line.slice("\t\t\tCommand Line: ".length)));
    } else if (/^\t\t[^\t]/.test(line)) {
      const colon = line.indexOf(": ");
      if (colon < 0) continue;
      const key = line.slice(2, colon);
      const value = line.slice(colon + 2);
      if (key === "Environment") {
        const eq = value.indexOf("=");
        current.env.push([value.slice(0, eq), value.slice(eq + 1)]);
      } else current.settings.set(key, [...(current.settings.get(key) ?? []), value]);
    }
  }
  return units;
}

const C_ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/**
 * Reads systemd's printed command line (quote_command_line: bare words, or `"…"` with `\\`, `\"`,
 * `\$`, `` \` `` and C escapes) back into words. Throws on anything it does not know, so a format change
 * fails loudly instead of comparing garbage.
 */
function unquoteCommandLine(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] !== '"') {
      const end = line.indexOf(" ", i);
      words.push(line.slice(i, end < 0 ? line.length : end));
      i = end < 0 ? line.length : end + 1;
      continue;
    }
    let word = "";
    i++;
    for (;;) {
      if (i >= line.length) throw new Error(`unterminated quote in dumped command line: ${line}`);
      const ch = line[i++];
      if (ch === '"') break;
      if (ch !== "\\") {
        word += ch;
        continue;
      }
      const next = line[i++];
      if ('\\"$`'.includes(next)) word += next;
      else if (next in C_ESCAPES) word += C_ESCAPES[next];
      else if (next === "x") {
        word += String.fromCharCode(parseInt(line.slice(i, i + 2), 16));
        i += 2;
      } else throw new Error(`unknown escape \\${next} in dumped command line: ${line}`);
    }
    words.push(word);
    if (i < line.length) {
      if (line[i] !== " ") throw new Error(`expected a space after a quoted word at ${i}: ${line}`);
      i++;
    }
  }
  return words;
}

/**
 * The exec-time step the dump does not show: systemd turns `$$` into `$` and substitutes `$X`/`${X}`
 * (systemd.service(5) "Command lines"). Our escaping must leave no substitution, so any lone `$` fails.
 */
function expandLikeExec(word: string): string {
  return word.replace(/\$(\$?)/g, (match, second: string) => {
    if (!second) throw new Error(`ExecStart word ${JSON.stringify(word)} would be substituted by systemd at exec time`);
    return "$";
  });
}

/** Asserts that systemd parsed each enabled service's argv and env exactly as the model holds them. */
function expectParsedAsModel(model: Model, units: Map<string, ParsedUnit>): void {
  for (const service of model.services) {
    const parsed = units.get(unitName(model, service));
    if (!service.enabled) {
      expect(parsed, `disabled ${service.name} must have no unit`).toBeUndefined();
      continue;
    }
    expect(parsed, `systemd did not load ${unitName(model, service)}`).toBeDefined();
    expect(parsed!.settings.get("Unit Load State"), unitName(model, service)).toEqual(["loaded"]);
    const received = parsed!.execStart.map((argv) => argv.map(expandLikeExec));
    expect(received, `${service.name} argv`).toEqual([service.argv]);
    expect(parsed!.env, `${service.name} env`).toEqual(Object.entries(service.env));
  }
}

/**
 * stderr lines of `systemd --test` about our units (parse warnings name the file and line, load errors
 * the unit). Other lines are about the host's own units and the unprivileged run, and are ignored.
 */
function warningsAbout(stderr: string, model: Model): string[] {
  const ours = [model.paths.systemdDir, targetName(model), ...model.services.map((s) => unitName(model, s))];
  return stderr.split("\n").filter((line) => ours.some((name) => line.includes(name)));
}

async function verify(file: string): Promise<{ exitCode: number | undefined; stderr: string }> {
  const result = await run(ANALYZE, ["verify", file], { env: { PATH }, timeoutMs: 30_000 });
  return { exitCode: result.exitCode, stderr: result.stderr };
}

async function securityScore(file: string): Promise<number> {
  const result = await run(ANALYZE, ["security", "--offline=yes", file], { env: { PATH }, timeoutMs: 30_000 });
  const score = /Overall exposure level for .*: (\d+(?:\.\d+)?) /.exec(result.stdout);
  if (!score)
    throw new Error(
      `systemd-analyze security: expected an overall exposure level, found:\n${result.stdout}${result.stderr}`,
    );
  return Number(score[1]);
}

// ---------------------------------------------------------------------------------------------- tests

describe("systemd 252 reads the generated units exactly as the model", () => {
  let model: Model;
  let files: RenderedFile[];
  let unitDir: string;

  beforeAll(() => {
    requireTools();
    // argv[0] must exist for verify: the running node binary. The root itself is hostile too.
    model = hostileModel(tempRoot('pro ject #1 %x $y "q"'), process.execPath);
    files = renderSystemd(model);
    unitDir = writeProject(model, files);
  });

  it("systemd-analyze verify: every file exits 0 with nothing on stderr", async () => {
    for (const f of files) {
      const result = await verify(join(model.paths.root, f.path));
      expect({ file: basename(f.path), ...result }).toEqual({ file: basename(f.path), exitCode: 0, stderr: "" });
    }
  });

  it("systemd --test: ExecStart argv and Environment equal the model's, byte for byte", async () => {
    const { units, stderr } = await systemdTest(unitDir, targetName(model));
    expect(warningsAbout(stderr, model)).toEqual([]);
    expectParsedAsModel(model, units);
  });

  it("systemd --test: paths, signals and target wiring are read as written", async () => {
    const { units } = await systemdTest(unitDir, targetName(model));
    for (const s of model.services.filter((x) => x.enabled)) {
      const settings = units.get(unitName(model, s))!.settings;
      expect(settings.get("WorkingDirectory")).toEqual([s.directory]);
      expect(settings.get("StandardOutputFileToAppend")).toEqual([s.stdoutLog]);
      expect(settings.get("StandardErrorFileToAppend")).toEqual([s.stderrLog]);
      expect(settings.get("EnvironmentFile") ?? []).toEqual(s.envFile ? [s.envFile] : []);
      expect(settings.get("KillSignal")).toEqual([`SIG${s.stopSignal}`]);
      expect(settings.get("Type")).toEqual(["exec"]);
      expect(settings.get("PartOf")).toEqual([`${targetName(model)} (origin-file)`]);
    }
    const target = units.get(targetName(model))!.settings;
    const wanted = (target.get("Wants") ?? []).map((w) => w.split(" ")[0]);
    expect(wanted.sort()).toEqual(
      model.services
        .filter((s) => s.enabled)
        .map((s) => unitName(model, s))
        .sort(),
    );
  });

  it("systemd-analyze security: strict units score ≤ 2.5, default units stay ordinary", async () => {
    const scores: Record<string, number> = {};
    for (const s of model.services.filter((x) => x.enabled)) {
      scores[s.name] = await securityScore(join(model.paths.systemdDir, unitName(model, s)));
      if (s.hardening === "strict") expect(scores[s.name], s.name).toBeLessThanOrEqual(2.5);
      else expect(scores[s.name], s.name).toBeGreaterThan(9);
    }
    console.info(`systemd-analyze security scores: ${JSON.stringify(scores)}`);
  });
});

describe("manifest v1.1 (test/golden/v11/manifest.ts): systemd 252 reads each instance and key as the model", () => {
  let model: Model;
  let unitDir: string;
  let units: Map<string, ParsedUnit>;

  beforeAll(async () => {
    requireTools();
    model = v11Model(tempRoot("v11 %i"), process.execPath);
    unitDir = writeProject(model, renderSystemd(model));
    const fromTarget = await systemdTest(unitDir, targetName(model));
    expect(warningsAbout(fromTarget.stderr, model)).toEqual([]);
    units = fromTarget.units;
    // autostart false: not wanted by the target, so loaded on its own
    const manual = model.services.filter((s) => !s.autostart);
    for (const s of manual) {
      const alone = await systemdTest(unitDir, unitName(model, s));
      units.set(unitName(model, s), alone.units.get(unitName(model, s))!);
    }
  });

  it("systemd-analyze verify: every instance unit exits 0 with nothing on stderr", async () => {
    for (const s of model.services) {
      for (const unit of instanceUnits(model, s)) {
        const result = await run(ANALYZE, ["verify", unit], {
          env: { PATH, SYSTEMD_UNIT_PATH: `${unitDir}:` },
          timeoutMs: 30_000,
        });
        expect({ unit, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ unit, exitCode: 0, stderr: "" });
      }
    }
  });

  it("each instance unit gets its own argv, environment (its PORT) and log files from its drop-in", () => {
    for (const s of model.services) {
      for (const i of s.instances) {
        const unit = instanceUnitName(model, s, i);
        const parsed = units.get(unit);
        expect(parsed, `systemd did not load ${unit}`).toBeDefined();
        expect(parsed!.settings.get("Unit Load State"), unit).toEqual(["loaded"]);
        expect(
          parsed!.execStart.map((argv) => argv.map(expandLikeExec)),
          unit,
        ).toEqual([i.argv]);
        expect(parsed!.env, unit).toEqual(Object.entries(i.env));
        expect(Object.fromEntries(parsed!.env).PORT, unit).toBe(i.port === undefined ? undefined : String(i.port));
        expect(parsed!.settings.get("StandardOutputFileToAppend"), unit).toEqual([i.stdoutLog]);
        expect(parsed!.settings.get("StandardErrorFileToAppend"), unit).toEqual([i.stderrLog]);
        if (s.multi) {
          expect(parsed!.settings.get("Fragment Path"), unit).toEqual([join(unitDir, templateName(model, s))]);
          expect(parsed!.settings.get("DropIn Path"), unit).toEqual([join(unitDir, `${unit}.d`, "instance.conf")]);
        }
      }
    }
    expect(Object.fromEntries(units.get("demo-users@1.service")!.env)).toMatchObject({
      PORT: "22102",
      SHARD: "shard-1",
    });
    expect(Object.fromEntries(units.get("demo-pinned@1.service")!.env).PORT).toBe("22120");
  });

  it("reads Type, RemainAfterExit, Restart and StandardError as the model says", () => {
    for (const s of model.services) {
      for (const unit of instanceUnits(model, s)) {
        const settings = units.get(unit)!.settings;
        expect(settings.get("Type"), unit).toEqual([s.type === "oneshot" ? "oneshot" : "exec"]);
        expect(settings.get("RemainAfterExit"), unit).toEqual([s.type === "oneshot" ? "yes" : "no"]);
        expect(settings.get("Restart"), unit).toEqual([
          { always: "always", "on-failure": "on-failure", never: "no" }[s.restart],
        ]);
        expect(settings.get("StandardError"), unit).toEqual(["append"]);
        expect(settings.get("PartOf"), unit).toEqual([`${targetName(model)} (origin-file)`]);
      }
    }
    const migrate = units.get("demo-migrate.service")!.settings;
    expect(migrate.get("StandardErrorFileToAppend")).toEqual(migrate.get("StandardOutputFileToAppend"));
  });

  it("the target wants every instance of every autostart service, and not the manual one", () => {
    const wanted = (units.get(targetName(model))!.settings.get("Wants") ?? []).map((w) => w.split(" ")[0]);
    expect(wanted.sort()).toEqual(
      model.services
        .filter((s) => s.autostart)
        .flatMap((s) => instanceUnits(model, s))
        .sort(),
    );
    expect(wanted).not.toContain("demo-reindex.service");
    // a dependent is ordered after every instance of its dependency
    const after = (units.get("demo-gateway.service")!.settings.get("After") ?? []).map((w) => w.split(" ")[0]);
    expect(after).toEqual(
      expect.arrayContaining(["demo-users@0.service", "demo-users@1.service", "demo-pooled@1.service"]),
    );
  });
});

describe("strict sandboxing of a service under /home still verifies and scores ≤ 2.5", () => {
  it("ProtectHome=read-only with the logs writable", async () => {
    requireTools();
    const root = tempRoot("project");
    const model = makeModel(root, [
      { name: "api", port: 18080, argv: [process.execPath, "api.js"], hardening: "strict" },
    ]);
    // Pretend the project lives in a home: same files, directory under /home (not created, not needed offline).
    const home = { ...model.services[0], directory: "/home/ops/demo", stdoutLog: join(root, "logs/api.out.log") };
    const files = renderSystemd({ ...model, services: [home] });
    writeProject(model, files);
    const file = join(root, files[1].path);
    expect(files[1].content).toContain("ProtectHome=read-only\n");
    expect(await verify(file)).toEqual({ exitCode: 0, stderr: "" });
    const score = await securityScore(file);
    console.info(`systemd-analyze security score, strict under /home: ${score}`);
    expect(score).toBeLessThanOrEqual(2.5);
  });
});

// ---------------------------------------------------------------------------------------------- property

/** Characters that have a meaning somewhere in a unit file, plus unicode and C1 controls. */
const HOSTILE_CHAR = fc.constantFrom(
  ..." \"'\\%${}();#,=`*?[]!&|<>~:/-_aZ09".split(""),
  "\t",
  "\n",
  "ü",
  "✓",
  "🚀",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\ufffd",
);
const NO_CONTROL = (allowed: string) => (s: string) =>
  ![...s].some((ch) => {
    const c = ch.codePointAt(0)!;
    return (
      ((c < 0x20 || c === 0x7f) && !allowed.includes(ch)) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe
    );
  });
const word = (allowed: string) =>
  fc
    .oneof(
      fc.string({ unit: HOSTILE_CHAR, maxLength: 12 }),
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.constantFrom(";", "$", "$$", "%", "%%", "${A}", "$A", "", " ", "\\", '"'),
    )
    .filter(NO_CONTROL(allowed));
const serviceArb = fc.record({
  args: fc.array(word("\t\n"), { maxLength: 6 }),
  env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), word(""), { maxKeys: 5 }),
});

describe("property: random argv and env survive systemd's parser", () => {
  it("100 runs of 1–4 services, one systemd --test call per run", async () => {
    requireTools();
    const started = performance.now();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(serviceArb, { minLength: 1, maxLength: 4 }), async (services) => {
        runs++;
        const root = tempRoot();
        const inputs: ServiceInput[] = services.map((s, i) => ({
          name: `svc${i}`,
          port: 18100 + i,
          argv: [process.execPath, ...s.args],
          env: s.env,
        }));
        const model = makeModel(root, inputs);
        const unitDir = writeProject(model, renderSystemd(model));
        const { units, stderr } = await systemdTest(unitDir, targetName(model));
        expect(warningsAbout(stderr, model)).toEqual([]);
        expectParsedAsModel(model, units);
        rmSync(dirname(root), { recursive: true, force: true });
      }),
      { numRuns: 100 },
    );
    console.info(`systemd oracle property: ${runs} runs in ${Math.round(performance.now() - started)} ms`);
  }, 180_000);
});
