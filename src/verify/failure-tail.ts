/** The failure tail shown by restart, start and verify for a program that failed: both logs in time order. */
import type { Backend } from "../backend/types";
import { foldRepeats, mergeLogs, readSource, type LogSource } from "../inspect/log-merge";
import type { Instance, Service } from "../model/types";

/**
 * The last `lines` lines of a program's stdout and stderr together, in time order (../inspect/log-merge.ts),
 * with a traceback repeated by start retries folded into one with a count. Reads the log files the
 * generated configuration names; where they cannot be read (a journal-only unit, a test's scripted
 * backend) asks the backend for each stream. "" when neither has anything.
 */
export async function logTail(backend: Backend, service: Service | Instance | string, lines = 12): Promise<string> {
  // a Service is its instance 0 (program NAME, or NAME@0 with `instances`)
  const target = typeof service === "string" ? service : "instances" in service ? service.instances[0] : service;
  const name = typeof target === "string" ? target : target.program;
  const sources: LogSource[] = [];
  if (typeof target !== "string") {
    const files = [
      [target.stdoutLog, "stdout"],
      [target.stderrLog, "stderr"],
    ] as const;
    for (const [path, stream] of files.filter(([p], i) => i === 0 || p !== files[0][0])) {
      const source = readSource(path, name, stream, 200);
      if (source) sources.push(source);
    }
  }
  if (!sources.length) {
    for (const stream of ["stdout", "stderr"] as const) {
      try {
        const text = (await backend.tailLog(name, stream, 16_000)).trimEnd();
        if (text) sources.push({ label: name, stream, lines: text.split("\n").slice(-200), mtimeMs: 0 });
      } catch {
        /* try the other stream */
      }
    }
  }
  const merged = foldRepeats(mergeLogs(sources));
  return merged
    .slice(-lines)
    .map((l) => l.text)
    .join("\n")
    .trimEnd();
}
