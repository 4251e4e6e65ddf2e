/**
 * Port blocks for end-to-end test files. Each FILE owns one block, so files running in parallel never race for a
 * port (the fleet copies use 25100-25199 and 28000-28999: helpers/systemd-fleet.ts, helpers/fleet-copy.ts).
 * Inside its block a file takes ports in order, skipping any the kernel says is held
 * (src/inspect/port-probe.ts isPortFree).
 *
 * Every block lies below 32768, the start of Linux's default `net.ipv4.ip_local_port_range` (32768-60999): the
 * kernel gives an outgoing connection a source port from that range, so while other files' probes and
 * requests run, a port in it can be taken between the free-port check and the program's bind, and a program
 * binding 0.0.0.0 then fails with EADDRINUSE (seen in CI: cli-proxy's "wild" on 35004). test/unit/port-blocks
 * checks this against the machine's own range (src/inspect/ephemeral.ts).
 */
import { isPortFree } from "../../src/inspect/port-probe";

/** The block of each test file that starts listeners. A new file gets a new row, never a shared one. */
export const PORT_BLOCKS = {
  "procedure-faults": { low: 24000, high: 24099 },
  "procedure-fleet": { low: 24100, high: 24199 },
  "cli-lookups": { low: 24200, high: 24299 },
  "cli-misc": { low: 24300, high: 24399 },
  "recover-fake": { low: 24400, high: 24449 },
  "systemd-v11": { low: 31000, high: 31199 },
  "supervisord-v11": { low: 31200, high: 31399 },
  "safety-disk": { low: 30000, high: 30099 },
  "safety-cli": { low: 30100, high: 30199 },
  // the edge (issue 15)
  "nginx-proxy": { low: 29000, high: 29199 },
  "firewall-netns": { low: 29200, high: 29299 },
  "exposure-audit": { low: 29300, high: 29399 },
  "safety-hangs": { low: 30200, high: 30299 },
  "safety-fleet": { low: 30300, high: 30399 },
  "instances-supervisord": { low: 29400, high: 29599 },
  // the edge through the CLI (issue 15, part 2)
  "cli-proxy": { low: 31400, high: 31599 },
  "cli-firewall": { low: 31600, high: 31699 },
  "instances-systemd": { low: 29600, high: 29799 },
  // rolling restarts (issue 16)
  "rolling-restart": { low: 31700, high: 31799 },
  operations: { low: 29800, high: 29899 },
  "system-supervisord": { low: 29900, high: 29999 },
  // install telling the machine's supervisord; the read commands with --server-url (issue 14)
  "system-supervisord-reads": { low: 32100, high: 32199 },
  // process groups (issue 13)
  "process-groups": { low: 31800, high: 31899 },
  // the read commands' fast bundle (issue 14)
  "read-path": { low: 31900, high: 31999 },
  // logs, failure tails, history, recover --dry-run details (issue 14)
  "ops-details": { low: 32000, high: 32099 },
  // instances and restart policies through the CLI
  "instances-ops": { low: 32200, high: 32299 },
  // rolling restarts under a real systemd (sandbox), behind the private nginx
  "rolling-systemd": { low: 32300, high: 32399 },
} as const;

export type BlockName = keyof typeof PORT_BLOCKS;

/** Hands out free ports of one block, each at most once. */
export class PortAllocator {
  private next: number;
  private readonly high: number;

  constructor(
    readonly block: BlockName,
    range?: { low: number; high: number },
  ) {
    const { low, high } = range ?? PORT_BLOCKS[block];
    const own = PORT_BLOCKS[block];
    if (low < own.low || high > own.high || low > high)
      throw new RangeError(`range ${low}-${high} is not inside block ${block} (${own.low}-${own.high})`);
    this.next = low;
    this.high = high;
  }

  /** The next free port (nothing listens on it on any address). @throws when the block is used up. */
  async take(): Promise<number> {
    while (this.next <= this.high) {
      const port = this.next++;
      if (await isPortFree(port)) return port;
    }
    throw new Error(
      `no free port left in block ${this.block} up to ${this.high}: something else listens there (ss -ltnp)`,
    );
  }

  /** `count` free ports. */
  async takeMany(count: number): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await this.take());
    return ports;
  }
}

/** An allocator over a sub-range of a file's block (e.g. one manifest group's range). */
export function portsOf(block: BlockName, range?: { low: number; high: number }): PortAllocator {
  return new PortAllocator(block, range);
}
