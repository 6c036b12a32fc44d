/**
 * The candidate index of a query set: which conditions an event can possibly satisfy, found without looking at
 * every condition. Most detection rules require some field to hold one of a few exact values
 * (`process.name in ("curl", "wget")`, `process.name : "osascript"`, `event.action == "exec"`, or at least the
 * category of `process where`). Each condition is filed under the most selective such requirement among its
 * top-level conjuncts; an event looks up the value it holds in each indexed field (one map lookup per field, not
 * per condition) and collects the conditions filed under it. Conditions with no such requirement are always
 * candidates. The index is only a necessary condition: candidates still run their full test.
 *
 * Per event the work is one lookup per indexed field plus the candidates found: nothing proportional to the
 * number of conditions (duplicates are dropped with a generation mark, never by clearing per-condition state).
 */
import type { Expr } from "./ast.js";
import { compileFieldGetter, type FieldGetter } from "./fieldAccess.js";
import { foldCase } from "./values.js";

export interface IndexedCondition {
  condition: Expr;
  category?: { field: string; value: string };
}

/** A necessary condition: the field holds (any element equal to) one of `values`, compared case-folded. */
interface Requirement {
  path: readonly string[];
  values: string[];
}

/**
 * Fields with a handful of values that nearly every event of a kind carries: a requirement on them narrows little,
 * so a condition is filed under one only when it has nothing better.
 */
const LOW_CARDINALITY = new Set([
  "event.category",
  "event.type",
  "event.action",
  "event.kind",
  "event.module",
  "event.dataset",
  "event.outcome",
  "host.os.type",
  "host.os.name",
  "host.os.family",
  "host.os.platform",
  "agent.type",
  "ecs.version",
]);

function stringLiterals(xs: readonly Expr[]): string[] | undefined {
  const out: string[] = [];
  for (const x of xs) {
    if (x.kind !== "literal" || typeof x.value !== "string") return undefined;
    out.push(x.value);
  }
  return out;
}

/** The exact values one top-level conjunct requires of a field, or undefined. */
function requirementOf(e: Expr): Requirement | undefined {
  if (e.kind === "comparison" && e.op === "==") {
    const field = e.left.kind === "field" ? e.left : e.right.kind === "field" ? e.right : undefined;
    const values = stringLiterals([e.left.kind === "field" ? e.right : e.left]);
    return field && values ? { path: field.path, values } : undefined;
  }
  if (e.kind === "in" && e.subject.kind === "field") {
    const values = stringLiterals(e.values);
    return values && values.length > 0 ? { path: e.subject.path, values } : undefined;
  }
  if (e.kind === "pattern" && e.op !== "regex" && e.subject.kind === "field") {
    const values = stringLiterals(e.patterns);
    if (!values || values.some((v) => v.includes("*") || v.includes("?"))) return undefined;
    return { path: e.subject.path, values };
  }
  return undefined;
}

/** Higher is more selective: any ordinary field before a low-cardinality one, then fewer values. */
function selectivity(r: Requirement): number {
  return (LOW_CARDINALITY.has(r.path.join(".")) ? 0 : 1_000_000) - r.values.length;
}

/** The most selective requirement of a condition (its category included), or undefined when it has none. */
export function bestRequirement(c: IndexedCondition): Requirement | undefined {
  const conjuncts = c.condition.kind === "and" ? c.condition.operands : [c.condition];
  let best: Requirement | undefined;
  const consider = (r: Requirement | undefined): void => {
    if (r && (!best || selectivity(r) > selectivity(best))) best = r;
  };
  for (const conjunct of conjuncts) consider(requirementOf(conjunct));
  if (c.category) consider({ path: c.category.field.split("."), values: [c.category.value] });
  return best;
}

interface FieldIndex {
  get: FieldGetter;
  /** Conditions by folded value. */
  byValue: Map<string, number[]>;
  /** Every condition filed under this field: all are candidates when the field holds a non-string. */
  all: number[];
}

export class CandidateIndex {
  private readonly fields: FieldIndex[] = [];
  private readonly always: number[] = [];
  /** mark[i] === generation: condition i was already collected for this event. */
  private readonly mark: Int32Array;
  private generation = 0;

  constructor(conditions: readonly IndexedCondition[]) {
    this.mark = new Int32Array(Math.max(1, conditions.length));
    const byField = new Map<string, FieldIndex>();
    conditions.forEach((c, i) => {
      const req = bestRequirement(c);
      if (!req) {
        this.always.push(i);
        return;
      }
      const key = req.path.join("\u0000");
      let field = byField.get(key);
      if (!field) {
        field = { get: compileFieldGetter(req.path), byValue: new Map(), all: [] };
        byField.set(key, field);
        this.fields.push(field);
      }
      field.all.push(i);
      for (const v of new Set(req.values.map(foldCase))) {
        const list = field.byValue.get(v);
        if (list) list.push(i);
        else field.byValue.set(v, [i]);
      }
    });
  }

  /** How many fields an event is looked up by (diagnostics, tests). */
  get indexedFields(): number {
    return this.fields.length;
  }

  /** Conditions that are candidates for every event. */
  get unindexed(): readonly number[] {
    return this.always;
  }

  /**
   * Writes every condition the event may satisfy, once each, into `out` (room for all conditions); returns how
   * many. The order is not meaningful.
   */
  collect(event: Record<string, unknown>, out: Int32Array): number {
    if (++this.generation === 0x7fffffff) {
      this.mark.fill(0);
      this.generation = 1;
    }
    const g = this.generation;
    const mark = this.mark;
    let n = 0;
    const always = this.always;
    for (let i = 0; i < always.length; i++) {
      mark[always[i]] = g;
      out[n++] = always[i];
    }
    const fields = this.fields;
    for (let f = 0; f < fields.length; f++) {
      const field = fields[f];
      const v = field.get(event);
      if (v === undefined || v === null) continue;
      let list: number[] | undefined;
      if (typeof v === "string") {
        list = field.byValue.get(foldCase(v));
        if (list === undefined) continue;
      } else if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") {
        // ECS keeps event.category and event.type as one-element arrays.
        list = field.byValue.get(foldCase(v[0]));
        if (list === undefined) continue;
      } else if (Array.isArray(v) && v.every((x) => typeof x === "string" || x === null)) {
        for (const x of v) {
          if (x === null) continue;
          const l = field.byValue.get(foldCase(x as string));
          if (l === undefined) continue;
          for (let i = 0; i < l.length; i++) {
            const c = l[i];
            if (mark[c] !== g) {
              mark[c] = g;
              out[n++] = c;
            }
          }
        }
        continue;
      } else {
        // A number or boolean can equal a string literal ("5" == 5); nested values fan out: test them all.
        list = field.all;
      }
      for (let i = 0; i < list.length; i++) {
        const c = list[i];
        if (mark[c] !== g) {
          mark[c] = g;
          out[n++] = c;
        }
      }
    }
    return n;
  }
}
