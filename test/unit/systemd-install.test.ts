/**
 * Installing rendered units into a unit folder: plan (added/changed/unchanged/removed), the state
 * record, removal only of what was recorded, refusal of other applications' units, and the offline
 * `systemctl --root=DIR enable` path (docs/facts.md: works without a booted systemd).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  defaultEnableMode,
  defaultUnitDir,
  installUnits,
  normalizeUnit,
  planInstall,
  writeInstall,
  type InstallOptions,
} from "../../src/backend/systemd/install";
import { SystemdBackend } from "../../src/backend/systemd/backend";
import { Systemctl } from "../../src/backend/systemd/systemctl";
import { unitFileError } from "../../src/backend/systemd/errors";

const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(): InstallOptions & { root: string } {
  const root = mkdtempSync(join(tmpdir(), "orchestrate-install-"));
  scratch.push(root);
  mkdirSync(join(root, "units/systemd"), { recursive: true });
  return {
    root,
    project: "demo",
    unitsDir: join(root, "units/systemd"),
    unitDir: join(root, "unit-dir"),
    stateFile: join(root, "run/systemd-installed.json"),
  };
}
const service = (n: string, extra = "") => `[Unit]\nPartOf=demo.target\n[Service]\nExecStart=/bin/sleep ${n}${extra}\n`;
const target = "[Unit]\nDescription=demo\nWants=demo-a.service\n\n[Install]\nWantedBy=multi-user.target\n";
const write = (o: InstallOptions, files: Record<string, string>) => {
  rmSync(o.unitsDir, { recursive: true, force: true });
  mkdirSync(o.unitsDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(o.unitsDir, name), content);
};

describe("defaults", () => {
  it("unit folders per scope (systemd.unit(5))", () => {
    expect(defaultUnitDir({ scope: "system" })).toBe("/etc/systemd/system");
    expect(defaultUnitDir({ scope: "user", env: { XDG_CONFIG_HOME: "/home/u/.cfg" } })).toBe(
      "/home/u/.cfg/systemd/user",
    );
    expect(defaultUnitDir({ scope: "system", root: "/srv/img" })).toBe("/srv/img/etc/systemd/system");
  });
  it("runtime enable under /run, also through /proc/PID/root", () => {
    expect(defaultEnableMode("/run/systemd/system")).toBe("runtime");
    expect(defaultEnableMode("/proc/42/root/run/systemd/system")).toBe("runtime");
    expect(defaultEnableMode("/etc/systemd/system")).toBe("persistent");
  });
  it("normalizeUnit ignores comments, blank lines and trailing spaces", () => {
    expect(normalizeUnit("# generated\n[Unit]  \n\n; note\nA=1\n")).toBe(normalizeUnit("[Unit]\nA=1"));
  });
});

describe("plan and write", () => {
  it("adds, then reports unchanged / changed / removed and records what it installed", async () => {
    const o = project();
    write(o, { "demo-a.service": service("1"), "demo-b.service": service("2"), "demo.target": target });
    let plan = await planInstall(o);
    expect(plan.added.map((u) => u.name)).toEqual(["demo-a.service", "demo-b.service", "demo.target"]);
    await writeInstall(plan, o);
    expect(readFileSync(join(o.unitDir, "demo-a.service"), "utf8")).toBe(service("1"));
    expect(JSON.parse(readFileSync(o.stateFile, "utf8")).installs[o.unitDir]).toEqual([
      "demo-a.service",
      "demo-b.service",
      "demo.target",
    ]);

    write(o, {
      "demo-a.service": "# comment only\n" + service("1"),
      "demo.target": target.replace("Wants=demo-a.service", "Wants=demo-a.service demo-c.service"),
    });
    writeFileSync(join(o.unitDir, "other-app.service"), "[Service]\nExecStart=/bin/true\n"); // never recorded: never removed
    plan = await planInstall(o);
    expect(plan).toMatchObject({ added: [], unchanged: ["demo-a.service"], removed: ["demo-b.service"] });
    expect(plan.changed.map((u) => u.name)).toEqual(["demo.target"]);
    expect(plan.rewrite.map((u) => u.name)).toEqual(["demo-a.service"]);
    const result = await writeInstall(plan, o);
    expect(result).toEqual({
      installed: ["demo.target"],
      added: [],
      changed: ["demo.target"],
      removed: ["demo-b.service"],
      unchanged: ["demo-a.service"],
    });
    expect(existsSync(join(o.unitDir, "demo-b.service"))).toBe(false);
    expect(existsSync(join(o.unitDir, "other-app.service"))).toBe(true);
    expect(readFileSync(join(o.unitDir, "demo-a.service"), "utf8")).toMatch(/^# comment only/);
  });

  it("a template unit and its drop-in folders: installed, a removed instance's drop-in and its folder removed", async () => {
    const o = project();
    const dropIn = (i: number) => `[Service]\nExecStart=/bin/sleep ${i}\nEnvironment="PORT=${9000 + i}"\n`;
    const files = (n: number) => {
      write(o, { "demo-api@.service": "[Unit]\nPartOf=demo.target\n[Service]\nType=exec\n", "demo.target": target });
      for (let i = 0; i < n; i++) {
        mkdirSync(join(o.unitsDir, `demo-api@${i}.service.d`), { recursive: true });
        writeFileSync(join(o.unitsDir, `demo-api@${i}.service.d`, "instance.conf"), dropIn(i));
      }
    };
    files(3);
    const plan = await planInstall(o);
    expect(plan.added.map((u) => u.name)).toEqual([
      "demo-api@.service",
      "demo-api@0.service.d/instance.conf",
      "demo-api@1.service.d/instance.conf",
      "demo-api@2.service.d/instance.conf",
      "demo.target",
    ]);
    await writeInstall(plan, o);
    expect(readFileSync(join(o.unitDir, "demo-api@2.service.d/instance.conf"), "utf8")).toBe(dropIn(2));
    writeFileSync(join(o.unitDir, "demo-api@1.service.d", "local.conf"), "[Service]\nNice=5\n"); // not ours
    files(1);
    const down = await planInstall(o);
    expect(down.removed).toEqual(["demo-api@1.service.d/instance.conf", "demo-api@2.service.d/instance.conf"]);
    await writeInstall(down, o);
    expect(existsSync(join(o.unitDir, "demo-api@2.service.d"))).toBe(false); // emptied: removed
    expect(readFileSync(join(o.unitDir, "demo-api@1.service.d", "local.conf"), "utf8")).toContain("Nice=5"); // kept
    expect(existsSync(join(o.unitDir, "demo-api@1.service.d", "instance.conf"))).toBe(false);
    expect(existsSync(join(o.unitDir, "demo-api@0.service.d", "instance.conf"))).toBe(true);
  });

  it("refuses a rendered unit of another project", async () => {
    const o = project();
    write(o, { "nginx.service": service("1") });
    await expect(planInstall(o)).rejects.toThrow(
      /expected units named demo.target or demo-NAME.service, found nginx.service/,
    );
  });

  it("says to run generate when units/systemd is missing", async () => {
    const o = project();
    rmSync(o.unitsDir, { recursive: true });
    await expect(planInstall(o)).rejects.toMatchObject({ hint: "run `orchestrate generate` first" });
  });

  it("a unit folder that cannot be created fails with where and why", async () => {
    const o = project();
    writeFileSync(join(o.root, "a-file"), "");
    const blocked = { ...o, unitDir: join(o.root, "a-file/systemd") };
    write(blocked, { "demo-a.service": service("1") });
    await expect(writeInstall(await planInstall(blocked), blocked)).rejects.toThrow(
      /create the unit folder: could not write .*a-file\/systemd/,
    );
  });

  it("permission errors name sudo and --user (root cannot provoke EACCES, so the mapping is checked directly)", () => {
    const error = unitFileError(
      Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }),
      "/etc/systemd/system/demo-a.service",
      "install demo-a.service",
    );
    expect(error.message).toBe(
      "install demo-a.service: expected to write /etc/systemd/system/demo-a.service, found: EACCES: permission denied",
    );
    expect(error.hint).toMatch(/--user \(~\/.config\/systemd\/user\)/);
    expect(error.exitCode).toBe(1);
  });
});

describe("offline --root tree (real systemctl, no systemd needed)", () => {
  it("installs into <root>/etc/systemd/system and enables the target there", async () => {
    const o = project();
    const tree = join(o.root, "image");
    write(o, { "demo-a.service": service("1"), "demo.target": target });
    const backend = new SystemdBackend({
      project: "demo",
      unitsDir: o.unitsDir,
      runDir: join(o.root, "run"),
      root: tree,
    });
    expect(backend.install.unitDir).toBe(join(tree, "etc/systemd/system"));
    expect(await backend.apply()).toEqual({ added: ["a"], changed: [], removed: [] });
    expect(lstatSync(join(tree, "etc/systemd/system/multi-user.target.wants/demo.target")).isSymbolicLink()).toBe(true);
    expect(await backend.isRunning()).toBe(false);
    await expect(backend.ensureRunning()).rejects.toThrow(/offline unit tree/);
    // installUnits composes the same steps; a second run changes nothing.
    const again = await installUnits(new Systemctl({ root: tree }), backend.install);
    expect(again).toMatchObject({ installed: [], removed: [], unchanged: ["demo-a.service", "demo.target"] });
  });
});
