/**
 * Hostile manifests against the built CLI: each is bad input, so the exit code is 2 with a message naming
 * the field (never 70 with a stack trace, never 0), and nothing is written (no units/, no stamp).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { cliPath } from "../helpers/cli-project";

let root: string;
beforeAll(async () => {
  root = mkdtempSync("/tmp/orch-hostile-");
  await cliPath();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh project holding `text` as manifest.json. */
function project(text: string | Buffer): string {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  writeFileSync(join(dir, "manifest.json"), text);
  return dir;
}

async function cli(dir: string, ...args: string[]) {
  const r = await run(process.execPath, [await cliPath(), "--no-color", ...args], { cwd: dir, timeoutMs: 60_000 });
  return { ...r, out: r.stdout + r.stderr };
}

const m = (services: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ project: "h", host: "127.0.0.1", ...extra, services });
const api = { command: "/usr/bin/python3 api.py", port: 30100 };

function chain(count: number, cyclic: boolean): string {
  const services: Record<string, unknown> = {};
  for (let i = 0; i < count; i++)
    services[`s${i}`] = { command: "x", dependsOn: i < count - 1 || cyclic ? [`s${(i + 1) % count}`] : [] };
  return m(services);
}

type Case = [string, string | Buffer, string[], RegExp];
const cases: Case[] = [
  [
    "reversed group range",
    m({ api: { ...api, group: "g" } }, { groups: { g: { range: "8100-8002" } } }),
    ["validate"],
    /groups\.g\.range "8100-8002" is reversed/,
  ],
  [
    "out-of-range group range",
    m({ api: { ...api, group: "g" } }, { groups: { g: { range: "0-99999" } } }),
    ["generate"],
    /groups\.g\.range "0-99999" is not a port range inside 1-65535/,
  ],
  [
    "reversed ports.allowed",
    m({ api }, { ports: { allowed: ["23999-23000"] } }),
    ["port", "api"],
    /ports\.allowed "23999-23000" is reversed/,
  ],
  [
    "a 250-character service name",
    m({ ["a".repeat(250)]: { command: "x" } }),
    ["generate"],
    /service name is 250 characters long.*"NAME.err.log.100".*at most 243/,
  ],
  ["a 5000-service dependency cycle", chain(5000, true), ["validate"], /dependency cycle of 5000 services: s0 → s1/],
  [
    "JSON nested 100k deep",
    `{"project": "h", "services": {"a": {"command": "x", "description": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}}`,
    ["validate"],
    /manifest\.json:1:\d+\s+JSON nested deeper than 1000 levels at line 1, column \d+/,
  ],
  [
    "a command ending in a backslash",
    m({ api: { ...api, command: "/usr/bin/python3 abc\\" } }),
    ["env", "api"],
    /services\.api\.command.*\n.*ends in a backslash/,
  ],
  ["a lone backslash", m({ api: { ...api, command: "\\" } }), ["generate"], /ends in a backslash at character 1/],
  [
    "a service named constructor",
    m({ constructor: { command: "x" } }),
    ["validate"],
    /"constructor" cannot be a service name/,
  ],
  [
    "an env key __proto__",
    `{"project": "h", "services": {"api": {"command": "x", "env": {"__proto__": "v"}}}}`,
    ["env", "api"],
    /"__proto__" cannot be an environment variable name/,
  ],
  [
    "a group named __proto__",
    `{"project": "h", "groups": {"__proto__": {"range": "30100-30199"}}, "services": {"api": {"command": "x", "port": 30100, "group": "__proto__"}}}`,
    ["validate"],
    /"__proto__" cannot be a group name/,
  ],
  [
    "host with a space (url)",
    m({ api }, { host: "127.0.0.1 evil" }),
    ["url", "api"],
    /host "127\.0\.0\.1 evil" is neither a host name nor an IP address/,
  ],
  [
    "an argv with an empty program (port)",
    m({ api: { ...api, command: ["", "a"] } }),
    ["port", "api"],
    /ExecStart= cannot hold ""/,
  ],
  [
    "an argv with an empty program (env)",
    m({ api: { ...api, command: [""] } }),
    ["env", "api"],
    /expected a program to run/,
  ],
  [
    "an argv with an empty program (url)",
    m({ api: { ...api, command: ["", "a"] } }),
    ["url", "api"],
    /expected a program to run/,
  ],
  [
    "invalid UTF-8",
    Buffer.concat([
      Buffer.from('{"project": "h",\n"services": {"api": {"command": "x", "description": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}}}'),
    ]),
    ["validate"],
    /invalid UTF-8 at line 2, column 57/,
  ],
  [
    "modify-service --env __proto__=1 (never silently dropped)",
    m({ api }),
    ["modify-service", "api", "--env", "__proto__=1"],
    /--env __proto__: "__proto__" cannot be an environment variable name/,
  ],
  [
    "add-service --env constructor=1",
    m({ api }),
    ["add-service", "b", "--command", "/bin/true", "--env", "constructor=1", "--no-start"],
    /--env constructor: "constructor" cannot be/,
  ],
  [
    "1e400",
    `{"project": "h", "services": {"api": {"command": "x", "port": 1e400}}}`,
    ["validate"],
    /services\.api\.port.*\n.*too large to represent: JSON reads it as Infinity/,
  ],
];

