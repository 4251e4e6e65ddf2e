/** importLegacyManifest: the REC.IO fixture and a table of legacy shapes, valid and invalid. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { UsageError } from "../../src/errors";
import { groupRanges, importLegacyManifest, placeholderCommand } from "../../src/manifest/import-legacy";
import { manifestSchema } from "../../src/manifest/schema";
import { validateManifest } from "../../src/manifest/validate";

const FIXTURE = join(__dirname, "..", "fixtures", "recio", "MASTER_PORT_MANIFEST.json");
const legacy = JSON.parse(readFileSync(FIXTURE, "utf8"));

describe("the REC.IO fixture", () => {
  const { manifest, notes, files } = importLegacyManifest(legacy, {});

  test("imports into a valid manifest (schema and every policy rule)", () => {
    expect(manifestSchema.safeParse(manifest).success).toBe(true);
    expect(validateManifest(manifest).errors).toEqual([]);
    expect(files).toEqual([]);
  });

  test("keeps every service, port, description and its group", () => {
    for (const [section, group] of [
      ["core_services", "core"],
      ["watchdog_services", "watchdog"],
    ]) {
      for (const [name, entry] of Object.entries<{ port: number; description: string }>(legacy[section])) {
        expect(manifest.services[name]).toMatchObject({ group, port: entry.port, description: entry.description });
      }
    }
    expect(Object.keys(manifest.services)).toHaveLength(8);
  });

  test("groups core and watchdog with ranges that hold their ports; avoid ports kept", () => {
    expect(manifest.groups).toEqual({
      core: { range: ["3000-4000", "8001-8009"], description: "Core services" },
      watchdog: {
        range: "8000-8100",
        description: "Watchdog services (Safe port range avoiding macOS system services)",
      },
    });
    expect(manifest.ports).toEqual({ avoid: [5000, 7000, 9000, 10000] });
    expect(manifest.project).toBe("recio-trading-system");
  });

  test("notes say what was dropped and why", () => {
    expect(notes.join("\n")).toMatch(/status dropped for 8 service\(s\)/);
    expect(notes.join("\n")).toMatch(/safe range 8000-8100 not made ports.allowed: ports 3000, 4000 lie outside it/);
    expect(notes.join("\n")).toMatch(/dropped \(no v1 equivalent\): created, description/);
    expect(notes.join("\n")).toMatch(/commands: .* has none/);
  });

  test("the placeholder command fails and says what to do", () => {
    const [cmd, ...args] = placeholderCommand("main_app");
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("main_app: no command was imported: set services.main_app.command in manifest.json\n");
  });

  test("--project wins over system_name; a bad one is refused", () => {
    expect(importLegacyManifest(legacy, { project: "recio" }).manifest.project).toBe("recio");
    expect(() => importLegacyManifest(legacy, { project: "Rec IO" })).toThrowError(UsageError);
  });
});

describe("legacy shapes", () => {
  test.each<[string, unknown, (r: ReturnType<typeof importLegacyManifest>) => void]>([
    [
      "any *_services key is a group; a bare number is a port",
      { system_name: "Fleet", api_services: { web: 8080, Admin: { port: 8081 } } },
      ({ manifest, notes }) => {
        expect(manifest.services.web).toMatchObject({ group: "api", port: 8080 });
        expect(manifest.services.admin).toMatchObject({ group: "api", port: 8081 });
        expect(manifest.groups?.api.range).toBe("8080-8081");
        expect(notes.join("\n")).toMatch(/api_services.Admin: renamed to admin/);
        expect(manifest.project).toBe("fleet");
      },
    ],
    [
      "all ports in the safe range: it becomes ports.allowed",
      { core_services: { a: { port: 8001 } }, port_ranges: { safe_range_start: 8000, safe_range_end: 8100 } },
      ({ manifest }) => {
        expect(manifest.ports?.allowed).toEqual(["8000-8100"]);
        expect(manifest.groups?.core.range).toBe("8000-8100");
      },
    ],
    [
      "a service without port is a worker",
      { core_services: { a: { port: 8001 }, b: { description: "poller" } } },
      ({ manifest, notes }) => {
        expect(manifest.services.b.port).toBeUndefined();
        expect(notes.join("\n")).toMatch(/core_services.b: no port: imported as a worker/);
      },
    ],
    [
      "a port in avoid or taken twice is kept and flagged",
      { core_services: { a: 5000, b: 8001, c: 8001 }, notes: { avoid_ports: [5000] } },
      ({ notes }) => {
        expect(notes.join("\n")).toMatch(/port 8001 is used by both b and c/);
        expect(notes.join("\n")).toMatch(/a uses port 5000, which is in ports.avoid/);
      },
    ],
    [
      "unknown keys are dropped with a note",
      { core_services: { a: { port: 8001, owner: "x" } }, extra: 1 },
      ({ notes }) => {
        expect(notes.join("\n")).toMatch(/dropped \(no v1 equivalent\): core_services.a.owner, extra/);
      },
    ],
  ])("%s", (_name, input, check) => {
    const result = importLegacyManifest(input, { fileName: "legacy.json" });
    expect(manifestSchema.safeParse(result.manifest).success).toBe(true);
    check(result);
  });

  test.each<[string, unknown, RegExp]>([
    ["not an object", [1], /legacy.json: \(root\): expected a JSON object/],
    ["no services", { port_ranges: {} }, /no services found/],
    [
      "a port that is not a port",
      { core_services: { a: { port: "8001" } } },
      /legacy.json: core_services.a.port: expected an integer from 1 to 65535, got "8001"/,
    ],
    [
      "a service in two groups",
      { core_services: { a: 8001 }, watchdog_services: { a: 8002 } },
      /watchdog_services.a: service a is also defined in core_services.a/,
    ],
    [
      "a bad safe range",
      { core_services: { a: 8001 }, port_ranges: { safe_range_start: 9000, safe_range_end: 8000 } },
      /port_ranges: safe_range_start\/end/,
    ],
    ["a service named all", { core_services: { ALL: 8001 } }, /cannot be named "all"/],
    [
      "bad avoid_ports",
      { core_services: { a: 8001 }, notes: { avoid_ports: ["x"] } },
      /notes.avoid_ports: expected a list of ports/,
    ],
  ])("refuses %s", (_name, input, message) => {
    expect(() => importLegacyManifest(input, { fileName: "legacy.json" })).toThrowError(message);
  });
});

describe("groupRanges", () => {
  const safe = { low: 8000, high: 8100 };
  test.each<[number[], typeof safe | undefined, string | string[] | undefined]>([
    [[8004, 8011], safe, "8000-8100"],
    [[3000, 4000, 8001, 8009], safe, ["3000-4000", "8001-8009"]],
    [[3000], safe, "3000"],
    [[], safe, "8000-8100"],
    [[9001, 9005], undefined, "9001-9005"],
    [[], undefined, undefined],
  ])("%j with safe range %j → %j", (ports, range, expected) => {
    expect(groupRanges(new Map([["g", ports]]), range).get("g")).toEqual(expected);
  });
});
