/**
 * Value semantics shared by the compiler and the functions: what a field value is at event time, equality and
 * ordering across JSON types, and case folding. Elasticsearch compares keyword values exactly (UTF-16 code units
 * here) and numbers numerically; a numeric string meets a number as a number, as a term query on a numeric
 * field parses its operand.
 */

/** A scalar at event time. Arrays (multi-valued fields) are handled by the callers, element by element. */
export type Scalar = string | number | boolean | null;

/** What an expression yields at event time: a scalar, null, or the elements of a multi-valued field. */
export type Value = Scalar | readonly Value[];

/** A field's raw JSON value reduced to the values EQL can see: objects are not values (null). */
export function normalizeFieldValue(raw: unknown): Value {
  if (raw === undefined || raw === null) return null;
  switch (typeof raw) {
    case "string":
    case "number":
    case "boolean":
      return raw;
    default:
      if (Array.isArray(raw)) {
        const out: Value[] = [];
        for (const element of raw) {
          const v = normalizeFieldValue(element);
          if (v === null) continue;
          if (Array.isArray(v)) out.push(...(v as Value[]));
          else out.push(v);
        }
        return out.length === 0 ? null : out.length === 1 ? out[0] : out;
      }
      return null;
  }
}

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** The number a numeric string stands for, or undefined. */
export function numericString(s: string): number | undefined {
  return NUMERIC.test(s) ? Number(s) : undefined;
}

/**
 * Three-way comparison of two scalars; undefined when they cannot be compared (null, or types that don't meet:
 * a comparison against them does not match).
 */
export function compareScalars(a: Scalar, b: Scalar): number | undefined {
  if (a === null || b === null) return undefined;
  const ta = typeof a;
  const tb = typeof b;
  if (ta === tb) {
    if (ta === "boolean") return a === b ? 0 : a ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : a === b ? 0 : undefined;
  }
  if (ta === "number" && tb === "string") {
    const n = numericString(b as string);
    return n === undefined ? undefined : compareScalars(a, n);
  }
  if (ta === "string" && tb === "number") {
    const n = numericString(a as string);
    return n === undefined ? undefined : compareScalars(n, b);
  }
  if (ta === "boolean" && tb === "string") return compareScalars(String(a), b);
  if (ta === "string" && tb === "boolean") return compareScalars(a, String(b));
  return undefined;
}

/** Lower-cases one UTF-16 code unit at a time, so that lengths never change (Java's per-char folding). */
export function foldCase(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const lower = s[i].toLowerCase();
    out += lower.length === 1 ? lower : s[i];
  }
  return out;
}

/** `a` equals `folded` (already case-folded) ignoring case; allocation-free for ASCII. */
export function equalsFolded(a: string, folded: string): boolean {
  return a.length === folded.length && regionEqualsFolded(a, 0, folded);
}

/** `a` holds `folded` (already case-folded) at `offset`, ignoring case. The caller checks the length. */
export function regionEqualsFolded(a: string, offset: number, folded: string): boolean {
  const n = folded.length;
  for (let i = 0; i < n; i++) {
    let c = a.charCodeAt(offset + i);
    const d = folded.charCodeAt(i);
    if (c === d) continue;
    if (c >= 65 && c <= 90) c += 32;
    else if (c > 127) {
      const lower = a[offset + i].toLowerCase();
      if (lower.length === 1) c = lower.charCodeAt(0);
    }
    if (c !== d) return false;
  }
  return true;
}

/** The text of a scalar as concat()/string() render it. */
export function scalarToString(v: Exclude<Scalar, null>): string {
  return typeof v === "string" ? v : String(v);
}

/** Whether a number is an integer for integer-division purposes. */
export function isIntegral(n: number): boolean {
  return Number.isInteger(n);
}
