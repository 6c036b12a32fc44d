import { describe, expect, it } from "vitest";
import { sortPrefix } from "../../src/eql/sortPrefix.js";

describe("sortPrefix", () => {
  it("sorts the first n elements ascending and leaves the rest alone, short and long prefixes alike", () => {
    let seed = 11;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 500; k++) {
      const length = 1 + next(40);
      const n = next(length + 1);
      const a = Int32Array.from({ length }, () => next(30) - 10);
      const before = Array.from(a);
      sortPrefix(a, n);
      expect(Array.from(a.subarray(0, n))).toEqual(before.slice(0, n).sort((x, y) => x - y));
      expect(Array.from(a.subarray(n))).toEqual(before.slice(n));
    }
  });
});
