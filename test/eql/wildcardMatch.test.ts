import { describe, expect, it } from "vitest";
import { wildcardTest } from "../../src/eql/patterns.js";
import { wildcardToRegExpSource } from "../../src/eql/wildcard.js";
import { wildcardMatcher } from "../../src/eql/wildcardMatch.js";
import { seededRandom, type SeededRandom } from "../helpers/seededRandom.js";

/** The reference: the backtracking RegExp the engine used before (fine on short inputs). */
function reference(pattern: string, caseInsensitive: boolean): (s: string) => boolean {
  const re = new RegExp(wildcardToRegExpSource(pattern), caseInsensitive ? "iu" : "u");
  return (s) => re.test(s);
}

// Letters whose case-insensitive equality differs between folding schemes (Kelvin sign, long s, final sigma,
// Deseret capital/small), surrogate pairs and lone surrogates, and characters special in RegExps.
const ALPHABET = [
  "a", "b", "c", "A", "B", "k", "K", "\u212a", "s", "S", "\u017f", "é", "É", "σ", "Σ", "ς", "ß", "\u1e9e", "İ", "i",
  "😀", "\u{10400}", "\u{10428}", "\ud83d", "\ude00", "\n", ".", "\\", "[", "$",
];

function randomText(rng: SeededRandom, maxLength: number, extra: readonly string[] = []): string {
  const chars = [...ALPHABET, ...extra];
  let out = "";
  const length = rng.int(maxLength + 1);
  for (let i = 0; i < length; i++) out += rng.pick(chars);
  return out;
}

/** A string the pattern should match: each `*` becomes random text, each `?` one random character. */
function instance(rng: SeededRandom, pattern: string): string {
  let out = "";
  for (const ch of pattern) {
    if (ch === "*") out += randomText(rng, 3);
    else if (ch === "?") out += rng.pick(ALPHABET);
    else out += ch;
  }
  return out;
}

/** Flips the case of some characters (both ways), so that case-insensitive matches are exercised. */
function recase(rng: SeededRandom, s: string): string {
  let out = "";
  for (const ch of s) out += rng.int(2) === 0 ? ch : rng.int(2) === 0 ? ch.toUpperCase() : ch.toLowerCase();
  return out;
}

