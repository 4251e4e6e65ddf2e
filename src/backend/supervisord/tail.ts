/** Reading the end of a log file without loading the whole file. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/**
 * The last `bytes` bytes of a file as UTF-8, dropping a character cut in half at the start (at most
 * 3 continuation bytes). Reads only the tail, so a large log costs nothing.
 * @throws the fs error (e.g. ENOENT) when the file cannot be read.
 */
export function tailFile(path: string, bytes: number): string {
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
