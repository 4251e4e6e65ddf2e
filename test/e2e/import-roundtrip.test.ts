/**
 * Issue 3's migration promise, end to end: the REC.IO supervisord.conf (with its legacy port manifest)
 * imports into a valid manifest, and the supervisord config orchestrate GENERATES from it gives supervisord
 * the same argv and directory for every one of its 12 programs as the original — both read by supervisor's
 * own parser (test/oracle/supervisor_oracle.py).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { importSupervisordConf } from "../../src/manifest/import";
import { validateManifest } from "../../src/manifest/validate";
import { resolveModel } from "../../src/manifest/resolve";
import { renderAll } from "../../src/render";
import { applyPlan } from "../../src/write/apply";
import { planFiles } from "../../src/write/plan";

const FIXTURES = join(__dirname, "..", "fixtures", "recio");
const ORACLE = join(__dirname, "..", "oracle", "supervisor_oracle.py");
/** Parse-only oracle: the original names /opt/rec_io_server/logs, which does not exist on this machine. */
const PARSE_ONLY = join(__dirname, "..", "oracle", "ini_oracle.py");
const root = mkdtempSync(join(tmpdir(), "orch-imp-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Program {
  name: string;
  argv: string[];
  directory: string;
}

async function parseOnly(conf: string): Promise<Program[]> {
  const r = await run("/usr/bin/python3", [PARSE_ONLY], {
    input: JSON.stringify([{ kind: "conf", path: conf, environ: {} }]),
  });
  expect(r.exitCode, r.stderr).toBe(0);
  const [result] = JSON.parse(r.stdout) as [{ ok: boolean; value: { programs: Program[] }; error?: string }];
  expect(result.ok, result.error).toBe(true);
  return result.value.programs;
}

/** The strict oracle: supervisord must accept the generated config exactly as written. */
async function oracle(conf: string): Promise<Program[]> {
  const r = await run("/usr/bin/python3", [ORACLE, conf]);
  expect(r.exitCode, `oracle on ${conf}: ${r.stdout}${r.stderr}`).toBe(0);
  return (JSON.parse(r.stdout) as { programs: Program[] }).programs;
}

it("the generated supervisord config runs every imported program with the original argv and directory", async () => {
  const text = readFileSync(join(FIXTURES, "supervisord.conf"), "utf8");
  const legacyPorts = JSON.parse(readFileSync(join(FIXTURES, "MASTER_PORT_MANIFEST.json"), "utf8"));
  const imported = importSupervisordConf(text, { fileName: "supervisord.conf", legacyPorts });
  const validation = validateManifest(imported.manifest);
  expect(validation.errors, JSON.stringify(validation.errors, null, 2)).toEqual([]);

  const model = resolveModel(validation.manifest!, join(root, "manifest.json"));
  mkdirSync(model.paths.logs, { recursive: true });
  applyPlan(planFiles(root, renderAll(model)), model.paths);

  const original = await parseOnly(join(FIXTURES, "supervisord.conf"));
  const generated = await oracle(model.paths.supervisordConf);
  expect(original).toHaveLength(12);
  expect(generated.map((p) => p.name).sort()).toEqual(original.map((p) => p.name).sort());
  for (const before of original) {
    const after = generated.find((p) => p.name === before.name)!;
    // a program that needed its secrets moved out runs through the env-file wrapper: its own argv follows "--"
    const argv = after.argv[0].endsWith("/units/bin/envfile-exec")
      ? after.argv.slice(after.argv.indexOf("--") + 1)
      : after.argv;
    expect(argv, before.name).toEqual(before.argv);
    expect(after.directory, before.name).toBe(before.directory);
  }
});
