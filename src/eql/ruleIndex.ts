/**
 * A prefilter for rule sets: most detection rules require one field to hold one of a few exact values
 * (`process.name in ("curl", "wget")`, `process.name : "osascript"`). A rule whose condition has such a
 * conjunct at its top level can only match an event whose field holds one of those values, case-folded; the
 * index maps folded values to those rules, so an event is tested only against the rules its value can
 * satisfy (and the rules without such a conjunct). The index is only a necessary condition: candidates still
 * run their full test.
 */
import type { Expr } from "./ast.js";
import { compileFieldGetter, type FieldGetter } from "./fieldAccess.js";
import { foldCase } from "./values.js";

interface Requirement {
  field: string;
  path: string[];
  values: string[];
}

/** The exact values one top-level conjunct requires of a field, or undefined. */
function requirementOf(e: Expr): Requirement | undefined {
  const stringLiterals = (xs: readonly Expr[]): string[] | undefined => {
    const out: string[] = [];
    for (const x of xs) {
      if (x.kind !== "literal" || typeof x.value !== "string") return undefined;
      out.push(x.value);
    }
    return out;
  };
  const field = (x: Expr) => (x.kind === "field" ? { field: x.path.join("\u0000"), path: x.path } : undefined);
  if (e.kind === "comparison" && e.op === "==") {
    const f = field(e.left) ?? field(e.right);
    const lit = e.left.kind === "field" ? e.right : e.left;
    const values = stringLiterals([lit]);
    return f && values ? { ...f, values } : undefined;
  }
  if (e.kind === "in") {
    const f = field(e.subject);
    const values = stringLiterals(e.values);
    return f && values && values.length > 0 ? { ...f, values } : undefined;
  }
  if (e.kind === "pattern" && e.op !== "regex") {
    const f = field(e.subject);
    const values = stringLiterals(e.patterns);
    if (!f || !values || values.some((v) => v.includes("*") || v.includes("?"))) return undefined;
    return { ...f, values };
  }
  return undefined;
}

function requirements(condition: Expr): Requirement[] {
  const conjuncts = condition.kind === "and" ? condition.operands : [condition];
  return conjuncts.flatMap((c) => {
    const r = requirementOf(c);
    return r ? [r] : [];
  });
}

export interface RuleIndex {
  get: FieldGetter;
  /** Rules by folded value. */
  byValue: Map<string, number[]>;
  /** Rules the index covers (tested only when a value of theirs is present, or the field is not all strings). */
  indexed: number[];
  /** Rules the index cannot decide: always tested. */
  unindexed: number[];
}

/** Picks the field most rules require exact values of; null when indexing would not pay. */
export function buildRuleIndex(conditions: readonly Expr[]): RuleIndex | null {
  const perRule = conditions.map(requirements);
  const counts = new Map<string, { count: number; path: string[] }>();
  for (const reqs of perRule) {
    for (const field of new Set(reqs.map((r) => r.field))) {
      const path = reqs.find((r) => r.field === field)?.path ?? [];
      const c = counts.get(field);
      if (c) c.count++;
      else counts.set(field, { count: 1, path });
    }
  }
  let best: { field: string; count: number; path: string[] } | undefined;
  for (const [field, c] of counts) if (!best || c.count > best.count) best = { field, ...c };
  if (!best || best.count < 4) return null;
  const byValue = new Map<string, number[]>();
  const indexed: number[] = [];
  const unindexed: number[] = [];
  perRule.forEach((reqs, i) => {
    const req = reqs.find((r) => r.field === best.field);
    if (!req) {
      unindexed.push(i);
      return;
    }
    indexed.push(i);
    for (const v of new Set(req.values.map(foldCase))) {
      const list = byValue.get(v);
      if (list) list.push(i);
      else byValue.set(v, [i]);
    }
  });
  return { get: compileFieldGetter(best.path), byValue, indexed, unindexed };
}

/**
 * Calls test(i) for every rule that can match the event: the unindexed ones, and the indexed ones whose
 * values the event's field holds (all of them when the field holds something other than strings).
 */
export function forCandidates(index: RuleIndex, event: Record<string, unknown>, test: (rule: number) => void): void {
  for (let i = 0; i < index.unindexed.length; i++) test(index.unindexed[i]);
  const v = index.get(event);
  if (v === undefined || v === null) return;
  if (typeof v === "string") {
    const rules = index.byValue.get(foldCase(v));
    if (rules) for (let i = 0; i < rules.length; i++) test(rules[i]);
    return;
  }
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || x === null)) {
    const seen = new Set<number>();
    for (const x of v) {
      if (x === null) continue;
      const rules = index.byValue.get(foldCase(x as string)) ?? [];
      for (const r of rules) {
        if (seen.has(r)) continue;
        seen.add(r);
        test(r);
      }
    }
    return;
  }
  for (let i = 0; i < index.indexed.length; i++) test(index.indexed[i]);
}
