/** "Did you mean" for every user-typed name: fields, configuration keys, command-line flags and commands. */

/**
 * The candidate nearest to `name` by edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours each cost 1), if it is at most a quarter of the name's length, between 2 and 4 (typos are a few
 * edits; a name further away is a different field, not a misspelling); ties go to the first candidate.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.min(4, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  const rows = new EditRows(name.length + limit + 2);
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const d = rows.distance(name, candidate, bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal-string-alignment distance between a and b, or `cap` when it is `cap` or more. */
export function editDistance(a: string, b: string, cap = Math.max(a.length, b.length) + 1): number {
  return new EditRows(b.length + 1).distance(a, b, cap);
}

const FAR = 1 << 20;

/** Three reusable rows of the edit-distance table, computed only within `cap` of the diagonal. */
class EditRows {
  private prev2: Int32Array;
  private prev: Int32Array;
  private row: Int32Array;

  constructor(size: number) {
    this.prev2 = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.row = new Int32Array(size);
  }

  distance(a: string, b: string, cap: number): number {
    const m = a.length;
    const n = b.length;
    if (Math.abs(m - n) >= cap) return cap;
    if (this.row.length < n + 1) {
      this.prev2 = new Int32Array(n + 1);
      this.prev = new Int32Array(n + 1);
      this.row = new Int32Array(n + 1);
    }
    let { prev2, prev, row } = this;
    for (let j = 0; j <= n; j++) prev[j] = j < cap ? j : FAR;
    for (let i = 1; i <= m; i++) {
      const lo = Math.max(1, i - cap);
      const hi = Math.min(n, i + cap);
      row[0] = i < cap ? i : FAR;
      if (lo > 1) row[lo - 1] = FAR;
      let rowMin = row[0];
      for (let j = lo; j <= hi; j++) {
        const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
        let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
        if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
          d = Math.min(d, prev2[j - 2] + 1);
        }
        row[j] = d;
        if (d < rowMin) rowMin = d;
      }
      if (hi < n) row[hi + 1] = FAR;
      if (rowMin >= cap) return cap;
      [prev2, prev, row] = [prev, row, prev2];
    }
    this.prev2 = prev2;
    this.prev = prev;
    this.row = row;
    return Math.min(prev[n], cap);
  }
}
