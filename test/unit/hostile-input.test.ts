/**
 * Table tests for the hostile inputs of issue 11 (first half): reversed and out-of-range port ranges, names
 * too long for the generated file and unit names, JavaScript's special keys, hosts that are not hosts,
 * numbers JSON reads as Infinity, trailing backslashes, deep nesting, invalid UTF-8, and dependency graphs
 * of thousands of services. Each row is a manifest change and the problem it must raise (or none).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManifestError, type Problem } from "../../src/errors";
import {
  firstInvalidUtf8,
  MAX_DEPTH,
  nestingBeyond,
  parseManifestText,
  readManifestFile,
} from "../../src/manifest/load";
import { dependencyLevels } from "../../src/manifest/resolve";
import { isHostOrIp } from "../../src/manifest/rules/host";
import { maxServiceNameLength } from "../../src/manifest/rules/names";
import { validateManifest } from "../../src/manifest/validate";
import { viewOf } from "../../src/manifest/view";
import { findCycles } from "../../src/manifest/rules/dependencies";
import { CommandSyntaxError, splitCommand } from "../../src/model/command";
import { resolveModel } from "../../src/manifest/resolve";
import type { Manifest } from "../../src/manifest/schema";

type Json = Record<string, any>;

function base(): Json {
  return {
    project: "demo",
    host: "127.0.0.1",
    groups: { core: { range: "8000-8100" } },
    services: { api: { group: "core", port: 8001, command: "/usr/bin/python3 api.py" } },
  };
}

type Expect = { path: string; message: RegExp };
type Row = [string, (m: Json) => void, Expect[] | null];

const rows: Row[] = [
  ["valid manifest", () => {}, null],
  // item 8
  [
    "reversed group range",
    (m) => (m.groups.core.range = "8100-8002"),
    [{ path: "groups.core.range", message: /"8100-8002" is reversed: its low end 8100 is above its high end 8002/ }],
  ],
  [
    "group range outside 1-65535",
    (m) => (m.groups.core.range = ["0-99999"]),
    [{ path: "groups.core.range.0", message: /"0-99999" is not a port range inside 1-65535/ }],
  ],
  [
    "reversed ports.allowed item",
    (m) => (m.ports = { allowed: ["8000-8100", "23999-23000"] }),
    [{ path: "ports.allowed.1", message: /ports\.allowed "23999-23000" is reversed/ }],
  ],
  ["a range of 65535-65535 is fine", (m) => (m.groups.core.range = ["8000-8100", "65535-65535"]), null],
  // item 9
  [
    "a service name one character too long for PROJECT-NAME.service",
    (m) => (m.services["a".repeat(255 - "demo-.service".length + 1)] = { command: "x" }),
    [{ path: `services.${"a".repeat(243)}`, message: /243 characters long.*"demo-NAME\.service".*at most 242/ }],
  ],
  [
    "a project name too long for any unit name",
    (m) => (m.project = "p".repeat(246)),
    [{ path: "project", message: /project name is 246 characters long.*at most 245/ }],
  ],
  ["a service name of exactly the limit", (m) => (m.services["a".repeat(242)] = { command: "x" }), null],
  // item 12
  [
    "service named constructor: refused by name, not the whole object dumped",
    (m) => (m.services.constructor = { command: "x" }),
    [{ path: "services.constructor", message: /^"constructor" cannot be a service name/ }],
  ],
  [
    "env keys __proto__ and constructor",
    (m) => (m.services.api.env = JSON.parse('{"__proto__": "a", "constructor": "b"}')),
    [
      { path: "services.api.env.__proto__", message: /"__proto__" cannot be an environment variable name/ },
      { path: "services.api.env.constructor", message: /"constructor" cannot be an environment variable name/ },
    ],
  ],
  [
    "group named __proto__",
    (m) => {
      m.groups = JSON.parse('{"__proto__": {"range": "8000-8100"}}');
      m.services.api.group = "__proto__";
    },
    [{ path: "groups.__proto__", message: /"__proto__" cannot be a group name/ }],
  ],
  [
    "external named constructor",
    (m) => (m.external = { constructor: { port: 5432 } }),
    [{ path: "external.constructor", message: /"constructor" cannot be an external name/ }],
  ],
  [
    "toString, valueOf and hasOwnProperty are plain env keys and external names",
    (m) => {
      m.services.api.env = { toString: "1", valueOf: "2", hasOwnProperty: "3" };
      m.external = { tostring: { port: 5432 }, valueof: { port: 5433 } };
    },
    null,
  ],
  // item 13
  [
    "host with a space",
    (m) => (m.host = "127.0.0.1 evil"),
    [{ path: "host", message: /host "127\.0\.0\.1 evil" is neither a host name nor an IP address/ }],
  ],
  ["host in brackets", (m) => (m.host = "[::1]"), [{ path: "host", message: /neither a host name/ }]],
  [
    "external host with a slash",
    (m) => (m.external = { db: { port: 5432, host: "db/x" } }),
    [{ path: "external.db.host", message: /neither/ }],
  ],
  ["host ::1", (m) => (m.host = "::1"), null],
  // smaller: 1e400
  [
    "a port JSON reads as Infinity",
    (m) => (m.services.api.port = Infinity),
    [{ path: "services.api.port", message: /too large to represent: JSON reads it as Infinity/ }],
  ],
  // item 11
  [
    "a command ending in a backslash",
    (m) => (m.services.api.command = "/usr/bin/python3 abc\\"),
    [{ path: "services.api.command", message: /ends in a backslash at character 21/ }],
  ],
  [
    "a lone backslash",
    (m) => (m.services.api.command = "\\"),
    [{ path: "services.api.command", message: /ends in a backslash/ }],
  ],
];

describe("hostile manifests", () => {
  it.each(rows)("%s", (_name, change, expected) => {
    const m = base();
    change(m);
    const { errors } = validateManifest(m);
    if (expected === null) {
      expect(errors).toEqual([]);
      return;
    }
    expect(errors.map((e: Problem) => e.path).sort()).toEqual(expected.map((e) => e.path).sort());
    for (const e of expected) {
      const found = errors.find((p) => p.path === e.path)!;
      expect(found.message).toMatch(e.message);
      expect(found.message.length, "the message is about the value, not a dump of the object").toBeLessThan(300);
    }
  });

  it("constructor, toString and valueOf env keys reach the model as plain keys", () => {
    const m = base();
    m.services.api.env = { toString: "1", valueOf: "2" };
    const v = validateManifest(m);
    const model = resolveModel(v.manifest!, "/srv/demo/manifest.json");
    expect(Object.entries(model.services[0].env)).toEqual(
      expect.arrayContaining([
        ["toString", "1"],
        ["valueOf", "2"],
      ]),
    );
  });
});

describe("limits", () => {
  it.each([
    ["demo", 242, /systemd unit "demo-NAME.service"/],
    ["p", 243, /rotated log "NAME.err.log.100"/],
  ])("project %s: names up to %i characters", (project, max, longest) => {
    const limit = maxServiceNameLength(project);
    expect(limit.max).toBe(max);
    expect(limit.longest).toMatch(longest);
    expect(`${project}-${"a".repeat(limit.max)}.service`.length).toBeLessThanOrEqual(255);
    expect(`${"a".repeat(limit.max)}.err.log.100`.length).toBeLessThanOrEqual(255);
  });

  it.each<[string, boolean]>([
    ["localhost", true],
    ["my-host.example.com", true],
    ["my-host.example.com.", true],
    ["127.0.0.1", true],
    ["::1", true],
    ["fe80::1", true],
    ["127.0.0.1 evil", false],
    ["-bad.example", false],
    ["a..b", false],
    ["x".repeat(64), false],
    ["127.0.0.300", false],
    ["host:80", false],
    ["[::1]", false],
    ["", false],
  ])("isHostOrIp(%j) is %s", (host, ok) => expect(isHostOrIp(host)).toBe(ok));
});

describe("splitCommand and trailing backslashes", () => {
  it.each(["abc\\", "\\", "a b \\", "'x' \\"])("%j is refused like an unterminated quote", (text) => {
    expect(() => splitCommand(text)).toThrow(CommandSyntaxError);
    expect(() => splitCommand(text)).toThrow(/ends in a backslash/);
  });
  it.each<[string, string[]]>([
    ["a\\\\", ["a\\"]],
    ["a\\ b", ["a b"]],
    ["'a\\'", ["a\\"]],
  ])("%j still splits as a shell would", (text, words) => expect(splitCommand(text)).toEqual(words));
});

describe("deep JSON and invalid UTF-8", () => {
  it("JSON nested 100000 deep is a ManifestError with line:column, not a stack overflow", () => {
    const text = `{"project": "p",\n "services": {"a": {"command": "x", "description": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}}`;
    let error: unknown;
    try {
      parseManifestText(text, "m.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    const p = (error as ManifestError).problems[0];
    expect(p.path).toBe(`m.json:2:${52 + MAX_DEPTH - 3}`); // the first "[" is column 52, level 4
    expect(p.message).toMatch(/nested deeper than 1000 levels at line 2/);
  });

  it("brackets inside strings do not count as nesting", () => {
    expect(nestingBeyond(`{"a": "${"[".repeat(5000)}\\"["}`, 10)).toBeUndefined();
  });

  it.each<[string, number[], number]>([
    ["valid ASCII and é", [0x61, 0xc3, 0xa9], -1],
    ["a Latin-1 é", [0x61, 0xe9, 0x62], 1],
    ["a lone continuation byte", [0x80], 0],
    ["an overlong NUL", [0xc0, 0x80], 0],
    ["a surrogate", [0xed, 0xa0, 0x80], 0],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["cut short", [0x61, 0xe2, 0x82], 1],
    ["a 4-byte emoji", [0xf0, 0x9f, 0x98, 0x80], -1],
  ])("firstInvalidUtf8: %s", (_n, bytes, offset) => expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(offset));

  it("a manifest with invalid UTF-8 is a ManifestError at its line:column, never read as U+FFFD", () => {
    const dir = mkdtempSync("/tmp/orch-utf8-");
    try {
      const file = join(dir, "manifest.json");
      writeFileSync(
        file,
        Buffer.concat([
          Buffer.from('{"project": "p",\n "services": {"a": {"command": "h'),
          Buffer.from([0xe9]),
          Buffer.from('llo"}}}'),
        ]),
      );
      expect(() => readManifestFile(file)).toThrow(ManifestError);
      try {
        readManifestFile(file);
      } catch (e) {
        expect((e as ManifestError).problems[0].path).toBe(`${file}:2:34`);
        expect((e as ManifestError).problems[0].message).toMatch(
          /invalid UTF-8 at line 2, column 34 \(byte 50: 0xe9\)/,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("dependency graphs of thousands of services", () => {
  const chain = (n: number, cyclic: boolean): Json => {
    const services: Json = {};
    for (let i = 0; i < n; i++)
      services[`s${i}`] = { command: "x", dependsOn: i < n - 1 || cyclic ? [`s${(i + 1) % n}`] : [] };
    return { project: "p", services };
  };

  it("a 4000-service chain written in reverse order validates and gets levels 0-3999", () => {
    const m = chain(4000, false);
    expect(validateManifest(m).errors).toEqual([]);
    const levels = dependencyLevels(m as Manifest);
    expect(levels.get("s3999")).toBe(0);
    expect(levels.get("s0")).toBe(3999);
  });

  it("a 5000-service cycle is one problem with a short message", () => {
    const m = chain(5000, true);
    expect(findCycles(viewOf(m))).toHaveLength(1);
    const { errors } = validateManifest(m);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^dependency cycle of 5000 services: s0 → s1 → .* → s4999 → s0$/);
    expect(errors[0].message.length).toBeLessThan(200);
  });
});
