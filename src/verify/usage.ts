/**
 * CPU % and resident memory of a program, summed over the program's processes. Linux: read from
 * /proc/PID/stat (utime + stime over the time since the process started, the figure pidusage gives on
 * its first call) and /proc/PID/status (VmRSS), with no process spawned — pidusage spawns `getconf`
 * twice per run for the clock tick and page size. USER_HZ, the unit of those /proc times, is 100 on
 * every architecture Node runs on (proc(5) "/proc/pid/stat"; time(7) "The software clock, HZ, and
 * jiffies"). Elsewhere: pidusage per PID. Each PID is asked on its own so that one that vanished does
 * not zero the others.
 */
import { readFileSync } from "node:fs";

/** USER_HZ: clock ticks per second of /proc/PID/stat times. */
const USER_HZ = 100;

function procUsage(pid: number, uptimeSeconds: number): { cpu: number; memory: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    const busy = (Number(f[11]) + Number(f[12])) / USER_HZ; // utime (14), stime (15)
    const ran = uptimeSeconds - Number(f[19]) / USER_HZ; // starttime (22)
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpu: ran > 0 ? (busy / ran) * 100 : 0, memory: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

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
  if (process.platform === "linux") {
    let uptime: number;
    try {
      uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    } catch {
      uptime = NaN;
    }
    if (Number.isFinite(uptime)) {
      let cpu = 0,
        memoryBytes = 0,
        measured = 0;
      for (const pid of pids) {
        const u = procUsage(pid, uptime);
        if (!u) continue;
        cpu += u.cpu;
        memoryBytes += u.memory;
        measured++;
      }
      return measured ? { cpu, memoryBytes, measured } : undefined;
    }
  }
  // loaded only here: importing pidusage costs tens of ms at startup, and Linux never needs it
  const { default: pidusage } = await import("pidusage");
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
