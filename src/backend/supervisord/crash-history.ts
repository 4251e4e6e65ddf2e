/**
 * Crash history of supervisord's programs: restarts since supervisord started and the last exit (code or
 * signal, when, how long the process had run), read from supervisord's own activity log.
 *
 * Why the log: supervisord keeps no restart counter, and its XML-RPC `getProcessInfo` holds only the last
 * run (`exitstatus`, `stop`; a signal reads as exit status -1… or not at all after a BACKOFF). Its activity
 * log, written by supervisord itself at loglevel info (the default; supervisord docs, "[supervisord]
 * Section Settings", loglevel), has a line for every transition of every process (supervisor/process.py):
 *   `spawned: 'NAME' with pid N`, `success: NAME entered RUNNING state, …`,
 *   `exited: NAME (exit status N; not expected)` / `(terminated by SIGKILL; expected)`,
 *   `stopped: NAME (terminated by SIGTERM)` (a requested stop), `gave up: NAME entered FATAL state, …`,
 * and `supervisord started with pid N` when it starts. An event listener would see the same transitions
 * but only while it runs; the log also holds those before orchestrate looked.
 *
 * Counting: a restart is a `spawned` that follows an `exited` of the same program (supervisord's own
 * autorestart or BACKOFF retry), counted since the last `supervisord started` line — the same thing systemd
 * counts in NRestarts (systemd.service(5), "Restart="). A requested stop then start is not a restart.
 * Times are supervisord's local time (`%Y-%m-%d %H:%M:%S,mmm`).
 */
import { tailBytes } from "../../inspect/log-tail";
import type { CrashHistory } from "../types";

/** How much of the end of the log is read first, and at most, bytes: supervisord's start is usually near the end. */
const FIRST_BYTES = 256 * 1024;
const MAX_BYTES = 8 * 1024 * 1024;

const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) \w+ (.*)$/;

/**
 * Crash history of every program named in the log since supervisord last started, by program name.
 * `complete` is false when the start of supervisord's run was not in the part read (counts are then a floor).
 */
export function parseCrashHistory(text: string): { programs: Map<string, CrashHistory>; complete: boolean } {
  const lines = text.split("\n");
  let from = -1;
  for (let i = lines.length - 1; i >= 0; i--)
    if (/ supervisord started with pid \d+/.test(lines[i])) {
      from = i;
      break;
    }
  const programs = new Map<string, CrashHistory>();
  const last = new Map<string, "spawned" | "exited" | "stopped" | "gave up">();
  const spawnedAt = new Map<string, number>();
  for (const line of lines.slice(from + 1)) {
    const m = LINE.exec(line);
    if (!m) continue;
    const at = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]).getTime();
    const msg = m[8];
    let e: RegExpExecArray | null;
    if ((e = /^spawned: '(.+)' with pid \d+$/.exec(msg))) {
      const h = entry(programs, e[1]);
      if (last.get(e[1]) === "exited") h.restarts++;
      last.set(e[1], "spawned");
      spawnedAt.set(e[1], at);
    } else if ((e = /^(exited|stopped): (.+) \((.*)\)$/.exec(msg))) {
      const name = e[2];
      const h = entry(programs, name);
      const started = spawnedAt.get(name);
      const code = /exit status (\d+)/.exec(e[3]);
      const signal = /terminated by (SIG\w+)/.exec(e[3]);
      h.lastExit = {
        at,
        code: code ? Number(code[1]) : undefined,
        signal: signal ? signal[1] : undefined,
        ranSeconds: started !== undefined ? Math.max(0, (at - started) / 1000) : undefined,
        expected: e[1] === "stopped" ? true : !/not expected/.test(e[3]),
        requested: e[1] === "stopped",
      };
      last.set(name, e[1] as "exited" | "stopped");
    } else if ((e = /^gave up: (.+) entered FATAL state/.exec(msg))) {
      entry(programs, e[1]);
      last.set(e[1], "gave up");
    }
  }
  return { programs, complete: from >= 0 };
}

function entry(map: Map<string, CrashHistory>, name: string): CrashHistory {
  let h = map.get(name);
  if (!h) map.set(name, (h = { restarts: 0 }));
  return h;
}

/**
 * {@link parseCrashHistory} of the end of the log file at `path`, reading more of it until supervisord's
 * last start is found (at most 8 MiB); an empty history when it cannot be read.
 */
export function readCrashHistory(path: string): Map<string, CrashHistory> {
  for (let bytes = FIRST_BYTES; ; bytes *= 4) {
    let text: string;
    try {
      text = tailBytes(path, bytes);
    } catch {
      return new Map();
    }
    const parsed = parseCrashHistory(text);
    // the whole run since supervisord started was read, or the whole file, or as much as we read at most
    if (parsed.complete || Buffer.byteLength(text) < bytes - 4 || bytes >= MAX_BYTES) return parsed.programs;
  }
}
