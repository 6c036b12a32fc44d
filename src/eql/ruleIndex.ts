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
import { TextAutomaton } from "./textAutomaton.js";
import { equalsFolded, foldCase } from "./values.js";

/** The conditions filed under the value (case-folded), or undefined. */
function lookupValue(field: FieldIndex, v: string): number[] | undefined {
  const entries = field.byHash.get(foldedHash(v));
  if (entries === undefined) return undefined;
  for (let i = 0; i < entries.length; i++) if (equalsFolded(v, entries[i].folded)) return entries[i].conditions;
  return undefined;
}

export interface IndexedCondition {
  condition: Expr;
  category?: { field: string; value: string };
}

/**
 * A necessary condition: the field holds (any element equal to, or for `contains` holding) one of `values`,
 * compared case-folded (`contains` values are lower-cased ASCII).
 */
interface Requirement {
  path: readonly string[];
  values: string[];
  contains: boolean;
  /** The category test's rank, whatever field holds the category. */
  rank?: number;
}

/**
 * Fields with a handful of values that nearly every event of a kind carries: a requirement on them narrows little,
 * so a condition is filed under one only when it has nothing better. Ranked by how much they narrow; rank 0 ones
 * are the same on every event of a source and are never used. The replay pre-filter ranks texts by the same table.
 */
export const LOW_CARDINALITY: ReadonlyMap<string, number> = new Map([
  ["event.action", 3],
  ["event.type", 2],
  ["event.category", 2],
  ["event.outcome", 1],
  ["event.kind", 0],
  ["event.module", 0],
  ["event.dataset", 0],
  ["host.os.type", 0],
  ["host.os.name", 0],
  ["host.os.family", 0],
  ["host.os.platform", 0],
  ["agent.type", 0],
  ["ecs.version", 0],
]);
/** Exact values of an ordinary field, then a literal substring of one, then the low-cardinality fields. */
const EXACT_RANK = 5;
const CONTAINS_RANK = 4;
/** A substring shorter than this is in too many values to index on. */
const MIN_SUBSTRING = 3;

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
    return field && values ? { path: field.path, values, contains: false } : undefined;
  }
  if (e.kind === "in" && e.subject.kind === "field") {
    const values = stringLiterals(e.values);
    return values && values.length > 0 ? { path: e.subject.path, values, contains: false } : undefined;
  }
  if (e.kind === "pattern" && e.op !== "regex" && e.subject.kind === "field") {
    const values = stringLiterals(e.patterns);
    if (!values || values.length === 0) return undefined;
    if (!values.some((v) => v.includes("*") || v.includes("?"))) return { path: e.subject.path, values, contains: false };
    // Wildcards: the value must hold each pattern's longest literal run (ASCII only: the scan folds ASCII case).
    const pieces: string[] = [];
    for (const v of values) {
      const piece = v.split(/[*?]/).reduce((a, b) => (b.length > a.length ? b : a), "");
      if (piece.length < MIN_SUBSTRING || !/^[\x20-\x7e]+$/.test(piece)) return undefined;
      pieces.push(piece.toLowerCase());
    }
    return { path: e.subject.path, values: pieces, contains: true };
  }
  return undefined;
}

function rank(r: Requirement): number {
  if (r.rank !== undefined) return r.rank;
  const low = LOW_CARDINALITY.get(r.path.join("."));
  if (low !== undefined) return low;
  return r.contains ? CONTAINS_RANK : EXACT_RANK;
}

/** Higher is more selective: by rank, then fewer values (a rank-0 requirement is no requirement). */
function selectivity(r: Requirement): number {
  const k = rank(r);
  return k === 0 ? -Infinity : k * 1_000_000 - r.values.length;
}