describe("hostile manifests exit 2 naming the field, nothing written", () => {
  it.each(cases)("%s", async (_name, text, args, message) => {
    const dir = project(text);
    const r = await cli(dir, ...args);
    expect(r.exitCode, r.out).toBe(2);
    expect(r.out).toMatch(message);
    expect(r.out).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(join(dir, "units")), "nothing is generated").toBe(false);
    expect(existsSync(join(dir, "run", ".manifest-validated")), "no validated stamp").toBe(false);
  });

  it("a 4000-service chain written in reverse order validates (no stack overflow)", async () => {
    const r = await cli(project(chain(4000, false)), "validate");
    expect(r.exitCode, r.out).toBe(0);
  });

  it("a service name of exactly the limit (243 for project h) generates every file", async () => {
    const dir = project(m({ ["a".repeat(243)]: { command: "/bin/true" } }));
    const r = await cli(dir, "generate");
    expect(r.exitCode, r.out).toBe(0);
    expect(existsSync(join(dir, "units", "supervisor", `${"a".repeat(243)}.conf`))).toBe(true);
  });

  it("a project name too long for any unit name", async () => {
    const r = await cli(
      project(JSON.stringify({ project: "p".repeat(250), services: { a: { command: "x" } } })),
      "generate",
    );
    expect(r.exitCode, r.out).toBe(2);
    expect(r.out).toMatch(/project name is 250 characters long.*at most 245/);
  });

  it("three bad directories are reported in one run", async () => {
    const services = Object.fromEntries(
      ["a", "b", "c"].map((s, i) => [s, { command: "x", port: 30100 + i, directory: `${s} ` }]),
    );
    const r = await cli(project(m(services)), "generate");
    expect(r.exitCode, r.out).toBe(2);
    for (const s of ["a", "b", "c"]) expect(r.out).toContain(`services.${s}.directory`);
  });

  it("port does not rewrite its validated stamp for a manifest generate refuses", async () => {
    const dir = project(m({ api }));
    expect((await cli(dir, "port", "api")).stdout).toBe("30100\n");
    const stamp = join(dir, "run", ".manifest-validated");
    const before = readFileSync(stamp, "utf8");
    writeFileSync(join(dir, "manifest.json"), m({ api: { ...api, command: ["", "a"] } }));
    const r = await cli(dir, "port", "api");
    expect(r.exitCode, r.out).toBe(2);
    expect(readFileSync(stamp, "utf8")).toBe(before);
    expect((await cli(dir, "port", "api")).exitCode).toBe(2); // the fast path does not answer either
  });
});
