/**
 * The inter-process lock around every change of the manifest: two add-service calls never read the same
 * manifest and never allocate the same port. proper-lockfile (FACTS.md: 3 processes × 200 locked
 * read-modify-writes gave exactly 600; a lock whose holder was kill -9'd is taken over once stale).
 */
import lockfile from "proper-lockfile";
import { OperationError } from "../errors";

/** How long a waiting command retries before giving up (ms). Long enough for another transaction to finish. */
const WAIT_MS = 180_000;
/** A lock not refreshed for this long (ms) belongs to a dead process. */
const STALE_MS = 10_000;

/**
 * Runs `body` while holding the lock on `manifestPath` (a `manifest.json.lock` folder beside it).
 * `options.waitMs`: how long to wait for another command to finish (default 180000 ms).
 * @throws OperationError when the lock cannot be had in time.
 */
export async function withManifestLock<T>(
  manifestPath: string,
  body: () => Promise<T>,
  options: { waitMs?: number } = {},
): Promise<T> {
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(manifestPath, {
      stale: STALE_MS,
      realpath: false,
      retries: {
        retries: Math.ceil((options.waitMs ?? WAIT_MS) / 250),
        factor: 1,
        minTimeout: 50,
        maxTimeout: 250,
        randomize: true,
      },
    });
  } catch (e) {
    throw new OperationError(
      `cannot lock ${manifestPath}: ${(e as Error).message}`,
      "another orchestrate command is changing the fleet; wait for it, or remove manifest.json.lock if no orchestrate runs",
    );
  }
  try {
    return await body();
  } finally {
    await release().catch(() => undefined);
  }
}
