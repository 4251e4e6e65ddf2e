/**
 * The ephemeral port range (src/inspect/ephemeral.ts) read from a fake /proc/sys, and the check-ports note it
 * gives for service ports inside it (src/live-ports/live-facts.ts ephemeralNote).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ephemeralExposed, ephemeralRange, parseReservedPorts } from "../../src/inspect/ephemeral";
import { ephemeralNote } from "../../src/live-ports/live-facts";
import { ephemeralProblems } from "../../src/live-ports/live-problems";
import { makeModel } from "../helpers/model";

const root = mkdtempSync(join(tmpdir(), "o-ephemeral-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeProc(range: string, reserved?: string): string {
  const proc = mkdtempSync(join(root, "proc-"));
  mkdirSync(join(proc, "sys/net/ipv4"), { recursive: true });
  writeFileSync(join(proc, "sys/net/ipv4/ip_local_port_range"), range);
  if (reserved !== undefined) writeFileSync(join(proc, "sys/net/ipv4/ip_local_reserved_ports"), reserved);
  return proc;
}

describe("the ephemeral port range", () => {
  it("reads the range (tab-separated) and the reserved list (ports and ranges)", () => {
    expect(ephemeralRange(fakeProc("32768\t60999\n", "34950-34952,40000\n"))).toEqual({
      low: 32768,
      high: 60999,
      reserved: [
        { low: 34950, high: 34952 },
        { low: 40000, high: 40000 },
      ],
    });
    expect(ephemeralRange(fakeProc("32768 60999\n"))?.reserved).toEqual([]); // no reservation file
    expect(ephemeralRange(join(root, "no-proc"))).toBeUndefined();
    expect(parseReservedPorts("\n")).toEqual([]);
    expect(parseReservedPorts("8080, x, 9000-9010")).toEqual([
      { low: 8080, high: 8080 },
      { low: 9000, high: 9010 },
    ]);
  });

  it("a port is exposed when inside the range and not reserved", () => {
    const range = { low: 32768, high: 60999, reserved: [{ low: 34950, high: 34952 }] };
    expect(ephemeralExposed([3000, 32767, 32768, 34950, 34953, 61000, 34953], range)).toEqual([32768, 34953]);
  });
});

describe("check-ports' note", () => {
  const range = { low: 32768, high: 60999, reserved: [{ low: 34952, high: 34952 }] };

  it("names the enabled services' ports in the range as ranges, with the sysctl that reserves them", () => {
    const model = makeModel(root, [
      { name: "a", port: 34950, argv: ["/bin/true"] },
      { name: "b", port: 34951, argv: ["/bin/true"] },
      { name: "c", port: 34952, argv: ["/bin/true"] }, // reserved
      { name: "d", port: 34960, argv: ["/bin/true"] },
      { name: "e", port: 34961, argv: ["/bin/true"], enabled: false },
      { name: "web", port: 8000, argv: ["/bin/true"] },
    ]);
    const note = ephemeralNote(model, range)!;
    expect(note).toMatch(/^ports 34950-34951, 34960 lie in this host's ephemeral port range 32768-60999 /);
    expect(note).toContain("fails with EADDRINUSE");
    expect(note).toContain("sysctl -w net.ipv4.ip_local_reserved_ports=34950-34951,34960");
    expect(note).toContain("move the services below 32768");
  });

  it("none when every port is below the range, or when the host does not say", () => {
    const model = makeModel(root, [{ name: "web", port: 8000, argv: ["/bin/true"] }]);
    expect(ephemeralNote(model, range)).toBeUndefined();
    expect(ephemeralNote(makeModel(root, [{ name: "x", port: 40000, argv: ["/bin/true"] }]), undefined)).toBe(
      undefined,
    );
  });
});

describe("validate --live's warnings", () => {
  it("one warning per enabled instance port in the range, naming the field and the sysctl; never an error", () => {
    const range = { low: 32768, high: 60999, reserved: [] };
    const model = makeModel(root, [
      { name: "api", port: 40000, argv: ["/bin/true"] },
      { name: "web", port: 8000, argv: ["/bin/true"] },
      { name: "off", port: 40001, argv: ["/bin/true"], enabled: false },
    ]);
    const problems = ephemeralProblems(model, range);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ severity: "warning", path: "services.api.port", field: "port", value: 40000 });
    expect(problems[0].message).toContain("ephemeral port range 32768-60999");
    expect(problems[0].fix).toContain("sysctl -w net.ipv4.ip_local_reserved_ports=40000");
    expect(ephemeralProblems(model, undefined)).toEqual([]);
  });
});
