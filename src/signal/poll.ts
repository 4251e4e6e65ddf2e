/** Waiting without fixed sleeps: poll a condition with a growing delay, bounded by a timeout. */
import { isAlive } from "../inspect/processes";

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `done` with a growing delay (`firstDelayMs`, ×1.5 each time, up to `maxDelayMs`) until it returns
 * true or `timeoutMs` has passed. Returns whether `done` became true.
 */
export async function pollUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  options: { firstDelayMs?: number; maxDelayMs?: number } = {},
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let delay = options.firstDelayMs ?? 5;
  const max = options.maxDelayMs ?? 100;
  for (;;) {
    if (await done()) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 1.5, max);
  }
}

/**
 * Waits until `pid` is gone (or a zombie, or replaced: see `startTime`) and returns true, or false after
 * `timeoutMs`. Polls every 1 ms at first, growing up to 50 ms, so a fast exit is seen at once.
 */
export function waitForExit(pid: number, timeoutMs: number, startTime?: number): Promise<boolean> {
  return pollUntil(() => !isAlive(pid, startTime), timeoutMs, { firstDelayMs: 1, maxDelayMs: 50 });
}
