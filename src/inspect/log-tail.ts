/** Reading the end of a log file without loading the whole file (supervisord and systemd logs, `orchestrate logs`). */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * The last `bytes` bytes of a file as UTF-8, dropping a character cut in half at the start (at most
 * 3 continuation bytes). Reads only the tail, so a large log costs nothing.
 * @throws the fs error (e.g. ENOENT) when the file cannot be read.
 */
export function tailBytes(path: string, bytes: number): string {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, Math.max(0, Math.floor(bytes)));
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    let start = 0;
    while (start < buffer.length && start < 3 && (buffer[start] & 0xc0) === 0x80) start++;
    return buffer.subarray(start).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The last `lines` lines of a file (looking at most at its last 1 MiB); "" when the file is missing or empty. */
export function tailLines(path: string, lines: number): string {
  let text: string;
  try {
    text = tailBytes(path, 1024 * 1024);
  } catch {
    return "";
  }
  if (lines === 0 || text === "") return "";
  const all = (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
  return all.slice(-lines).join("\n") + "\n";
}
