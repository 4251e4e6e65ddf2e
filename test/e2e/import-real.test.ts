/**
 * Issue 13's test set: real supervisord configurations of public projects (test/fixtures/supervisord-real,
 * each file's source in its header). supervisor's own parser reads each original; a file supervisord
 * accepts must import (exit 0) with the same processes, a file it refuses must be refused (exit 2,
 * file:line). Every field of every process is compared with what the imported manifest means (manifest
 * v1.1 contract) and with what orchestrate's renderer generates, read back by the same parser; every
 * difference must be named by the import's report. The figures are printed and asserted.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OrchestrateError } from "../../src/errors";
import { importSupervisordConf } from "../../src/manifest/import";
import { toServiceName, type ImportResult } from "../../src/manifest/import-legacy";
import { resolveModel } from "../../src/manifest/resolve";
import { validateManifest } from "../../src/manifest/validate";
import { selectTargets } from "../../src/model/lookup";
import { renderAll } from "../../src/render";
import { renderSupervisord } from "../../src/render/supervisord/programs";
import {
  compare,
  contractProcess,
  FIELDS,
  oracle,
  POLICY_FIELDS,
  type Comparison,
  type OracleProcess,
} from "../harness/import-compare";

const SET = join(__dirname, "..", "fixtures", "supervisord-real");
const root = mkdtempSync(join(tmpdir(), "orch-import-real-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cases = readdirSync(SET)
  .sort()
  .map((dir) => {
    const envFile = join(SET, dir, "environ.json");
    const environ = existsSync(envFile) ? (JSON.parse(readFileSync(envFile, "utf8")) as Record<string, string>) : {};
    return { dir, path: join(SET, dir, "supervisord.conf"), environ };
  });
const originals = oracle(cases.map(({ path, environ }) => ({ path, environ })));

interface Outcome {
  dir: string;
  supervisord: boolean;
  exitCode: number;
  message?: string;
  result?: ImportResult;
  processes: OracleProcess[];
  environ: Record<string, string>;
}
const outcomes: Outcome[] = cases.map((c, i) => {
  const o = originals[i];
  const base = { dir: c.dir, supervisord: o.ok, processes: o.ok ? o.processes : [], environ: c.environ };
  try {
    const result = importSupervisordConf(undefined, {
      fileName: c.path,
      environ: c.environ,
      hostNodeName: "host.example",
    });
    return { ...base, exitCode: 0, result };
  } catch (e) {
    if (!(e instanceof OrchestrateError)) throw e;
    return { ...base, exitCode: e.exitCode, message: e.message };
  }
});

const manifestRoot = (dir: string) => join(root, dir);
const sum = (cs: Comparison[]) => ({
  compared: cs.reduce((a, c) => a + c.compared, 0),
  equal: cs.reduce((a, c) => a + c.equal, 0),
  differences: cs.flatMap((c) => c.differences),
});

describe("the real supervisord set", () => {
  it("has at least 15 files, each naming its source", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    for (const c of cases)
      expect(readFileSync(c.path, "utf8"), c.dir).toMatch(
        /^; source: https:\/\/github\.com\/[\w.-]+\/[\w.-]+ \S+ \(commit [0-9a-f]{12}\)/,
      );
  });

  it.each(outcomes.map((o) => [o.dir, o] as const))(
    "%s: import agrees with supervisord (accepted → exit 0, refused → exit 2 with file:line)",
    (_d, o) => {
      if (o.supervisord) {
        expect(o.exitCode, o.message).toBe(0);
        const programs = o.processes.filter((p) => p.kind === "program");
        const mapped = o.result!.processes!;
        // same processes: every process supervisord runs is exactly one instance of one service
        expect(mapped.length).toBe(programs.length);
        for (const p of programs)
          expect(
            mapped.filter((m) => m.group === p.group && m.process === p.name),
            `${p.group}:${p.name}`,
          ).toHaveLength(1);
        const v = validateManifest(o.result!.manifest);
        expect(v.errors, JSON.stringify(v.errors)).toEqual([]);
        // eventlisteners and fcgi-programs are named with a warning, never dropped silently
        for (const kind of ["eventlistener", "fcgi-program"])
          for (const g of new Set(o.processes.filter((p) => p.kind === kind).map((p) => p.group)))
            expect(
              o.result!.report!.some((r) => r.kind === "warning" && r.what.startsWith(`[${kind}:${g}]`)),
              g,
            ).toBe(true);
      } else {
        expect(o.exitCode).toBe(2);
        expect(o.message).toMatch(/\.conf:\d+: /);
      }
    },
  );

  it("every field of every process: the manifest means what supervisord ran, or the report says why not", () => {
    const results = outcomes
      .filter((o) => o.exitCode === 0)
      .map((o) => {
        const r = o.result!;
        const after = (m: NonNullable<ImportResult["processes"]>[number]) =>
          contractProcess(m, r.manifest.services[m.service], manifestRoot(o.dir), o.environ);
        return {
          dir: o.dir,
          all: compare(o.processes, r.processes!, after, r.report!, [...FIELDS, "stdout_logfile", "stderr_logfile"]),
          kept: compare(
            o.processes,
            r.processes!,
            after,
            r.report!,
            FIELDS.filter((f) => !POLICY_FIELDS.includes(f)),
          ),
        };
      });
    const all = sum(results.map((x) => x.all));
    const kept = sum(results.map((x) => x.kept));
    const accepted = outcomes.filter((o) => o.supervisord).length;
    const figures = {
      files: cases.length,
      acceptedBySupervisord: accepted,
      refusedBySupervisord: cases.length - accepted,
      importedExit0: outcomes.filter((o) => o.exitCode === 0).length,
      refusedExit2: outcomes.filter((o) => o.exitCode === 2).length,
      processes: outcomes.reduce((a, o) => a + o.processes.filter((p) => p.kind === "program").length, 0),
      allFields: { compared: all.compared, equal: all.equal, pct: +((100 * all.equal) / all.compared).toFixed(2) },
      withoutPolicyFields: {
        compared: kept.compared,
        equal: kept.equal,
        pct: +((100 * kept.equal) / kept.compared).toFixed(2),
      },
      differences: all.differences.length,
      unreported: all.differences.filter((d) => !d.reported).length,
      byField: Object.fromEntries(
        [...new Set(all.differences.map((d) => d.field))].map((f) => [
          f,
          all.differences.filter((d) => d.field === f).length,
        ]),
      ),
    };
    writeFileSync(join(root, "figures.json"), JSON.stringify(figures, null, 2));
    console.log(`import-real figures (contract): ${JSON.stringify(figures)}`);
    expect(
      all.differences.filter((d) => !d.reported),
      JSON.stringify(
        all.differences.filter((d) => !d.reported),
        null,
        1,
      ),
    ).toEqual([]);
    expect(figures.withoutPolicyFields.pct).toBeGreaterThanOrEqual(97);
  });

  it("every group supervisord runs is one name after import: start/stop/restart GROUP selects exactly its processes", () => {
    let fromGroupSections = 0;
    for (const o of outcomes.filter((x) => x.exitCode === 0)) {
      const r = o.result!;
      const model = resolveModel(validateManifest(r.manifest).manifest!, join(manifestRoot(o.dir), "manifest.json"));
      const programs = o.processes.filter((p) => p.kind === "program");
      for (const group of new Set(programs.map((p) => p.group))) {
        const expected = programs
          .filter((p) => p.group === group)
          .map((p) => r.processes!.find((m) => m.group === group && m.process === p.name)!)
          .map((m) => `${m.service}:${m.instance ?? 0}`)
          .sort();
        // [group:x] → processGroups (renamed with _group when x is also a service); else the program's service
        const n = toServiceName(group, group);
        const name = [`${n}_group`, n].find((x) => model.processGroups.some((g) => g.name === x)) ?? n;
        if (model.processGroups.some((g) => g.name === name)) fromGroupSections++;
        const selected = selectTargets(model, [name]).map((t) => `${t.service.name}:${t.instance.index}`);
        expect(selected.sort(), `${o.dir} [group:${group}] as ${name}`).toEqual(expected);
      }
    }
    expect(fromGroupSections).toBeGreaterThanOrEqual(4); // countly, task_center, ds, misp-workers
  });

  it("what orchestrate generates gives supervisord the same processes (v1.1 renderer: every field)", () => {
    const cs: Comparison[] = [];
    let v11 = false;
    for (const o of outcomes.filter((x) => x.exitCode === 0)) {
      const r = o.result!;
      const dir = manifestRoot(o.dir);
      const model = resolveModel(validateManifest(r.manifest).manifest!, join(dir, "manifest.json"));
      v11 ||= model.services.some((s) => "instances" in s);
      // the private supervisord's programs are autostart=false (orchestrate starts them in dependency order);
      // what supervisord itself would run is the system rendering (`install --supervisor-conf-dir`)
      const system = new Map(renderSupervisord(model, "system").map((f) => [f.path, f]));
      for (const f of renderAll(model).map((x) => system.get(x.path) ?? x)) {
        const path = join(dir, f.path);
        require("node:fs").mkdirSync(require("node:path").dirname(path), { recursive: true });
        writeFileSync(path, f.content, { mode: f.mode });
      }
      const [gen] = oracle([{ path: model.paths.supervisordConf, environ: o.environ }]);
      expect(gen.ok, gen.ok ? "" : gen.error).toBe(true);
      if (!gen.ok) continue;
      const byProgram = new Map(gen.processes.map((p) => [p.name, p]));
      const after = (m: NonNullable<ImportResult["processes"]>[number]) => {
        const p = byProgram.get(m.instance === undefined || !v11 ? m.service : `${m.service}@${m.instance}`);
        if (!p) return undefined;
        // a program whose secrets moved runs through the env-file wrapper: its own argv follows "--"
        const argv = p.argv[0].endsWith("/units/bin/envfile-exec") ? p.argv.slice(p.argv.indexOf("--") + 1) : p.argv;
        const script = argv[0] === "/bin/sh" && argv[1] === "-c" && argv.length === 3 ? argv : undefined;
        return { ...p, argv: script ? contractProcess(m, r.manifest.services[m.service], dir, o.environ).argv : argv };
      };
      cs.push(
        compare(
          o.processes,
          r.processes!,
          after,
          r.report!,
          FIELDS.filter((f) => !POLICY_FIELDS.includes(f)),
        ),
      );
    }
    const s = sum(cs);
    const pct = +((100 * s.equal) / s.compared).toFixed(2);
    const unreported = s.differences.filter((d) => !d.reported);
    console.log(
      `import-real figures (generated, ${v11 ? "v1.1" : "v1"} renderer): ${JSON.stringify({ compared: s.compared, equal: s.equal, pct, unreported: unreported.length, byField: Object.fromEntries([...new Set(unreported.map((d) => d.field))].map((f) => [f, unreported.filter((d) => d.field === f).length])) })}`,
    );
    // the import's services are manifest v1.1 (instances): the generated configuration keeps the contract
    expect(v11).toBe(true);
    expect(unreported).toEqual([]);
    expect(pct).toBeGreaterThanOrEqual(97);
  });
});

describe("orchestrate import on the set (the built CLI)", () => {
  const cli = async (args: string[], env: Record<string, string>, cwd: string) => {
    const { cliPath } = await import("../helpers/cli-project");
    const { run } = await import("../../src/exec/run");
    return run(process.execPath, [await cliPath(), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...env },
      timeoutMs: 60_000,
    });
  };

  it("accepted: exit 0, the manifest written, --json gives the same report and the process → service mapping", async () => {
    const c = cases.find((x) => x.dir === "13-misp-workers")!;
    const cwd = mkdtempSync(join(root, "cli-"));
    const r = await cli(["import", c.path, "--project", "misp", "--json"], c.environ, cwd);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as NonNullable<ImportResult["report"]> extends infer _
      ? {
          report: NonNullable<ImportResult["report"]>;
          processes: NonNullable<ImportResult["processes"]>;
          sources: string[];
        }
      : never;
    const direct = outcomes.find((o) => o.dir === c.dir)!.result!;
    expect(out.report).toEqual(direct.report);
    expect(out.processes).toEqual(direct.processes);
    expect(out.sources).toHaveLength(3);
    const manifest = JSON.parse(readFileSync(join(cwd, "manifest.json"), "utf8"));
    expect(manifest.services.default).toMatchObject({ instances: 5, autostart: false });
  });

  it("the text report: one summary of what changes, with the services it affects", async () => {
    const c = cases.find((x) => x.dir === "04-docker-mailserver")!;
    const r = await cli(["import", c.path, "--stdout"], c.environ, mkdtempSync(join(root, "cli-")));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^changed on import:\n  - /m);
    expect(r.stderr).toMatch(
      /stopasgroup and killasgroup become true, so that no child outlives its program \(all 17 services\)/,
    );
    expect(r.stderr).toMatch(
      /the command runs through \/bin\/sh -c so that %\(ENV_FETCHMAIL_POLL\)s is read when the program starts.*\(fetchmail\)/,
    );
    expect(r.stderr).toMatch(
      /WARNING \[program:mailserver\] stdout_logfile=\/dev\/stdout: supervisord wrote it to its own output/,
    );
  });

  it("refused: exit 2, file:line of every problem, nothing written", async () => {
    const c = cases.find((x) => x.dir === "06-onlyoffice-ds-partial-REFUSED")!;
    const cwd = mkdtempSync(join(root, "cli-"));
    const r = await cli(["import", c.path], c.environ, cwd);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/conf\.d\/ds\.conf:\d+: \[group:ds\] programs="metrics"/);
    expect(r.stderr).toMatch(/programs="example"[\s\S]*programs="adminpanel"/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("an unset %(ENV_X)s: exit 2 naming the variable to set", async () => {
    const c = cases.find((x) => x.dir === "19-cvat-utils-unset-env-REFUSED")!;
    const r = await cli(["import", c.path, "--stdout"], c.environ, mkdtempSync(join(root, "cli-")));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/environment variable CVAT_REDIS_INMEM_HOST is not set .*export CVAT_REDIS_INMEM_HOST=/);
  });

  it("no program: exit 1", async () => {
    const c = cases.find((x) => x.dir === "14-pretix")!;
    const r = await cli(
      ["import", join(SET, c.dir, "supervisord", "base.conf"), "--stdout"],
      {},
      mkdtempSync(join(root, "cli-")),
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no program found: .*base\.conf defines no \[program:x\] section/);
  });
});
