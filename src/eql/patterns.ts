/**
 * String matchers for `:`, `like` and `regex`, specialised per pattern: a pattern without wildcards is an
 * (optionally case-folded) equality, `abc*` a prefix test, `*abc` a suffix test, `*abc*` a substring test,
 * other star-only patterns a left-to-right search of their pieces; a pattern with `?` goes to wildcardMatcher
 * and a regex to luceneRegexMatcher. Every matcher runs in time linear in the input (times the pattern), so no
 * field value can stall the engine. Lists of patterns are OR-ed.
 */
import { luceneRegexMatcher } from "./luceneAutomaton.js";
import { equalsFolded, foldCase, regionEqualsFolded } from "./values.js";
import { wildcardMatcher } from "./wildcardMatch.js";

export type StringTest = (s: string) => boolean;

function startsWithFolded(s: string, folded: string): boolean {
  return s.length >= folded.length && regionEqualsFolded(s, 0, folded);
}

function endsWithFolded(s: string, folded: string): boolean {
  return s.length >= folded.length && regionEqualsFolded(s, s.length - folded.length, folded);
}

/** A matcher for one EQL wildcard pattern (`*` any run, `?` one character, all else literal, whole string). */
export function wildcardTest(pattern: string, caseInsensitive: boolean): StringTest {
  const hasQuestion = pattern.includes("?");
  const stars = pattern.split("*");
  if (!hasQuestion) {
    if (stars.length === 1) {
      if (!caseInsensitive) return (s) => s === pattern;
      const folded = foldCase(pattern);
      return (s) => equalsFolded(s, folded);
    }
    const inner = stars.slice(1, -1);
    const head = stars[0];
    const tail = stars[stars.length - 1];
    if (inner.every((p) => p === "")) {
      // `head*tail`, `*tail`, `head*`, `*mid*` (inner empties mean consecutive stars)
      if (stars.length === 3 && head === "" && tail === "" ) {
        const mid = stars[1];
        if (!caseInsensitive) return (s) => s.includes(mid);
        if (mid === "") return () => true;
        const re = new RegExp(escapeRegExp(mid), "i");
        return (s) => re.test(s);
      }
      if (stars.length === 2 || inner.length > 0) {
        const min = head.length + tail.length;
        if (!caseInsensitive) return (s) => s.length >= min && s.startsWith(head) && s.endsWith(tail);
        const fh = foldCase(head);
        const ft = foldCase(tail);
        return (s) => s.length >= min && startsWithFolded(s, fh) && endsWithFolded(s, ft);
      }
    }
  }
  if (!hasQuestion) return starSegmentsTest(stars, caseInsensitive);
  return wildcardMatcher(pattern, caseInsensitive);
}

const NON_ASCII = /[^\0-\x7f]/;

let memoIn = "";
let memoOut = "";

/** foldCase with a one-entry memo: several patterns in a row test the same field value of the same event. */
function foldCaseMemo(s: string): string {
  if (s !== memoIn) {
    memoIn = s;
    memoOut = foldCase(s);
  }
  return memoOut;
}

/**
 * `a*b*c` without `?`: prefix, suffix, and the middle pieces found left to right (greedy leftmost is exact
 * for star-only patterns), linear time where a backtracking RegExp is not.
 */
function starSegmentsTest(stars: readonly string[], caseInsensitive: boolean): StringTest {
  const pieces = caseInsensitive ? stars.map(foldCase) : [...stars];
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((p) => p !== "");
  const min = pieces.reduce((n, p) => n + p.length, 0);
  // Case-insensitively, an all-ASCII input is searched as it is, with `gi` RegExps (on ASCII input plain `i`
  // folds as foldCase does, and a non-ASCII piece matches no ASCII text under either), rather than folded to a
  // lower-case copy: no megabyte allocated per test of a megabyte.
  const asciiSearches = middle.map((p) => new RegExp(escapeRegExp(p), "gi"));
  return (input) => {
    if (input.length < min) return false;
    if (caseInsensitive && !NON_ASCII.test(input)) {
      if (!startsWithFolded(input, head) || !endsWithFolded(input, tail)) return false;
      let from = head.length;
      const end = input.length - tail.length;
      for (const search of asciiSearches) {
        search.lastIndex = from;
        if (!search.test(input) || search.lastIndex > end) return false;
        from = search.lastIndex;
      }
      return true;
    }
    const s = caseInsensitive ? foldCaseMemo(input) : input;
    if (!s.startsWith(head) || !s.endsWith(tail)) return false;
    let from = head.length;
    const end = s.length - tail.length;
    for (const piece of middle) {
      const at = s.indexOf(piece, from);
      if (at < 0 || at + piece.length > end) return false;
      from = at + piece.length;
    }
    return true;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A matcher for a Lucene regular expression (whole-string match). The checker has validated it. */
export function regexTest(pattern: string, caseInsensitive: boolean): StringTest {
  return luceneRegexMatcher(pattern, caseInsensitive);
}

/** OR of several matchers; exact case-insensitive patterns in long lists go through one Set lookup. */
export function anyTest(tests: StringTest[]): StringTest {
  if (tests.length === 1) return tests[0];
  if (tests.length === 2) {
    const [a, b] = tests;
    return (s) => a(s) || b(s);
  }
  return (s) => {
    for (let i = 0; i < tests.length; i++) if (tests[i](s)) return true;
    return false;
  };
}

/** Matchers for a pattern list, merging plain (wildcard-free) patterns into one Set when there are many. */
export function patternListTest(
  op: ":" | "like" | "regex",
  caseInsensitive: boolean,
  patterns: readonly string[],
): StringTest {
  if (op === "regex") return anyTest(patterns.map((p) => regexTest(p, caseInsensitive)));
  const plain = patterns.filter((p) => !p.includes("*") && !p.includes("?"));
  const wild = patterns.filter((p) => p.includes("*") || p.includes("?"));
  const tests: StringTest[] = wild.map((p) => wildcardTest(p, caseInsensitive));
  if (plain.length > 6) {
    const set = new Set(caseInsensitive ? plain.map(foldCase) : plain);
    const lengths = new Set(plain.map((p) => p.length));
    tests.unshift(caseInsensitive ? (s) => lengths.has(s.length) && set.has(foldCase(s)) : (s) => set.has(s));
  } else {
    tests.unshift(...plain.map((p) => wildcardTest(p, caseInsensitive)));
  }
  return anyTest(tests);
}
