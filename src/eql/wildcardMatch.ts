/**
 * A linear-time matcher for any EQL wildcard pattern (`*` any run, `?` one code point, all else literal, whole
 * string), in time O(input × pattern) whatever the pattern: the pattern is split on `*` into segments of fixed
 * length in code points; the first is matched at the start, the last at the end, and each one between is placed
 * at its leftmost occurrence after the previous one. For fixed-length segments the leftmost occurrence also ends
 * leftmost, so this greedy placement finds a match whenever there is one. (A backtracking RegExp for
 * `*a*b*c?` takes cubic time on a near miss.)
 *
 * Semantics are those of the RegExp it replaces (wildcardToRegExpSource with the `u` flag, plus `i` when
 * case-insensitive): the input and the pattern are sequences of code points (a surrogate pair is one, a lone
 * surrogate is one), and case-insensitive equality is the `iu` one (caseFold.ts).
 */
import { canonicalCodePoint, canonicalString } from "./caseFold.js";

const NON_ASCII = /[^\0-\x7f]/;

/** A run of literal text, or a run of `?` (that many code points). */
type Piece = string | number;

/**
 * One `*`-free part of the pattern, searched for by its anchor (its longest text, the last of equals: in a near
 * miss such as `*?a?a?b*` over "aaaa…" the rarest is more often last) with indexOf: `before` the anchor, the
 * anchor, then `after` it.
 */