/** Every usable requirement of a condition: its top-level conjuncts' and its category's. */
function requirementsOf(c: IndexedCondition): Requirement[] {
  const conjuncts = c.condition.kind === "and" ? c.condition.operands : [c.condition];
  const out: Requirement[] = [];
  for (const conjunct of conjuncts) {
    const r = requirementOf(conjunct);
    if (r && selectivity(r) > -Infinity) out.push(r);
  }
  // The category narrows more than event.type (a network rule's "start" is every process start's too).
  if (c.category) out.push({ path: c.category.field.split("."), values: [c.category.value], contains: false, rank: 2.5 });
  return out;
}

function fieldKey(r: Requirement): string {
  return `${r.contains ? "c" : "v"}${r.path.join("\u0000")}`;
}

/**
 * The requirement a condition is filed under: the most selective; among equally ranked ones, the one on the field
 * most conditions use (`popularity`: each extra field is one more lookup per event), then the fewest values.
 */
export function bestRequirement(c: IndexedCondition, popularity: ReadonlyMap<string, number> = new Map()): Requirement | undefined {
  let best: Requirement | undefined;
  let bestKey: number[] = [];
  for (const r of requirementsOf(c)) {
    const key = [rank(r), popularity.get(fieldKey(r)) ?? 0, -r.values.length];
    const better = best === undefined || key[0] > bestKey[0] || (key[0] === bestKey[0] && (key[1] > bestKey[1] || (key[1] === bestKey[1] && key[2] > bestKey[2])));
    if (better) {
      best = r;
      bestKey = key;
    }
  }
  return best;
}

/** A hash of foldCase(s) computed without building the folded string (the same per-character fold). */
function foldedHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c > 127) {
      const lower = s[i].toLowerCase();
      if (lower.length === 1) c = lower.charCodeAt(0);
    }
    h = Math.imul(h ^ c, 16777619);
  }
  return h;
}

interface ValueEntry {
  folded: string;
  conditions: number[];
}

interface FieldIndex {
  get: FieldGetter;
  /** Conditions by the folded value's hash (an event's value is hashed, not folded: no string per lookup). */
  byHash: Map<number, ValueEntry[]>;
  /** Every condition filed under this field: all are candidates when the field holds a non-string. */
  all: number[];
}

/** Conditions filed under substrings of one field's value, found by one scan of the value. */
class SubstringIndex {
  readonly get: FieldGetter;
  readonly all: number[] = [];
  private readonly bySubstring = new Map<string, number[]>();
  private automaton: TextAutomaton | undefined;
  private lists: number[][] = [];
  constructor(path: readonly string[]) {
    this.get = compileFieldGetter(path);
  }

  add(condition: number, substrings: readonly string[]): void {
    this.all.push(condition);
    for (const v of new Set(substrings)) {
      const list = this.bySubstring.get(v);
      if (list) list.push(condition);
      else this.bySubstring.set(v, [condition]);
    }
  }

  seal(): void {
    this.automaton = new TextAutomaton([...this.bySubstring.keys()]);
    this.lists = [...this.bySubstring.values()];
  }

  /**
   * Calls add(conditions) for the conditions filed under each substring the value holds (repeats possible).
   * False for a value with a character beyond ASCII (the automaton folds ASCII case only), maybe after some
   * calls: the caller then adds all the field's conditions, which hold those. One pass over the value.
   */
  scan(value: string, add: (list: readonly number[]) => void): boolean {
    const { letter, letters, next, outputStart, outputs } = this.automaton as TextAutomaton;
    const lists = this.lists;
    let state = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c > 126) return false;
      state = next[state * letters + letter[c]];
      for (let k = outputStart[state]; k < outputStart[state + 1]; k++) add(lists[outputs[k]]);
    }
    return true;
  }
}

const EMPTY = new Int32Array(0);

/**
 * Past this many characters a field's text is not scanned for the index's substrings: its conditions are all
 * candidates. A scan finds candidates for rules that will read the text anyway; on a huge value (an attacker's
 * 1 MB command line) it would only add a pass, and every repetition of a substring a call.
 */
const SCAN_LIMIT = 16 * 1024;

