/**
 * Golden files of manifest v1.1 (test/golden/v11/manifest.ts): every file `generate` writes for a manifest using
 * instances, a oneshot, autostart false, restart policies, exitCodes, stderr merge, priority and references.
 * `UPDATE_GOLDEN=1 npx vitest run test/golden/v11.test.ts` rewrites them (review the diff before committing).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { validateManifest } from "../../src/manifest/validate";
import { renderAll } from "../../src/render";
import { renderSupervisord } from "../../src/render/supervisord/programs";
import { renderSystemd } from "../../src/render/systemd/units";
import { v11Manifest, v11Model } from "./v11/manifest";

const GOLDEN_DIR = join(__dirname, "v11");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("manifest v1.1 golden files", () => {
  const files = renderAll(v11Model());

  if (UPDATE) {
    it("rewrites the golden files (UPDATE_GOLDEN=1)", () => {
      rmSync(join(GOLDEN_DIR, "units"), { recursive: true, force: true });
      for (const f of files) {
        mkdirSync(dirname(join(GOLDEN_DIR, f.path)), { recursive: true });
        writeFileSync(join(GOLDEN_DIR, f.path), f.content);
      }
    });
    return;
  }

  it("validates with one warning: the chosen ports of pooled", () => {
    const v = validateManifest(v11Manifest());
    expect(v.errors).toEqual([]);
    expect(v.warnings.map((w) => [w.service, w.field, w.fix])).toEqual([
      ["pooled", "instances", 'write "ports": [22200, 22202]'],
    ]);
  });

  it("renders exactly the golden set of files", () => {
    const golden = filesUnder(join(GOLDEN_DIR, "units")).map((p) => relative(GOLDEN_DIR, p));
    expect(files.map((f) => f.path).sort()).toEqual(golden.sort());
  });

  it.each(files.map((f) => [f.path, f.content]))("%s matches its golden file", (path, content) => {
    expect(content).toBe(readFileSync(join(GOLDEN_DIR, path), "utf8"));
  });

  it("gives one program per instance and no [group:]", () => {
    const programs = renderSupervisord(v11Model())
      .filter((f) => f.path.startsWith("units/supervisor/"))
      .map((f) => f.path.slice(17));
    expect(programs).toEqual([
      "migrate.conf",
      "users@0.conf",
      "users@1.conf",
      "pinned@0.conf",
      "pinned@1.conf",
      "pooled@0.conf",
      "pooled@1.conf",
      "gateway.conf",
      "reindex.conf",
      "janitor@0.conf",
      "janitor@1.conf",
    ]);
    expect(files.some((f) => f.content.includes("[group:"))).toBe(false);
  });

  it("gives a service with instances a template unit and one drop-in per instance", () => {
    const systemd = renderSystemd(v11Model()).map((f) => f.path.slice(14));
    expect(systemd).toEqual([
      "demo.target",
      "demo-migrate.service",
      "demo-users@.service",
      "demo-users@0.service.d/instance.conf",
      "demo-users@1.service.d/instance.conf",
      "demo-pinned@.service",
      "demo-pinned@0.service.d/instance.conf",
      "demo-pinned@1.service.d/instance.conf",
      "demo-pooled@.service",
      "demo-pooled@0.service.d/instance.conf",
      "demo-pooled@1.service.d/instance.conf",
      "demo-gateway.service",
      "demo-reindex.service",
      "demo-janitor@.service",
      "demo-janitor@0.service.d/instance.conf",
      "demo-janitor@1.service.d/instance.conf",
    ]);
  });
});
