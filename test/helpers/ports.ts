/**
 * Port blocks for end-to-end test files. Each FILE owns one block of 24000-24999 (other engineers' files use
 * 21000-23999 and 25000+), so files running in parallel never race for a port. Inside its block a file
 * takes ports in order, skipping any the kernel says is held (src/inspect/port-probe.ts isPortFree).
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
  // the edge (issue 15): 33000-33999
  "nginx-proxy": { low: 33000, high: 33499 },
  "firewall-netns": { low: 33500, high: 33599 },
  "exposure-audit": { low: 33600, high: 33699 },
  "safety-hangs": { low: 30200, high: 30299 },
  "safety-fleet": { low: 30300, high: 30399 },
  "instances-supervisord": { low: 34000, high: 34199 },
  // the edge through the CLI (issue 15, part 2): 35000-35499
  "cli-proxy": { low: 35000, high: 35199 },
  "cli-firewall": { low: 35200, high: 35299 },
  "instances-systemd": { low: 34200, high: 34399 },
  // rolling restarts (issue 16): 35500-35999
  "rolling-restart": { low: 35500, high: 35599 },
  operations: { low: 34500, high: 34599 },
  "system-supervisord": { low: 34600, high: 34699 },
  // install telling the machine's supervisord; the read commands with --server-url (issue 14)
  "system-supervisord-reads": { low: 36300, high: 36399 },
  // process groups (issue 13)
  "process-groups": { low: 36000, high: 36099 },
  // the read commands' fast bundle (issue 14)
  "read-path": { low: 36100, high: 36199 },
  // logs, failure tails, history, recover --dry-run details (issue 14)
  "ops-details": { low: 36200, high: 36299 },
  // instances and restart policies through the CLI
  "instances-ops": { low: 36400, high: 36499 },
  // rolling restarts under a real systemd (sandbox), behind the private nginx
  "rolling-systemd": { low: 36500, high: 36599 },
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
