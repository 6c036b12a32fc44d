/**
 * Case-insensitive equality of code points exactly as a JavaScript RegExp with flags `iu` has it (Unicode simple
 * case folding: `k`, `K` and the Kelvin sign are one, so are `s`, `S` and `ſ`). The `?` wildcards and `regex~`
 * were once `iu` RegExps; the linear-time matchers fold with this so that they match what those did. (The other
 * case-insensitive comparisons use foldCase in values.ts, per UTF-16 code unit.)
 */
import { CASE_CLASSES } from "./caseClasses.js";

/** Each code point in a class of two or more → the class (sorted). */
const classOf = new Map<number, readonly number[]>();
/** Each code point in a class → the one that stands for the class: its ASCII lower-case letter, else its smallest. */
const canonicalOf = new Map<number, number>();

for (const text of CASE_CLASSES.split(";")) {
  if (text === "") continue;
  const members = text.split(",").map((hex) => parseInt(hex, 16));
  const ascii = members.find((cp) => cp >= 0x61 && cp <= 0x7a);
  const canonical = ascii ?? members[0];
  for (const cp of members) {
    classOf.set(cp, members);
    canonicalOf.set(cp, canonical);
  }
}

const ASCII_CANONICAL = Uint8Array.from({ length: 128 }, (_, c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c));

/** The code point standing for every code point case-equal to `cp`. */
export function canonicalCodePoint(cp: number): number {
  return cp < 128 ? ASCII_CANONICAL[cp] : (canonicalOf.get(cp) ?? cp);
}

/** Every code point case-equal to `cp`, itself included. */
export function caseVariants(cp: number): readonly number[] {
  return classOf.get(cp) ?? [cp];
}

const NON_ASCII = /[^\0-\x7f]/;

/**
 * `s` with every code point replaced by canonicalCodePoint: two strings are equal under `iu` exactly when their
 * canonical forms are equal, code point by code point. Lone surrogates stay as they are; no new pair can form
 * (a canonical code point is never a surrogate).
 */
export function canonicalString(s: string): string {
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  const parts: string[] = [];
  let codes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    const canonical = canonicalCodePoint(cp);
    if (canonical > 0xffff) {
      codes.push(0xd800 + ((canonical - 0x10000) >> 10), 0xdc00 + ((canonical - 0x10000) & 0x3ff));
    } else {
      codes.push(canonical);
    }
    if (codes.length >= 8192) {
      parts.push(String.fromCharCode(...codes));
      codes = [];
    }
  }
  parts.push(String.fromCharCode(...codes));
  return parts.join("");
}
