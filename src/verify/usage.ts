/**
 * CPU % and resident memory of a program: pidusage per PID, summed over the program's processes.
 * Each PID is asked on its own so that one that vanished does not zero the others.
 */
import pidusage from "pidusage";

/** Resource use of one program, summed over its processes. */
export interface Usage {
  /** CPU percent (100 = one core) summed over the processes */
  cpu: number;
  /** resident memory in bytes summed over the processes */
  memoryBytes: number;
  /** PIDs that could be measured */
  measured: number;
}

/** CPU % and RSS (bytes) summed over `pids` (pidusage); PIDs that vanished are skipped; undefined when none could be measured. Never throws. */
export async function processUsage(pids: Iterable<number>): Promise<Usage | undefined> {
  const results = await Promise.allSettled([...pids].map((pid) => pidusage(pid)));
  let cpu = 0;
  let memoryBytes = 0;
  let measured = 0;
  for (const r of results) {
    if (r.status !== "fulfilled") continue;
    cpu += r.value.cpu;
    memoryBytes += r.value.memory;
    measured++;
  }
  return measured ? { cpu, memoryBytes, measured } : undefined;
}

/** Bytes as "12.3 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(1)} ${units[i]}`;
}