function longerThan(values: readonly unknown[], limit: number): boolean {
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x === "string") total += x.length;
    if (total > limit) return true;
  }
  return false;
}

/** Strings and nulls only (ECS keeps many keyword fields as arrays of strings). */
function allStrings(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string" && v[i] !== null) return false;
  return true;
}

export class CandidateIndex {
  private readonly fields: FieldIndex[] = [];
  private readonly substrings: SubstringIndex[] = [];
  private readonly always: number[] = [];
  /** mark[i] === generation: condition i was already collected for this event. */
  private readonly mark: Int32Array;
  private generation = 0;
  private out: Int32Array = EMPTY;
  private n = 0;
  private readonly addList = (list: readonly number[]): void => {
    const mark = this.mark;
    const g = this.generation;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (mark[c] !== g) {
        mark[c] = g;
        this.out[this.n++] = c;
      }
    }
  };

  constructor(conditions: readonly IndexedCondition[]) {
    this.mark = new Int32Array(Math.max(1, conditions.length));
    const byField = new Map<string, FieldIndex>();
    const bySubstringField = new Map<string, SubstringIndex>();
    const popularity = new Map<string, number>();
    for (const c of conditions) {
      for (const key of new Set(requirementsOf(c).filter((r) => rank(r) >= CONTAINS_RANK).map(fieldKey))) {
        popularity.set(key, (popularity.get(key) ?? 0) + 1);
      }
    }
    conditions.forEach((c, i) => {
      const req = bestRequirement(c, popularity);
      if (!req) {
        this.always.push(i);
        return;
      }
      const key = req.path.join("\u0000");
      if (req.contains) {
        let sub = bySubstringField.get(key);
        if (!sub) {
          sub = new SubstringIndex(req.path);
          bySubstringField.set(key, sub);
          this.substrings.push(sub);
        }
        sub.add(i, req.values);
        return;
      }
      let field = byField.get(key);
      if (!field) {
        field = { get: compileFieldGetter(req.path), byHash: new Map(), all: [] };
        byField.set(key, field);
        this.fields.push(field);
      }
      field.all.push(i);
      for (const folded of new Set(req.values.map(foldCase))) {
        const h = foldedHash(folded);
        const entries = field.byHash.get(h) ?? [];
        const entry = entries.find((e) => e.folded === folded);
        if (entry) entry.conditions.push(i);
        else entries.push({ folded, conditions: [i] });
        field.byHash.set(h, entries);
      }
    });
    for (const sub of this.substrings) sub.seal();
  }

  /** How many fields an event is looked up by (diagnostics, tests). */
  get indexedFields(): number {
    return this.fields.length + this.substrings.length;
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
        list = lookupValue(field, v);
        if (list === undefined) continue;
      } else if (Array.isArray(v) && allStrings(v)) {
        for (let k = 0; k < v.length; k++) {
          const x = v[k];
          if (x === null) continue;
          const l = lookupValue(field, x as string);
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
    if (this.substrings.length === 0) return n;
    this.out = out;
    this.n = n;
    for (const sub of this.substrings) {
      const v = sub.get(event);
      if (v === undefined || v === null) continue;
      if (typeof v === "string") {
        if (v.length > SCAN_LIMIT || !sub.scan(v, this.addList)) this.addList(sub.all);
      } else if (Array.isArray(v) && allStrings(v)) {
        if (longerThan(v, SCAN_LIMIT)) {
          this.addList(sub.all);
          continue;
        }
        for (let k = 0; k < v.length; k++) {
          const x = v[k];
          if (x !== null && !sub.scan(x as string, this.addList)) this.addList(sub.all);
        }
      } else if (typeof v === "number" || typeof v === "boolean") {
        // Pattern operators see a number or boolean as its text.
        sub.scan(String(v), this.addList);
      } else {
        this.addList(sub.all);
      }
    }
    n = this.n;
    this.out = EMPTY;
    return n;
  }
}
