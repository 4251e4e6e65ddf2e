/** "Did you mean": the known names closest to an unknown one (edit distance, then shared prefix). */

/** Levenshtein distance between a and b (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * Up to `limit` names from `known` close to `name`: within an edit distance of max(2, length/3),
 * or containing it / contained in it; closest first.
 */
export function closestNames(name: string, known: Iterable<string>, limit = 3): string[] {
  const wanted = name.toLowerCase();
  const scored: Array<[string, number]> = [];
  for (const candidate of known) {
    const lower = candidate.toLowerCase();
    let score = editDistance(wanted, lower);
    if (wanted.length >= 3 && (lower.includes(wanted) || wanted.includes(lower))) score = Math.min(score, 1.5);
    if (score <= Math.max(2, Math.floor(wanted.length / 3))) scored.push([candidate, score]);
  }
  return scored
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([candidate]) => candidate);
}
