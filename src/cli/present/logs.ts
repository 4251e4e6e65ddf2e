/**
 * logs: the tail of the log files of the named instances, optionally followed (reads the files
 * supervisord/systemd append to). With `stderr: "merge"` stderr is in the stdout log: shown once.
 */
import { closeSync, openSync, readSync, statSync, watch } from "node:fs";
import type { Context } from "../context";
import { tailLines } from "../../inspect/log-tail";
import type { Target } from "../../model/lookup";

/** Prints the tails, then (with follow) every new byte appended, until interrupted. */
export async function followLog(
  ctx: Context,
  targets: Target[],
  options: { lines: number; follow: boolean; stderrOnly: boolean },
): Promise<void> {
  const files = [
    ...new Set(targets.flatMap(({ instance: i }) => (options.stderrOnly ? [i.stderrLog] : [i.stdoutLog, i.stderrLog]))),
  ];
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
