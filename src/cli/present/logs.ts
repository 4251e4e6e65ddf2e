/** logs: the tail of a service's log files, optionally followed (reads the files supervisord/systemd append to). */
import { closeSync, openSync, readSync, statSync, watch } from "node:fs";
import type { Context } from "../context";
import { tailLines } from "../../inspect/log-tail";
import type { Service } from "../../model/types";

/** Prints the tails, then (with follow) every new byte appended, until interrupted. */
export async function followLog(
  ctx: Context,
  service: Service,
  options: { lines: number; follow: boolean; stderrOnly: boolean },
): Promise<void> {
  const files = options.stderrOnly ? [service.stderrLog] : [service.stdoutLog, service.stderrLog];
  for (const f of files) {
    const text = tailLines(f, options.lines);
    ctx.stdout.write(`==> ${f} <==\n${text || "(empty)\n"}`);
  }
  if (!options.follow) return;
  const offsets = new Map(files.map((f) => [f, safeSize(f)]));
  await new Promise<void>(() => {
    const poll = () => {
      for (const f of files) {
        const size = safeSize(f);
        const from = offsets.get(f)!;
        if (size < from)
          offsets.set(f, 0); // rotated
        else if (size > from) {
          const fd = openSync(f, "r");
          const buffer = Buffer.alloc(size - from);
          readSync(fd, buffer, 0, buffer.length, from);
          closeSync(fd);
          offsets.set(f, size);
          ctx.stdout.write(buffer.toString("utf8"));
        }
      }
    };
    for (const f of files) {
      try {
        watch(f, poll);
      } catch {
        /* file may appear later; the interval covers it */
      }
    }
    setInterval(poll, 500);
  });
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
