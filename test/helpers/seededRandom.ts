/**
 * A seeded generator for randomized tests (mulberry32): the same cases on every run, and low bits as random as
 * its high ones, which `seed % n` from a plain linear congruential generator is not (its low bits repeat with a
 * short period and starve some choices).
 */
export interface SeededRandom {
  /** An integer from 0 to n - 1. */
  int(n: number): number;
  /** One element of xs. */
  pick<T>(xs: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed | 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    int: (n) => next() % n,
    pick: (xs) => xs[next() % xs.length],
  };
}
