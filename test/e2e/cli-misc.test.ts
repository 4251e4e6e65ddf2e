/**
 * The smaller commands and the library, end to end: validate --live, lint, docs, install into a system
 * supervisord's conf.d, shutdown when nothing runs, and the library's getPort/getServiceUrl/listPorts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnknownServiceError } from "../../src/errors";
import { getPort, getServiceUrl, listPorts, loadManifest } from "../../src";
import { createProject, fixture, show, type TestProject } from "../helpers/project";
import { portsOf } from "../helpers/ports";

let project: TestProject;
let ports: number[];

beforeAll(async () => {
  ports = await portsOf("cli-misc").takeMany(3);
  project = createProject("misc", {
    project: "misc",
    host: "127.0.0.1",
    groups: { core: { range: `${ports[0]}-${ports[0] + 50}` } },
    services: {
      api: { group: "core", port: ports[0], command: `node ${fixture("binds-port.js")}`, description: "API" },
      web: { group: "core", port: ports[1], command: `node ${fixture("binds-port.js")}`, dependsOn: ["api"] },
      worker: { command: `node ${fixture("binds-port.js")}`, enabled: false },
    },
  });
});
afterAll(() => project.cleanup());

describe("library", () => {
  it("getPort, getServiceUrl and listPorts read the manifest; an unknown name throws with the known ones", () => {
    const model = loadManifest(project.manifestPath);
    expect(getPort("api", model)).toBe(ports[0]);
    expect(getPort("web", project.manifestPath)).toBe(ports[1]);
    expect(getServiceUrl("api", "/health", model)).toBe(`http://127.0.0.1:${ports[0]}/health`);
    expect(listPorts(model)).toEqual({ api: ports[0], web: ports[1] });
    let error: unknown;
    try {
      getPort("apii", model);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownServiceError);
    expect((error as UnknownServiceError).suggestions).toEqual(["api"]);
    expect((error as UnknownServiceError).known).toEqual(["api", "web", "worker"]);
  });
});

describe("validate --live", () => {
  it("exits 0 while the ports are free, 1 naming the PID when a foreign process holds a service's port", async () => {
    const clean = await project.cli(["validate", "--live"]);
    expect(clean.exitCode, show(clean)).toBe(0);
    const foreign = await project.startListener(ports[0]);
    try {
      const r = await project.cli(["validate", "--live"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.stderr + r.stdout).toContain(String(foreign.pid));
      expect(r.stderr + r.stdout).toMatch(/services\.api\.port/);
    } finally {
      await project.stopListener(foreign);
    }
  });
});

describe("lint", () => {
  it("reports a hardcoded managed port with file:line and the fix (exit 1), and a clean folder exits 0", async () => {
    const dir = join(project.root, "src");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "clean.py"), 'import os\nPORT = int(os.environ["PORT"])\n');
    expect((await project.cli(["lint", dir])).exitCode).toBe(0);
    writeFileSync(join(dir, "bad.py"), `import uvicorn\nuvicorn.run(app, host="0.0.0.0", port=${ports[1]})\n`);
    const r = await project.cli(["lint", dir]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`bad\\.py:2:\\d+`));
    expect(r.stdout).toContain("fix:");
    const json = JSON.parse((await project.cli(["lint", dir, "--json"])).stdout);
    expect(json).toEqual([expect.objectContaining({ line: 2, port: ports[1], service: "web" })]);
  });
});

describe("docs, install, shutdown", () => {
  it("docs prints PORTS.md with the services, the disabled worker and the group budget", async () => {
    const r = await project.cli(["docs"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain(`| api | ${ports[0]} |`);
    expect(r.stdout).toMatch(/worker/);
    expect(r.stdout).toMatch(/used 2 \/ free \d+ \/ total 51/);
  });

  it("install --supervisor-conf-dir copies the programs and later removes only the ones it installed", async () => {
    const confd = join(project.root, "conf.d");
    mkdirSync(confd);
    writeFileSync(join(confd, "someone-else.conf"), "[program:other]\ncommand=/bin/true\n");
    const r = await project.cli(["install", "--supervisor-conf-dir", confd]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(readdirSync(confd).sort()).toEqual(["api.conf", "someone-else.conf", "web.conf"]);
    // the installed copy is the private program except that the system supervisord starts it itself
    const installed = readFileSync(join(confd, "api.conf"), "utf8");
    const privateCopy = readFileSync(join(project.root, "units", "supervisor", "api.conf"), "utf8");
    const comment =
      "\n; started by orchestrate in dependency order (the manifest's autostart: true)\nautostart=false\n";
    expect(privateCopy).toContain(comment);
    expect(installed).toBe(privateCopy.replace(comment, "\nautostart=true\n"));

    const m = project.readManifest();
    delete m.services.web;
    project.writeManifest(m);
    const again = await project.cli(["install", "--supervisor-conf-dir", confd]);
    expect(again.exitCode, show(again)).toBe(0);
    expect(readdirSync(confd).sort()).toEqual(["api.conf", "someone-else.conf"]);
    expect(again.stdout).toMatch(/1 removed/);
  });

  it("install refuses to overwrite another application's NAME.conf in a shared conf.d (exit 2, nothing written)", async () => {
    const confd = join(project.root, "shared.d");
    mkdirSync(confd);
    writeFileSync(join(confd, "api.conf"), "[program:api]\ncommand=/opt/other-app/api\n");
    const r = await project.cli(["install", "--supervisor-conf-dir", confd]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toMatch(/api\.conf exists and was not written by orchestrate/);
    expect(readFileSync(join(confd, "api.conf"), "utf8")).toBe("[program:api]\ncommand=/opt/other-app/api\n");
    expect(readdirSync(confd)).toEqual(["api.conf"]);
  });

  it("install without a conf dir is bad input; shutdown with nothing running says so", async () => {
    const bad = await project.cli(["install"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--supervisor-conf-dir/);
    const down = await project.cli(["shutdown"]);
    expect(down.exitCode, show(down)).toBe(0);
    expect(down.stdout).toMatch(/not running/);
    expect(existsSync(project.paths.socket)).toBe(false);
  });
});

describe("recover with nothing to recover to", () => {
  it("refuses before stopping anything when the manifest is invalid and no last good state exists (exit 2)", async () => {
    const broken = createProject(
      "rcv",
      '{ "project": "x", "services": { "a": { "command": "x", "port": 1, "port": 2 } } }\n',
    );
    try {
      const r = await broken.cli(["recover", "--yes"]);
      expect(r.exitCode, show(r)).toBe(2);
      expect(r.stderr).toMatch(/nothing was stopped/);
      expect(r.stdout).not.toMatch(/\[1\/\d\]/);
    } finally {
      await broken.cleanup();
    }
  });
});

describe("test-start as the service's user", () => {
  it.skipIf(process.getuid?.() !== 0)(
    "runs it as `user` like supervisord/systemd would (root only), and refuses an unknown user",
    async () => {
      const port = ports[2];
      const p = createProject("usr", {
        project: "usr",
        host: "127.0.0.1",
        services: {
          nob: { port, command: `node ${fixture("binds-port.js")}`, directory: "/", user: "nobody", stopTimeout: 3 },
          ghost: { command: `node ${fixture("binds-port.js")}`, directory: "/", user: "no-such-user-here" },
        },
      });
      try {
        const r = await p.cli(["test-start", "nob"]);
        expect(r.exitCode, show(r)).toBe(0);
        expect(r.stdout).toMatch(/start nob alone as nobody/);
        const g = await p.cli(["test-start", "ghost"]);
        expect(g.exitCode, show(g)).toBe(1);
        expect(g.stderr).toMatch(/user "no-such-user-here" \(services\.ghost\.user\) does not exist/);
      } finally {
        await p.cleanup();
      }
    },
  );
});

describe("validate reports what generate would refuse", () => {
  it("a user name with trailing whitespace: exit 2 naming the field (validate and generate agree)", async () => {
    const p = createProject("vr", { project: "vr", services: { a: { command: "/bin/true", user: "bob " } } });
    try {
      const v = await p.cli(["validate"]);
      expect(v.exitCode, show(v)).toBe(2);
      expect(v.stderr).toMatch(/services\.a\.user/);
      const g = await p.cli(["generate"]);
      expect(g.exitCode, show(g)).toBe(2);
      expect(existsSync(join(p.root, "units", "supervisord.conf"))).toBe(false);
    } finally {
      await p.cleanup();
    }
  });
});

describe("restart when a foreign process holds a service's port", () => {
  it("is not fooled by the foreign answer: the holder is named before anything is stopped or started, its dependents are not started (exit 1)", async () => {
    const foreign = await project.startListener(ports[0]);
    try {
      const m = project.readManifest();
      m.services.web = {
        group: "core",
        port: ports[1],
        command: `node ${fixture("binds-port.js")}`,
        dependsOn: ["api"],
      };
      m.services.api.startRetries = 1;
      project.writeManifest(m);
      const r = await project.cli(["restart"], { timeoutMs: 60_000 });
      expect(r.exitCode, show(r)).toBe(1);
      // restart's port pre-check (step 2) names the holder at once; nothing after it runs
      expect(r.stdout).toContain(`port ${ports[0]} of api is held by PID ${foreign.pid} (`);
      expect(r.stdout).toContain("nothing was stopped");
      expect(r.stdout).not.toContain("[3/7]");
      expect(r.stdout).not.toMatch(/web ready|✓ level \d: web/);
    } finally {
      await project.stopListener(foreign);
      await project.cli(["shutdown"]);
    }
  }, 60_000);
});
