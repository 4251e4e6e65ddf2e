/**
 * The program files the machine's supervisord gets (--server-url): units/supervisor/NAME.conf turned into the
 * "system" rendering (autostart from the manifest), and the install record that says where they go. That the
 * machine's supervisord loads them and only this project's programs move: test/e2e/system-supervisord.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  forgetUnloaded,
  installSupervisorPrograms,
  recordedConfDir,
  undoSupervisorInstall,
  unloadedPrograms,
} from "../../src/backend/supervisord/install-conf-dir";
import {
  runningPrograms,
  stopByPriority,
  systemConfDir,
  systemProgramFiles,
  systemPrograms,
} from "../../src/backend/supervisord/system";
import { confsReading, runningSupervisordConfs } from "../../src/backend/supervisord/system-conf";
import { OperationError } from "../../src/errors";
import { renderProgram, renderSupervisord, systemProgramText } from "../../src/render/supervisord/programs";
import { hostileModel } from "../golden/supervisor/model";
import { v11Model } from "../golden/v11/manifest";
import { makeModel } from "../helpers/model";

const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "o-sysprog-"));
  temps.push(d);
  return d;
};
afterEach(() => temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("systemProgramText", () => {
  const models = [hostileModel("/srv/demo"), v11Model()];
  const cases = models.flatMap((m) =>
    m.services.filter((s) => s.enabled).flatMap((s) => s.instances.map((i) => [i.program, m, s, i] as const)),
  );

  it.each(cases)("%s: private text → exactly the system rendering", (_name, m, s, i) => {
    for (const autostart of [true, false]) {
      const service = { ...s, autostart };
      expect(systemProgramText(renderProgram(m, service, i, "private").content)).toBe(
        renderProgram(m, service, i, "system").content,
      );
    }
  });

  it("refuses a file that is not a private program file", () => {
    const system = renderProgram(models[0], models[0].services[0], undefined, "system").content;
    expect(() => systemProgramText(system)).toThrow(/not a generated private program file/);
    // a private file from before the comment carried the manifest's autostart
    const old = renderProgram(models[0], models[0].services[0], undefined, "private").content.replace(
      / \(the manifest's autostart: (true|false)\)/,
      "",
    );
    expect(() => systemProgramText(old)).toThrow(/not a generated private program file/);
  });
});

describe("the files for the machine's supervisord", () => {
  function project() {
    const root = temp();
    const model = makeModel(root, [
      { name: "db", port: 34990, argv: ["/bin/sleep", "1000"] },
      { name: "api", port: 34991, argv: ["/bin/sleep", "1000"], autostart: false },
    ]);
    for (const f of renderSupervisord(model)) {
      mkdirSync(join(root, f.path, ".."), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    mkdirSync(model.paths.run, { recursive: true });
    return model;
  }

  it("takes units/supervisor/ with the autostart each file's comment carries, without reading the manifest", () => {
    const model = project();
    const files = systemProgramFiles(model.paths);
    expect(files.map((f) => f.path)).toEqual(["units/supervisor/api.conf", "units/supervisor/db.conf"]);
    expect(files[0].content).toMatch(/\nautostart=false\n/);
    expect(files[1].content).toMatch(/\nautostart=true\n/);
    expect(files.map((f) => f.content).join("")).not.toContain("started by orchestrate in dependency order");
    writeFileSync(join(model.paths.supervisorDir, "stray.conf"), "[program:stray]\ncommand=/bin/true\n");
    expect(() => systemProgramFiles(model.paths)).toThrow(
      /units\/supervisor\/stray\.conf is not a program file as orchestrate generates it/,
    );
  });

  it("goes to the folder installed last; no record names the install command; undo puts every file back", () => {
    const model = project();
    expect(() => systemConfDir(model.paths, "unix:///x.sock")).toThrow(OperationError);
    expect(() => systemConfDir(model.paths, "unix:///x.sock")).toThrow(/no include folder/);
    try {
      systemConfDir(model.paths, "unix:///x.sock");
    } catch (e) {
      expect((e as OperationError).hint).toContain("orchestrate install --supervisor-conf-dir DIR");
    }
    const a = temp();
    const b = temp();
    writeFileSync(join(b, "other.conf"), "[program:other]\ncommand=/bin/sleep 1\n");
    const files = systemProgramFiles(model.paths);
    installSupervisorPrograms(model, files, a);
    const first = installSupervisorPrograms(model, files.slice(1), b);
    expect(recordedConfDir(model)).toEqual({ dir: b, programs: ["db"] });
    installSupervisorPrograms(model, files, a);
    expect(recordedConfDir(model)).toEqual({ dir: a, programs: ["api", "db"] });
    expect(systemPrograms(model.paths)).toEqual(new Set(["api", "db"]));

    const again = installSupervisorPrograms(model, files, b); // adds api.conf to b
    expect(readFileSync(join(b, "api.conf"), "utf8")).toBe(files[0].content);
    undoSupervisorInstall(model, again);
    expect(() => readFileSync(join(b, "api.conf"))).toThrow(/ENOENT/);
    expect(readFileSync(join(b, "other.conf"), "utf8")).toContain("[program:other]");
    expect(recordedConfDir(model)?.dir).toBe(a);
    expect(first.installed).toEqual([join(b, "db.conf")]);
  });
  it("a program whose file an install removed stays ours until an update removed it there; undo puts that back too", () => {
    const model = project();
    const a = temp();
    const files = systemProgramFiles(model.paths);
    installSupervisorPrograms(model, files, a);
    expect(unloadedPrograms(model)).toEqual([]);
    const dropApi = installSupervisorPrograms(model, files.slice(1), a);
    expect(dropApi.removed).toEqual([join(a, "api.conf")]);
    expect(unloadedPrograms(model)).toEqual(["api"]);
    rmSync(join(model.paths.supervisorDir, "api.conf")); // as generate does for a removed service
    expect(systemPrograms(model.paths)).toEqual(new Set(["api", "db"]));
    undoSupervisorInstall(model, dropApi);
    expect(unloadedPrograms(model)).toEqual([]);
    installSupervisorPrograms(model, files.slice(1), a);
    forgetUnloaded(model);
    expect(systemPrograms(model.paths)).toEqual(new Set(["db"]));
  });
});

describe("stopping this project's programs there", () => {
  it("only ours that run; highest priority first, one priority at a time", async () => {
    const running = runningPrograms(new Set(["db", "api", "web", "gone"]), [
      { name: "other", state: "RUNNING" },
      { name: "web", state: "STOPPED" },
      { name: "api", state: "BACKOFF" },
      { name: "db", state: "RUNNING" },
      { name: "jobs", state: "RUNNING" },
    ]);
    expect(running).toEqual(["api", "db"]);
    const prio: Record<string, number> = { db: 100, api: 200, w1: 200, cache: 50 };
    const events: string[] = [];
    await stopByPriority(
      ["cache", "db", "api", "w1"],
      (n) => prio[n],
      async (n) => {
        events.push(`stop ${n}`);
        await new Promise((r) => setImmediate(r));
        events.push(`stopped ${n}`);
      },
    );
    expect(events).toEqual([
      "stop api",
      "stop w1",
      "stopped api",
      "stopped w1",
      "stop db",
      "stopped db",
      "stop cache",
      "stopped cache",
    ]);
  });
});

describe("which supervisord.conf reads an include folder (install without --server-url)", () => {
  const main = (sock: string, include: string, ctl = "") =>
    `[unix_http_server]\nfile=${sock}\n\n[supervisord]\nlogfile=/dev/null\n${ctl}\n[include]\nfiles = ${include}\n`;

  it("follows [include] files= as supervisord does: relative to the main file, %(here)s, %(ENV_X)s, globs, symlinks", () => {
    const root = temp();
    mkdirSync(join(root, "etc", "conf.d"), { recursive: true });
    writeFileSync(join(root, "etc", "conf.d", "db.conf"), "[program:db]\ncommand=/bin/true\n");
    writeFileSync(join(root, "etc", "relative.conf"), main("%(here)s/a.sock", "conf.d/*.conf"));
    writeFileSync(join(root, "etc", "env.conf"), main("/run/b.sock", "%(ENV_CONFROOT)s/conf.d/d?.conf"));
    writeFileSync(join(root, "etc", "other-dir.conf"), main("/run/c.sock", "%(here)s/elsewhere/*.conf"));
    writeFileSync(join(root, "etc", "ini-only.conf"), main("/run/d.sock", "conf.d/*.ini"));
    const all = ["relative", "env", "other-dir", "ini-only", "missing"].map((n) => join(root, "etc", `${n}.conf`));
    const env = { CONFROOT: join(root, "etc") };
    expect(confsReading(join(root, "etc", "conf.d"), all, env)).toEqual([
      { conf: join(root, "etc", "relative.conf"), serverUrl: `unix://${join(root, "etc", "a.sock")}` },
      { conf: join(root, "etc", "env.conf"), serverUrl: "unix:///run/b.sock" },
    ]);
    // the same folder through a symlink, and the same file named twice: one match each
    symlinkSync(join(root, "etc", "conf.d"), join(root, "link"));
    expect(confsReading(join(root, "link"), [all[0], all[0]], env).map((c) => c.conf)).toEqual([all[0]]);
    // a folder nobody includes
    mkdirSync(join(root, "loose"));
    writeFileSync(join(root, "loose", "db.conf"), "[program:db]\ncommand=/bin/true\n");
    expect(confsReading(join(root, "loose"), all, env)).toEqual([]);
    expect(confsReading(join(root, "gone"), all, env)).toEqual([]);
  });

  it("the socket: [supervisorctl] serverurl= when unix://, else [unix_http_server] file=; none for inet only", () => {
    const root = temp();
    mkdirSync(join(root, "conf.d"));
    writeFileSync(join(root, "conf.d", "x.conf"), "[program:x]\ncommand=/bin/true\n");
    const write = (name: string, text: string) => (writeFileSync(join(root, name), text), join(root, name));
    const ctlUnix = write(
      "a.conf",
      main("/run/file.sock", "conf.d/*.conf", "[supervisorctl]\nserverurl=unix:///run/ctl.sock\n"),
    );
    const ctlHttp = write(
      "b.conf",
      main("/run/file.sock", "conf.d/*.conf", "[supervisorctl]\nserverurl=http://localhost:9001\n"),
    );
    const inet = write("c.conf", "[inet_http_server]\nport=127.0.0.1:9001\n[include]\nfiles=conf.d/*.conf\n");
    expect(confsReading(join(root, "conf.d"), [ctlUnix, ctlHttp, inet], {}).map((c) => c.serverUrl)).toEqual([
      "unix:///run/ctl.sock",
      "unix:///run/file.sock",
      undefined,
    ]);
  });

  it("the -c of each running supervisord, from /proc (relative to its cwd)", () => {
    const proc = temp();
    const add = (pid: string, argv: string[], cwd = "/srv") => {
      mkdirSync(join(proc, pid));
      writeFileSync(join(proc, pid, "cmdline"), argv.join("\0") + "\0");
      symlinkSync(cwd, join(proc, pid, "cwd"));
    };
    add("10", ["/usr/bin/python3", "/usr/bin/supervisord", "-c", "/etc/sv/supervisord.conf"]);
    add("11", ["/usr/bin/supervisord", "--configuration=local.conf"], "/opt/app");
    add("12", ["/usr/bin/python3", "/usr/bin/supervisorctl", "-c", "/etc/x.conf"]);
    add("13", ["/usr/bin/supervisord", "-n"]);
    mkdirSync(join(proc, "self"));
    expect(runningSupervisordConfs(proc).sort()).toEqual(["/etc/sv/supervisord.conf", "/opt/app/local.conf"]);
  });
});
