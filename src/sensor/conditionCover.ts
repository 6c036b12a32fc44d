/**
 * What a rule condition's field tests say about the events it can match, as a "cover" of some kind (the exec and
 * AUTH_OPEN pre-filters' items, the Linux guards' directories): a conjunction keeps its narrowest operand, a
 * disjunction needs all of its branches, `false` matches nothing, and `field == "text"`, `field in (…)` and
 * `field : "pattern"` over string literals give one atom per text. Anything else says nothing ("any").
 */
import type { Expr } from "../eql/ast.js";

export interface CoverKind<T> {
  /** Matches nothing. */
  none(): T;
  /** What `field == text` covers (`field : text` when `wildcards`, the text possibly holding * and ?); "any" for nothing said. */
  atom(field: string, text: string, wildcards: boolean): T | "any";
  union(a: T, b: T): T;
  /** Whether cover a is narrower than b: a conjunction keeps its narrowest operand (the first of equals). */
  narrower(a: T, b: T): boolean;
  /** The fields atoms are asked for (default every field); a test on another says nothing. */
  fields?: readonly string[];
}

export function conditionCover<T>(expr: Expr, kind: CoverKind<T>): T | "any" {
  switch (expr.kind) {
    case "and": {
      const parts = expr.operands.map((e) => conditionCover(e, kind)).filter((c): c is T => c !== "any");
      if (parts.length === 0) return "any";
      return parts.reduce((best, c) => (kind.narrower(c, best) ? c : best));
    }
    case "or": {
      let acc = kind.none();
      for (const operand of expr.operands) {
        const c = conditionCover(operand, kind);
        if (c === "any") return "any";
        acc = kind.union(acc, c);
      }
      return acc;
    }
    case "literal":
      return expr.value === false || expr.value === null ? kind.none() : "any";
    case "comparison":
      if (expr.op !== "==") return "any";
      return fieldCover(expr.left, [expr.right], false, kind) ?? fieldCover(expr.right, [expr.left], false, kind) ?? "any";
    case "in":
      return fieldCover(expr.subject, expr.values, false, kind) ?? "any";
    case "pattern":
      if (expr.op === "regex") return "any";
      return fieldCover(expr.subject, expr.patterns, true, kind) ?? "any";
    default:
      return "any";
  }
}

/** A field tested against literals: the union of their atoms; undefined when this is no such test. */
function fieldCover<T>(subject: Expr, values: Expr[], wildcards: boolean, kind: CoverKind<T>): T | "any" | undefined {
  if (subject.kind !== "field") return undefined;
  const field = subject.path.join(".");
  if (kind.fields !== undefined && !kind.fields.includes(field)) return undefined;
  let acc = kind.none();
  for (const v of values) {
    if (v.kind !== "literal") return undefined;
    if (v.type === "null") continue;
    if (typeof v.value !== "string") return undefined;
    const atom = kind.atom(field, v.value, wildcards);
    if (atom === "any") return "any";
    acc = kind.union(acc, atom);
  }
  return acc;
}
