/** Small wording helpers for the lines procedures emit: durations and counted nouns. */

/** Milliseconds as "850 ms" or "2.4 s". */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "1 service", "3 services"; `plural` defaults to word + "s" ("process" → pass "processes"). */
export function counted(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}
