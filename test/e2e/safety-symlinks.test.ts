/**
 * Symlinks planted in the project, against the built CLI: generated files are replaced (rename over the
 * link), never written through nor chmodded; run/ is a real folder of mode 0700 whoever creates it first,
 * and a symlinked run/ is refused; a symlinked logs/ folder is allowed, a symlinked log file is refused.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fixture, makeCliProject, orchestrate, type TestProject } from "../helpers/cli-project";

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(): TestProject {
  const p = makeCliProject("orch-link-", {
    project: "links",
    services: { api: fixture("binds-port.js", 30150), worker: fixture("binds-port.js", undefined) },
  });
  rmSync(p.paths.run, { recursive: true }); // the helper makes run/; these tests decide who creates it
  made.push(p.root);
  return p;
}

/** A 0600 file outside the project, as a secret elsewhere would be. */
function secretFile(): string {
  const dir = mkdtempSync("/tmp/orch-secret-");
  made.push(dir);
  const file = join(dir, "secret");
  writeFileSync(file, "TOKEN=hunter2\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("links planted in units/", () => {
  for (const rel of ["units/ports.env", "units/supervisor/api.conf", "units/port_config.py"]) {
    it(`${rel} → a 0600 file elsewhere: the link is replaced, the file it points to untouched`, async () => {
      const p = project();
      expect((await orchestrate(p, "generate")).exitCode).toBe(0);
      const secret = secretFile();
      rmSync(join(p.root, rel));
      symlinkSync(secret, join(p.root, rel));
      const r = await orchestrate(p, "generate");
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(secret, "utf8")).toBe("TOKEN=hunter2\n");
      expect(mode(secret)).toBe("600");
      expect(lstatSync(join(p.root, rel)).isSymbolicLink()).toBe(false);
      expect(readFileSync(join(p.root, rel), "utf8")).toMatch(/api|API/);
    });
  }

  it("generate --dry-run does not read through a planted link (the secret never lands in the diff)", async () => {
    const p = project();
    expect((await orchestrate(p, "generate")).exitCode).toBe(0);
    const secret = secretFile();
    rmSync(join(p.paths.units, "ports.env"));
    symlinkSync(secret, join(p.paths.units, "ports.env"));
    const r = await orchestrate(p, "generate", "--dry-run");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`a symlink to ${secret}`);
    expect(r.stdout).not.toContain("hunter2");
  });

  for (const folder of ["units", "units/supervisor", "units/bin"]) {
    it(`a symlinked ${folder}/ is refused: nothing is written or removed where it points`, async () => {
      const p = makeCliProject("orch-link-", {
        project: "links",
        services: { api: { ...fixture("binds-port.js", 30150), envFile: "secrets/api.env" } }, // units/bin/envfile-exec
      });
      made.push(p.root);
      const elsewhere = mkdtempSync("/tmp/orch-elsewhere-");
      made.push(elsewhere);
      writeFileSync(join(elsewhere, "keep.conf"), "not ours\n");
      mkdirSync(join(p.root, folder, ".."), { recursive: true });
      symlinkSync(elsewhere, join(p.root, folder));
      const r = await orchestrate(p, "generate");
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(`${join(p.root, folder)} is a symlink to ${elsewhere}`);
      expect(readdirSync(elsewhere)).toEqual(["keep.conf"]);
    });
  }

  it("a link whose target does not exist yet is replaced, nothing is created where it points", async () => {
    const p = project();
    mkdirSync(p.paths.units, { recursive: true });
    const dir = mkdtempSync("/tmp/orch-dangling-");
    made.push(dir);
    symlinkSync(join(dir, "created"), join(p.paths.units, "PORTS.md"));
    expect((await orchestrate(p, "generate")).exitCode).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("run/", () => {
  for (const cmd of [["validate"], ["port", "api"], ["generate"]]) {
    it(`is created with mode 0700 by ${cmd.join(" ")}`, async () => {
      const p = project();
      const r = await orchestrate(p, ...cmd);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(lstatSync(p.paths.run).isDirectory()).toBe(true);
      expect(mode(p.paths.run)).toBe("700");
    });
  }

  it("an existing run/ of mode 0755 is made 0700", async () => {
    const p = project();
    mkdirSync(p.paths.run, { mode: 0o755 });
    chmodSync(p.paths.run, 0o755);
    expect((await orchestrate(p, "validate")).exitCode).toBe(0);
    expect(mode(p.paths.run)).toBe("700");
  });

  it("a symlinked run/ is refused with a clear message; nothing lands where it points", async () => {
    const p = project();
    const outside = mkdtempSync("/tmp/orch-outside-");
    made.push(outside);
    symlinkSync(outside, p.paths.run);
    const g = await orchestrate(p, "generate");
    expect(g.exitCode, g.stderr).toBe(1);
    expect(g.stderr).toContain(`${p.paths.run} is a symlink`);
    expect(g.stderr).toMatch(/remove the link/);
    const v = await orchestrate(p, "validate"); // validation itself needs no run/: it is valid, the stamp is not written
    expect(v.exitCode, v.stderr).toBe(0);
    expect((await orchestrate(p, "port", "api")).stdout).toBe("30150\n");
    expect((await orchestrate(p, "history")).exitCode).not.toBe(70);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe("logs/", () => {
  it("a symlinked logs/ folder is allowed (a deliberate choice, e.g. a bigger disk)", async () => {
    const p = project();
    const elsewhere = mkdtempSync("/tmp/orch-logs-");
    made.push(elsewhere);
    symlinkSync(elsewhere, p.paths.logs);
    const r = await orchestrate(p, "generate");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(lstatSync(p.paths.logs).isSymbolicLink()).toBe(true);
  });

  it("a symlinked log file is refused naming it and where it points", async () => {
    const p = project();
    const secret = secretFile();
    mkdirSync(p.paths.logs, { recursive: true });
    symlinkSync(secret, join(p.paths.logs, "api.out.log"));
    const r = await orchestrate(p, "generate");
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`api.out.log → ${secret}`);
    expect(readFileSync(secret, "utf8")).toBe("TOKEN=hunter2\n");
    expect(existsSync(join(p.paths.units, "supervisord.conf"))).toBe(false);
  });
});