describe("wildcardMatcher equals the RegExp it replaces", () => {
  for (const caseInsensitive of [false, true]) {
    it(`on random patterns and inputs (${caseInsensitive ? "case-insensitive" : "case-sensitive"})`, () => {
      const rng = seededRandom(caseInsensitive ? 1201 : 1202);
      let matches = 0;
      for (let round = 0; round < 4000; round++) {
        const pattern = randomText(rng, 7, ["*", "*", "?", "?"]);
        const ours = wildcardMatcher(pattern, caseInsensitive);
        const theirs = reference(pattern, caseInsensitive);
        const inputs = [randomText(rng, 8), instance(rng, pattern), recase(rng, instance(rng, pattern)), pattern];
        for (const input of inputs) {
          const expected = theirs(input);
          if (expected) matches++;
          expect(ours(input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`).toBe(expected);
        }
      }
      // The cases include plenty of matches, not only misses.
      expect(matches).toBeGreaterThan(4000);
    });
  }

  it("through wildcardTest (the engine's entry point), for every kind of pattern", () => {
    const rng = seededRandom(1203);
    for (let round = 0; round < 3000; round++) {
      const pattern = randomText(rng, 6, ["*", "*", "?"]);
      const caseInsensitive = rng.int(2) === 0;
      const test = wildcardTest(pattern, caseInsensitive);
      const theirs = reference(pattern, caseInsensitive);
      for (const input of [instance(rng, pattern), recase(rng, instance(rng, pattern)), randomText(rng, 6)]) {
        // Star-only patterns fold per UTF-16 unit (foldCase), as they always did; compare them on inputs where
        // that and `iu` agree: no letter with a special folding.
        if (!pattern.includes("?") && /[\u0080-\uffff]/.test(pattern + input)) continue;
        expect(test(input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`).toBe(theirs(input));
      }
    }
  });

  it("on the adversarial patterns, with near-miss and matching inputs", () => {
    const cases: Array<[string, string[]]> = [
      ["*a*b*c?", ["ab".repeat(120), `${"ab".repeat(120)}c`, `${"ab".repeat(120)}cx`, `${"ab".repeat(120)}c😀`]],
      ["*scp *127.0.0.?:/*", ["scp 127.0.0.1 ".repeat(40), `${"scp 127.0.0.1 ".repeat(40)}127.0.0.9:/`, "scp x127.0.0.😀:/"]],
      ["*?*?*?x", ["a".repeat(300), `${"a".repeat(300)}x`, "aax", "aaax", "😀😀😀x", "😀😀x"]],
      ["*?a?a?a?b*", ["a".repeat(300), `${"a".repeat(300)}b`, "xaaaaaab"]],
      ["?*?*?", ["", "a", "ab", "abc", "😀😀", "😀😀😀", "\ud83d\ude00\ud83d"]],
      ["*a?", ["a😀", "a\ud83d\ude00x", "a\ude00", "a"]],
      ["*\ude00", ["\ud83d\ude00", "x\ude00"]],
      ["\ud83d*", ["\ud83d\ude00", "\ud83dx"]],
      // A middle segment is found by its longest text; what comes before that text must be checked too.
      ["*ab?abc*", ["xxabc", "xxxxabc", "abxxabc", "xxab-abc", "abzabcx", "a😀abc", "ab😀abc", "xabqabqabc"]],
      ["*x?y*yz?z*", ["x-yz-z", "x-yyz-z", "xxyyzzz", "yz-z"]],
    ];
    for (const [pattern, inputs] of cases) {
      for (const caseInsensitive of [false, true]) {
        const ours = wildcardMatcher(pattern, caseInsensitive);
        const theirs = reference(pattern, caseInsensitive);
        for (const input of [...inputs, ...inputs.map((s) => s.toUpperCase())]) {
          expect(ours(input), `${pattern} on ${JSON.stringify(input.slice(0, 40))}`).toBe(theirs(input));
        }
      }
    }
  });

  it("folds case as the `iu` RegExp did: Kelvin sign, long s, final sigma, Deseret", () => {
    expect(wildcardMatcher("?K*", true)("x\u212a")).toBe(true);
    expect(wildcardMatcher("?s*", true)("x\u017f")).toBe(true);
    expect(wildcardMatcher("?σ*", true)("xς")).toBe(true);
    expect(wildcardMatcher("?\u{10400}*", true)("x\u{10428}")).toBe(true);
    expect(wildcardMatcher("?\u{10400}*", false)("x\u{10428}")).toBe(false);
    expect(wildcardMatcher("?i", true)("xİ")).toBe(false);
  });

  it("takes a surrogate pair as one character for `?`, and never matches half of one", () => {
    expect(wildcardMatcher("a?b", false)("a😀b")).toBe(true);
    expect(wildcardMatcher("a??b", false)("a😀b")).toBe(false);
    expect(wildcardMatcher("*\ude00", false)("\ud83d\ude00")).toBe(false);
    expect(wildcardMatcher("?\ude00", false)("\ud83d\ude00")).toBe(false);
  });
});

describe("wildcardMatcher on long inputs", () => {
  it("decides 1 MB near misses (a backtracking RegExp would not finish)", () => {
    const aMegabyte = "ab".repeat(512 * 1024);
    expect(wildcardMatcher("*a*b*c?", true)(aMegabyte)).toBe(false);
    expect(wildcardMatcher("*a*b*c?", true)(`${aMegabyte}cz`)).toBe(true);
    expect(wildcardMatcher("*?*?*?x", false)("a".repeat(1 << 20))).toBe(false);
    const scp = "scp 127.0.0.1 ".repeat(75_000);
    expect(wildcardMatcher("*scp *127.0.0.?:/*", true)(scp)).toBe(false);
    expect(wildcardMatcher("*scp *127.0.0.?:/*", true)(`${scp}127.0.0.2:/etc`)).toBe(true);
  });
});
