/** The errno codes of a disk that cannot take a write, as errors the CLI reports (exit 1 or 2, never 70). */
import { DiskError, UsageError } from "../errors";

/** The errno codes that mean "the disk cannot take this write". */
const DISK_CODES: Record<string, string> = {
  ENOSPC: "disk full",
  EDQUOT: "disk quota exhausted",
  EROFS: "read-only file system",
};

/**
 * Turns ENOSPC/EDQUOT/EROFS into a DiskError naming `path`, ENAMETOOLONG into a UsageError (exit 2: a
 * name the file system cannot hold); any other error is returned unchanged.
 */
export function diskError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && code in DISK_CODES) return new DiskError(path, DISK_CODES[code], code);
  if (code === "ENAMETOOLONG")
    return new UsageError(
      `file name too long for the file system: ${path} (ENAMETOOLONG: at most 255 bytes per name, 4095 per path)`,
      "shorten the service or project name, or move the project to a folder with a shorter path",
    );
  return e;
}