interface Segment {
  pieces: Piece[];
  before: Piece[];
  /** "" when the segment is `?`s only. */
  anchor: string;
  after: Piece[];
  /** The length of `before` in code points. */
  beforeLength: number;
  /** Finds the anchor case-insensitively in an all-ASCII input (null when the anchor cannot be in one). */
  asciiSearch: RegExp | null;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The index after the code point at `i`. */
function nextCodePoint(s: string, i: number): number {
  return isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? i + 2 : i + 1;
}

/** The index of the code point that ends at `i`. */
function previousCodePoint(s: string, i: number): number {
  return isLow(s.charCodeAt(i - 1)) && i >= 2 && isHigh(s.charCodeAt(i - 2)) ? i - 2 : i - 1;
}

/** Whether `i` is between two code points (not inside a surrogate pair). */
function isBoundary(s: string, i: number): boolean {
  return i <= 0 || i >= s.length || !(isLow(s.charCodeAt(i)) && isHigh(s.charCodeAt(i - 1)));
}

/** `text` at `at` in `s`, as whole code points; `folded`: `s` is raw and `text` canonical (caseFold.ts). */
function textAt(s: string, at: number, text: string, folded: boolean): boolean {
  if (at < 0 || !isBoundary(s, at) || !isBoundary(s, at + text.length)) return false;
  if (!folded) return s.startsWith(text, at);
  if (at + text.length > s.length) return false;
  // Case-equal code points have equally long UTF-16 forms (the generated table has no class mixing them), so
  // the input is read in the text's widths; a pair split across two of them cannot match (boundaries, above).
  for (let j = 0; j < text.length; ) {
    const expected = text.codePointAt(j) ?? 0;
    const wide = expected > 0xffff;
    const actual = wide ? (s.codePointAt(at + j) ?? 0) : s.charCodeAt(at + j);
    if (actual !== expected && canonicalCodePoint(actual) !== expected) return false;
    j += wide ? 2 : 1;
  }
  return true;
}

/**
 * Matches `pieces` forward from `at`; the index after the match, or -1. `ascii`: `s` is all ASCII (and raw, so
 * `folded`), where a code point is one unit.
 */
function matchForward(s: string, at: number, pieces: readonly Piece[], folded = false, ascii = false): number {
  let i = at;
  for (const piece of pieces) {
    if (typeof piece === "string") {
      if (!textAt(s, i, piece, folded)) return -1;
      i += piece.length;
    } else if (ascii) {
      i += piece;
      if (i > s.length) return -1;
    } else {
      for (let k = 0; k < piece; k++) {
        if (i >= s.length) return -1;
        i = nextCodePoint(s, i);
      }
    }
  }
  return i;
}

/** Matches `pieces` backward so that the match ends at `end`; where the match starts, or -1. */
function matchBackward(s: string, end: number, pieces: readonly Piece[], folded = false, ascii = false): number {
  let i = end;
  for (let p = pieces.length - 1; p >= 0; p--) {
    const piece = pieces[p];
    if (typeof piece === "string") {
      if (!textAt(s, i - piece.length, piece, folded)) return -1;
      i -= piece.length;
    } else if (ascii) {
      i -= piece;
      if (i < 0) return -1;
    } else {
      for (let k = 0; k < piece; k++) {
        if (i <= 0) return -1;
        i = previousCodePoint(s, i);
      }
    }
  }
  return i;
}

/**
 * The end of the leftmost occurrence of `segment` at or after `from`, or -1. `folded`: `s` is an all-ASCII raw
 * input (a code point is one unit) and the segment canonical (the anchor is then found by a case-insensitive RegExp: on ASCII input, plain
 * `i` folds as `iu` does).
 */
function findLeftmost(s: string, from: number, segment: Segment, folded = false): number {
  if (segment.anchor === "") return matchForward(s, from, segment.pieces, folded, folded);
  let at = from;
  for (let k = 0; k < segment.beforeLength; k++) {
    if (at >= s.length) return -1;
    at = folded ? at + 1 : nextCodePoint(s, at);
  }
  // Candidates: the anchor's occurrences left to right (the segment starts a fixed number of code points before
  // its anchor, so the first that fits is the leftmost occurrence); each is checked in O(pattern).
  const search = segment.asciiSearch;
  if (folded && search === null) return -1;
  for (;;) {
    let hit: number;
    if (folded && search !== null) {
      // test(), not exec(): no match object per candidate. An ASCII match is as long as the anchor.
      search.lastIndex = at;
      hit = search.test(s) ? search.lastIndex - segment.anchor.length : -1;
    } else {
      hit = s.indexOf(segment.anchor, at);
    }
    if (hit < 0) return -1;
    if (matchBackward(s, hit, segment.before, folded, folded) >= 0) {
      const end = matchForward(s, hit, segment.after, folded, folded);
      if (end >= 0) return end;
    }
    at = hit + 1;
  }
}

function pieces(codePoints: readonly string[]): Piece[] {
  const out: Piece[] = [];
  for (const ch of codePoints) {
    const last = out[out.length - 1];
    if (ch === "?") {
      if (typeof last === "number") out[out.length - 1] = last + 1;
      else out.push(1);
    } else if (typeof last === "string") {
      out[out.length - 1] = last + ch;
    } else {
      out.push(ch);
    }
  }
  return out;
}

function segmentOf(codePoints: readonly string[]): Segment {
  const all = pieces(codePoints);
  let anchorAt = -1;
  all.forEach((piece, i) => {
    if (typeof piece === "string" && (anchorAt < 0 || piece.length >= (all[anchorAt] as string).length)) anchorAt = i;
  });
  if (anchorAt < 0) return { pieces: all, before: [], anchor: "", after: [], beforeLength: 0, asciiSearch: null };
  const before = all.slice(0, anchorAt);
  const beforeLength = before.reduce<number>((n, p) => n + (typeof p === "number" ? p : [...p].length), 0);
  const anchor = all[anchorAt] as string;
  const asciiSearch = NON_ASCII.test(anchor) ? null : new RegExp(anchor.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"), "gi");
  return { pieces: all, before, anchor, after: all.slice(anchorAt), beforeLength, asciiSearch };
}

/** The pattern's code points, case-folded to canonical code points when case-insensitive. */
function patternCodePoints(pattern: string, caseInsensitive: boolean): string[] {
  const out: string[] = [];
  for (const ch of pattern) {
    out.push(caseInsensitive && ch !== "*" && ch !== "?" ? String.fromCodePoint(canonicalCodePoint(ch.codePointAt(0) ?? 0)) : ch);
  }
  return out;
}

let memoIn = "";
let memoOut = "";

/** canonicalString with a one-entry memo: several patterns in a row test the same field value of one event. */
function canonicalMemo(s: string): string {
  if (s !== memoIn) {
    memoOut = canonicalString(s);
    memoIn = s;
  }
  return memoOut;
}

/** A whole-string matcher for the wildcard pattern, linear in the input for any pattern. */
export function wildcardMatcher(pattern: string, caseInsensitive: boolean): (input: string) => boolean {
  const codePoints = patternCodePoints(pattern, caseInsensitive);
  const parts: string[][] = [[]];
  for (const ch of codePoints) {
    if (ch === "*") parts.push([]);
    else parts[parts.length - 1].push(ch);
  }
  const fold = caseInsensitive ? canonicalMemo : (s: string) => s;
  if (parts.length === 1) {
    const whole = pieces(parts[0]);
    return (input) => {
      const s = fold(input);
      return matchForward(s, 0, whole) === s.length;
    };
  }
  const head = pieces(parts[0]);
  const tail = pieces(parts[parts.length - 1]);
  const middle = parts.slice(1, -1).filter((p) => p.length > 0).map(segmentOf);
  if (caseInsensitive && middle.length === 0) {
    // `head*tail`: only the ends are read, so fold them as they are compared rather than the whole input.
    return (s) => {
      const headEnd = matchForward(s, 0, head, true);
      return headEnd >= 0 && matchBackward(s, s.length, tail, true) >= headEnd;
    };
  }
  return (input) => {
    // Case-insensitively, an all-ASCII input is compared as it is (no folded copy of a megabyte to allocate).
    const folded = caseInsensitive && !NON_ASCII.test(input);
    const s = folded ? input : fold(input);
    const headEnd = matchForward(s, 0, head, folded, folded);
    if (headEnd < 0) return false;
    const tailStart = matchBackward(s, s.length, tail, folded, folded);
    if (tailStart < headEnd) return false;
    let from = headEnd;
    for (const segment of middle) {
      const end = findLeftmost(s, from, segment, folded);
      // A later occurrence would end later still, so past the tail there is no match at all.
      if (end < 0 || end > tailStart) return false;
      from = end;
    }
    return true;
  };
}
