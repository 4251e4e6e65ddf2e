/**
 * The e2e port blocks (test/helpers/ports.ts) never overlap, and none lies in this machine's ephemeral port
 * range: an outgoing connection of another test file could take such a port as its source port between the
 * free-port check and the program's bind (EADDRINUSE on 0.0.0.0, seen in CI).
 */
import { describe, expect, it } from "vitest";
import { ephemeralExposed, ephemeralRange } from "../../src/inspect/ephemeral";
import { PORT_BLOCKS } from "../helpers/ports";
import { FLEET_BLOCK } from "../helpers/systemd-fleet";

const blocks: [string, { low: number; high: number }][] = [
  ...Object.entries(PORT_BLOCKS),
  ["systemd-fleet", FLEET_BLOCK],
  ["fleet-copy", { low: 28000, high: 28999 }],
];

describe("e2e port blocks", () => {
  it("do not overlap", () => {
    const sorted = [...blocks].sort((a, b) => a[1].low - b[1].low);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i][1].low, `${sorted[i - 1][0]} and ${sorted[i][0]}`).toBeGreaterThan(sorted[i - 1][1].high);
  });

  it("lie outside this machine's ephemeral port range (net.ipv4.ip_local_port_range, less reserved ports)", () => {
    const range = ephemeralRange();
    expect(range, "/proc/sys/net/ipv4/ip_local_port_range is readable").toBeDefined();
    for (const [name, b] of blocks) {
      const ports = Array.from({ length: b.high - b.low + 1 }, (_, i) => b.low + i);
      expect(ephemeralExposed(ports, range!), `block ${name} (${b.low}-${b.high})`).toEqual([]);
    }
  });
});
