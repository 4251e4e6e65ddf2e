/**
 * The BUILT CLI as a child process, without any process manager: lookups on the repo's manifest.json
 * (a byte-for-byte copy in a temp folder, so nothing is written into the repo), validate with planted
 * problems, parse errors, --help of every command, generate --dry-run, init and import. Checks
 * {exitCode, stdout, stderr} like corepack's tests. Starts no process that outlives its command.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, ensureBuilt, REPO_ROOT, runCli, show, type TestProject } from "../helpers/project";

const REPO_MANIFEST = join(REPO_ROOT, "manifest.json");
const LEGACY = join(REPO_ROOT, "test", "fixtures", "recio", "MASTER_PORT_MANIFEST.json");

let fleet: TestProject;
const temps: TestProject[] = [];

/** A temp project holding `manifest` (object or raw text), removed in afterAll. */
function scratch(prefix: string, manifest?: object | string): TestProject {
  const p = createProject(prefix, manifest);
  temps.push(p);
  return p;
}

beforeAll(() => {
  ensureBuilt();
  fleet = scratch("look", readFileSync(REPO_MANIFEST, "utf8"));
});

afterAll(async () => {
  for (const p of temps.splice(0)) await p.cleanup();
});

describe("lookups on the example fleet's manifest", { timeout: 60_000 }, () => {
  it("port main_app prints 3000 (also on the fast path, once validated)", async () => {
    const first = await fleet.cli(["port", "main_app"]);
    expect(first.exitCode, show(first)).toBe(0);
    expect(first.stdout).toBe("3000\n");
    expect(first.stderr).toBe("");
    expect(existsSync(join(fleet.root, "run", ".manifest-validated"))).toBe(true); // the stamp the fast path trusts
    const second = await fleet.cli(["port", "main_app"]);
    expect({ exit: second.exitCode, out: second.stdout }).toEqual({ exit: 0, out: "3000\n" });
  });

  it("port main_app --all prints every instance's port, instance 0 first", async () => {
    const r = await fleet.cli(["port", "main_app", "--all"]);
    expect({ exit: r.exitCode, out: r.stdout, err: r.stderr }).toEqual({ exit: 0, out: "3000\n3001\n", err: "" });
    const one = await fleet.cli(["port", "trade_executor", "--all"]);
    expect(one.stdout).toBe("8001\n");
  });

  it('port main_ap exits 2 suggesting "main_app"', async () => {
    const r = await fleet.cli(["port", "main_ap"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('unknown service "main_ap"; did you mean "main_app"?');
  });

  it("url trade_executor /health", async () => {
    const r = await fleet.cli(["url", "trade_executor", "/health"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toBe("http://127.0.0.1:8001/health\n");
  });

  it("env trade_executor has PORT, HOST, SERVICE_NAME and the manifest's env", async () => {
    const r = await fleet.cli(["env", "trade_executor"]);
    expect(r.exitCode, show(r)).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "PORT=8001",
        "HOST=127.0.0.1",
        "SERVICE_NAME=trade_executor",
        "LOG_LEVEL=info",
        // "{url:trade_manager}" resolved, as the program receives it
        "TRADE_MANAGER_URL=http://127.0.0.1:4000",
      ]),
    );
    expect(
      lines.every((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)),
      r.stdout,
    ).toBe(true);
  });

  it("ports --json parses, with groups core and watchdog and their budgets", async () => {
    const r = await fleet.cli(["ports", "--json"]);
    expect(r.exitCode, show(r)).toBe(0);
    const report = JSON.parse(r.stdout);
    const groups = new Map<string, any>(report.groups.map((g: any) => [g.name, g]));
    expect([...groups.keys()].sort()).toEqual(["core", "watchdog"]);
    for (const g of groups.values()) {
      expect(g, g.name).toMatchObject({
        used: expect.any(Number),
        free: expect.any(Number),
        total: expect.any(Number),
      });
      expect(g.used + g.free, `${g.name}: used + free = total`).toBeLessThanOrEqual(g.total);
      expect(g.services.length).toBe(g.used);
    }
    expect(groups.get("core").services.map((s: any) => s.name)).toEqual(
      expect.arrayContaining(["main_app:0", "main_app:1", "trade_executor"]), // a row per instance
    );
    expect(groups.get("core").services.find((s: any) => s.name === "main_app:0").port).toBe(3000);
    expect(groups.get("core").services.find((s: any) => s.name === "main_app:1").port).toBe(3001);
  });

  it("validate exits 0", async () => {
    const r = await fleet.cli(["validate"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain(`${fleet.manifestPath}: valid`);
  });
});

describe("validate reports every problem at once", { timeout: 60_000 }, () => {
  /** Ten planted problems: [path in --json, words of its message]. */
  const PLANTED: [string, string][] = [
    ["services.strange.colour", 'unknown key "colour"'],
    ["services.Bad Name", 'service name "Bad Name" does not match'],
    ["services.envy.env.PORT", "PORT is set by orchestrate for every program and cannot be overridden"],
    ["services.dup.port", "port 24201 is already taken by service api"],
    ["services.avoided.port", "port 24250 is in ports.avoid"],
    ["services.outside.port", "port 24500 is outside ports.allowed (24200-24299)"],
    ["services.wide.port", "port 24230 is outside the range of group core (24200-24219)"],
    ["services.typo.group", 'group "cor" is not defined in "groups"'],
    ["services.reserved.port", "port 24251 is reserved: kept for the queue"],
    ["services.orphan.dependsOn.0", 'dependsOn names "nosuch", which is not a service of this manifest'],
  ];
  const planted = {
    project: "planted",
    ports: { allowed: ["24200-24299"], avoid: [24250], reserved: { "24251": "kept for the queue" } },
    groups: { core: { range: "24200-24219" } },
    services: {
      api: { group: "core", port: 24201, command: "node api.js" },
      dup: { group: "core", port: 24201, command: "node dup.js" },
      avoided: { port: 24250, command: "node a.js" },
      outside: { port: 24500, command: "node o.js" },
      wide: { group: "core", port: 24230, command: "node w.js" },
      typo: { group: "cor", port: 24202, command: "node t.js" },
      reserved: { port: 24251, command: "node r.js" },
      orphan: { port: 24203, command: "node x.js", dependsOn: ["nosuch"] },
      "Bad Name": { port: 24204, command: "node b.js" },
      envy: { port: 24205, command: "node e.js", env: { PORT: "1" } },
      strange: { port: 24206, command: "node s.js", colour: "blue" },
    },
  };

  it("a manifest with ten planted problems: exit 2, all ten reported in one run", async () => {
    const p = scratch("plant", planted);
    const r = await p.cli(["validate"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toContain("10 errors");
    for (const [path, message] of PLANTED) {
      expect(r.stderr, path).toContain(path);
      expect(r.stderr, path).toContain(message);
    }
    expect(r.stderr).toContain('did you mean "core"?'); // the typo'd group gets a suggestion
  });

  it("validate --json lists the same ten, each with path, message and fix", async () => {
    const p = scratch("plantj", planted);
    const r = await p.cli(["validate", "--json"]);
    expect(r.exitCode, show(r)).toBe(2);
    const result = JSON.parse(r.stdout);
    expect(result.valid).toBe(false);
    expect(result.errors.map((e: any) => e.path).sort()).toEqual(PLANTED.map(([path]) => path).sort());
    for (const [path, message] of PLANTED) {
      const e = result.errors.find((x: any) => x.path === path);
      expect(e.message).toContain(message);
      expect(e.fix, path).toEqual(expect.any(String));
    }
  });

  it("a JSON syntax error: exit 2 with its line and column", async () => {
    // line 4 lacks the comma after the port: the error is at line 5, column 5 ("command")
    const text = [
      "{",
      '  "project": "broken",',
      '  "services": {',
      '    "api": { "port": 24210',
      '    "command": "node api.js" }',
      "  }",
      "}",
      "",
    ].join("\n");
    const p = scratch("syntax", text);
    const r = await p.cli(["validate"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toMatch(/JSON syntax error at line 5, column 5/);
    const port = await p.cli(["port", "api"]); // every command refuses, with the same location
    expect(port.exitCode).toBe(2);
    expect(port.stderr).toMatch(/line 5, column 5/);
  });

  it("a duplicate service key: exit 2 naming both lines", async () => {
    const text = [
      "{",
      '  "project": "twice",',
      '  "services": {',
      '    "api": { "port": 24211, "command": "node a.js" },',
      '    "web": { "port": 24212, "command": "node w.js" },',
      '    "api": { "port": 24213, "command": "node b.js" }',
      "  }",
      "}",
      "",
    ].join("\n");
    const p = scratch("dupkey", text);
    const r = await p.cli(["validate"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toContain('key "api" appears twice in one object (line 4 and line 6)');
  });
});

describe("the command line itself", { timeout: 60_000 }, () => {
  it("--help of every command exits 0 and shows an Example", async () => {
    const top = await runCli(["--help"]);
    expect(top.exitCode, show(top)).toBe(0);
    expect(top.stdout).toContain("Examples:");
    const commands = [
      ...top.stdout
        .split("Commands:")[1]
        .split("\n\n")[0]
        .matchAll(/^ {2}([a-z][a-z-]*)\b/gm),
    ]
      .map((m) => m[1])
      .filter((c) => c !== "help");
    // the commands are all there (others may be added: they are checked too)
    expect(commands).toEqual(
      expect.arrayContaining([
        "init",
        "validate",
        "port",
        "url",
        "env",
        "ports",
        "generate",
        "test-start",
        "restart",
        "verify",
        "status",
        "start",
        "stop",
        "logs",
        "import",
      ]),
    );
    const results = await Promise.all(commands.map(async (c) => [c, await runCli([c, "--help"])] as const));
    for (const [c, r] of results) {
      expect(r.exitCode, `${c} --help: ${show(r)}`).toBe(0);
      expect(r.stdout, `${c} --help shows no Example:\n${r.stdout}`).toMatch(/Example/);
      expect(r.stdout).toContain(`Usage: orchestrate ${c}`);
    }
  });

  it("an unknown command exits 2 and points at --help", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.exitCode, show(r)).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain("orchestrate --help");
  });

  it("generate --dry-run prints a unified diff and writes nothing", async () => {
    const p = scratch("dry", readFileSync(REPO_MANIFEST, "utf8"));
    const r = await p.cli(["generate", "--dry-run"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^--- \/dev\/null\n\+\+\+ b\/units\/supervisor\/main_app@0\.conf$/m); // a new file (one per instance)
    expect(r.stdout).toMatch(/^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/m);
    expect(r.stdout).toMatch(/^\+\[program:main_app@0\]$/m);
    expect(existsSync(join(p.root, "units")), "units/ must not exist after --dry-run").toBe(false);
  });

  it("init in an empty folder creates a manifest that validates", async () => {
    const dir = mkdtempSync("/tmp/o-init-");
    try {
      const r = await runCli(["init", "--project", "demo"], { cwd: dir });
      expect(r.exitCode, show(r)).toBe(0);
      expect(existsSync(join(dir, "manifest.json"))).toBe(true);
      const v = await runCli(["validate"], { cwd: dir });
      expect(v.exitCode, show(v)).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).project).toBe("demo");
      const again = await runCli(["init", "--project", "demo"], { cwd: dir }); // never overwrites
      expect(again.exitCode, show(again)).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("import of the legacy MASTER_PORT_MANIFEST.json --stdout: a manifest that validates, 8 services, ports and groups kept", async () => {
    expect(existsSync(LEGACY), `expected the legacy fixture at ${LEGACY}`).toBe(true);
    const p = scratch("import");
    const r = await p.cli(["import", LEGACY, "--stdout"]);
    expect(r.exitCode, show(r)).toBe(0);
    expect(existsSync(p.manifestPath), "--stdout writes no manifest").toBe(false);
    const imported = JSON.parse(r.stdout);
    const legacy = JSON.parse(readFileSync(LEGACY, "utf8"));
    const expected: Record<string, { port: number; group: string }> = {};
    for (const [section, group] of [
      ["core_services", "core"],
      ["watchdog_services", "watchdog"],
    ] as const) {
      for (const [name, s] of Object.entries<any>(legacy[section])) expected[name] = { port: s.port, group };
    }
    expect(Object.keys(expected)).toHaveLength(8);
    expect(Object.keys(imported.services).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, e] of Object.entries(expected)) expect(imported.services[name], name).toMatchObject(e);
    expect(Object.keys(imported.groups).sort()).toEqual(["core", "watchdog"]);
    p.writeManifest(r.stdout);
    const v = await p.cli(["validate"]);
    expect(v.exitCode, show(v)).toBe(0);
    expect(readdirSync(p.root)).toEqual(["manifest.json"].concat(existsSync(join(p.root, "run")) ? ["run"] : []));
  });
});
