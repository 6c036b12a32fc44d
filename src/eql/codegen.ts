/**
 * Generates one JavaScript function per condition (`new Function`), with every query-level leaf as its own
 * small function in the generated source. Closures composed at run time share V8's type feedback between all
 * queries and turn megamorphic; generated code is monomorphic per query, so V8 inlines field access and the
 * string tests into one tight function. Same semantics as compilePredicate() in compiler.ts (the reference:
 * tests run both); script-level parts (functions, arithmetic) are called as compiled closures.
 */
import type { Comparison, ComparisonOperator, Expr, FieldRef, InSet, Literal, PatternMatch } from "./ast.js";
import { compilePredicate, compileValue, equalsLiteral, inSetTest, isScript, orderLiteral, truth, type Predicate } from "./compiler.js";
import { compileFieldGetter } from "./fieldAccess.js";
import { patternListTest } from "./patterns.js";
import { CandidateIndex, type IndexedCondition } from "./ruleIndex.js";
import { sortPrefix } from "./sortPrefix.js";
import { equalsFolded, foldCase, regionEqualsFolded, type Scalar } from "./values.js";

const FLIP: Record<ComparisonOperator, ComparisonOperator> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** Field names that collide with Object.prototype members go through the careful getter. */
const UNSAFE = new Set(Object.getOwnPropertyNames(Object.prototype));

class Emitter {
  readonly constants: unknown[] = [];
  readonly functions: string[] = [];
  /** Leaf index by semantic key: the same leaf in several conditions (of a query set) is one function. */
  private readonly leaves = new Map<string, number>();

  /**
   * In a query set, a leaf's result is cached per event: `kv[i]` holds it when `kg[i]` is the current event's
   * generation `g` (so starting an event clears nothing).
   */
  constructor(readonly shared: boolean) {}

  call(index: number): string {
    return this.shared
      ? `(kg[${index}] === g ? kv[${index}] === 1 : (kg[${index}] = g, (kv[${index}] = L${index}(e) ? 1 : 0) === 1))`
      : `L${index}(e)`;
  }

  get leafCount(): number {
    return this.functions.length;
  }

  constant(value: unknown): string {
    this.constants.push(value);
    return `c[${this.constants.length - 1}]`;
  }

  /** Expression for the raw value at `path` of event `e` (undefined when absent). */
  get(path: readonly string[]): string {
    const slow = this.constant(compileFieldGetter(path));
    if (path.some((p) => UNSAFE.has(p))) return `${slow}(e)`;
    let expr = "";
    let access = "e";
    for (let i = 0; i < path.length - 1; i++) {
      expr += `(t = ${access}[${JSON.stringify(path[i])}]) != null && typeof t === "object" && `;
      access = "t";
    }
    const last = `${access}[${JSON.stringify(path[path.length - 1])}]`;
    const inline = path.length === 1 ? last : `(${expr}true ? ${last} : undefined)`;
    return `((v = ${inline}) === undefined ? ${slow}(e) : v)`;
  }

  /**
   * Declares a leaf function: `scalarTest` is an expression over a non-null scalar `x`; `reference` is the
   * same test as a closure, used for the rare nested arrays.
   */
  leaf(key: string, path: readonly string[], scalarTest: string, reference: (x: unknown) => boolean): string {
    const known = this.leaves.get(key);
    if (known !== undefined) return this.call(known);
    const index = this.functions.length;
    this.leaves.set(key, index);
    const name = `L${index}`;
    const nested = (xs: unknown[]): boolean =>
      xs.some((x) => (Array.isArray(x) ? nested(x) : x !== null && x !== undefined && typeof x !== "object" && reference(x)));
    const nestedRef = this.constant(nested);
    const get = this.get(path);
    this.functions.push(`function ${name}(e) {
  var t, v = ${get};
  if (v === undefined || v === null) return false;
  if (typeof v !== "object") { var x = v; return ${scalarTest}; }
  if (!Array.isArray(v)) return false;
  for (var i = 0; i < v.length; i++) {
    x = v[i];
    if (x === undefined || x === null) continue;
    if (typeof x === "object") { if (Array.isArray(x) && ${nestedRef}(x)) return true; continue; }
    if (${scalarTest}) return true;
  }
  return false;
}`);
    return this.call(index);
  }
}

function lit(e: Expr): Scalar {
  return (e as Literal).value;
}

function isFieldVsLiteral(e: Comparison): boolean {
  return (e.left.kind === "field" && e.right.kind === "literal") || (e.left.kind === "literal" && e.right.kind === "field");
}

function emitPredicate(em: Emitter, e: Expr): string {
  switch (e.kind) {
    case "literal":
      return e.value === true ? "true" : "false";
    case "field":
      return leafWith(em, ["true"], e.path, "x === true", (x) => x === true);
    case "and":
      return `(${e.operands.map((o) => emitPredicate(em, o)).join(" && ")})`;
    case "or":
      return `(${e.operands.map((o) => emitPredicate(em, o)).join(" || ")})`;
    case "not":
      if (isScript(e.operand)) {
        const v = compileValue(e.operand);
        return `(${em.constant((ev: Record<string, unknown>) => truth(v(ev)) === false)}(e))`;
      }
      return `!${emitPredicate(em, e.operand)}`;
    case "comparison":
      if (isFieldVsLiteral(e)) return emitComparison(em, e);
      break;
    case "pattern":
      if (e.subject.kind === "field") return emitPattern(em, e, e.subject);
      break;
    case "in":
      if (e.subject.kind === "field") return emitIn(em, e, e.subject);
      break;
    default:
      break;
  }
  const p = compilePredicate(e);
  return `${em.constant(p)}(e)`;
}

function leafWith(em: Emitter, key: unknown[], path: readonly string[], code: string, reference: (x: unknown) => boolean): string {
  return em.leaf(JSON.stringify([path, ...key]), path, code, reference);
}

function emitComparison(em: Emitter, e: Comparison): string {
  const fieldOnLeft = e.left.kind === "field";
  const field = (fieldOnLeft ? e.left : e.right) as FieldRef;
  const value = lit(fieldOnLeft ? e.right : e.left);
  const op = fieldOnLeft ? e.op : FLIP[e.op];
  if (value === null || op === "!=") return `${em.constant(compilePredicate(e))}(e)`;
  const reference = op === "==" ? equalsLiteral(value) : orderLiteral(op, value);
  const ref = em.constant(reference);
  let code: string;
  if (typeof value === "number" && !Number.isFinite(value)) {
    code = `${ref}(x)`; // JSON has no spelling for Infinity/NaN; let the reference test decide
  } else if (op === "==") {
    const L = JSON.stringify(value);
    if (typeof value === "string") code = `(x === ${L} || (typeof x !== "string" && ${ref}(x)))`;
    else if (typeof value === "number") code = `(x === ${L} || (typeof x === "string" && ${ref}(x)))`;
    else code = `(x === ${L} || x === ${JSON.stringify(String(value))})`;
  } else if (typeof value === "number") {
    code = `(typeof x === "number" ? x ${op} ${JSON.stringify(value)} : ${ref}(x))`;
  } else {
    code = `${ref}(x)`;
  }
  return leafWith(em, ["cmp", op, value], field.path, code, reference);
}

function stringPatternCode(em: Emitter, op: ":" | "like" | "regex", ci: boolean, pattern: string): string {
  if (op === "regex") return `${em.constant(patternListTest("regex", ci, [pattern]))}(x)`;
  const hasQ = pattern.includes("?");
  const parts = pattern.split("*");
  if (!hasQ) {
    if (parts.length === 1) {
      if (!ci) return `x === ${JSON.stringify(pattern)}`;
      const f = foldCase(pattern);
      return `(x.length === ${f.length} && equalsFolded(x, ${JSON.stringify(f)}))`;
    }
    const inner = parts.slice(1, -1);
    const head = parts[0];
    const tail = parts[parts.length - 1];
    if (inner.every((p) => p === "")) {
      if (parts.length === 3 && head === "" && tail === "" && !ci) return `x.includes(${JSON.stringify(parts[1])})`;
      if (!(parts.length === 3 && head === "" && tail === "")) {
        const fh = ci ? foldCase(head) : head;
        const ft = ci ? foldCase(tail) : tail;
        const tests = [`x.length >= ${head.length + tail.length}`];
        if (head !== "") tests.push(ci ? `regionEqualsFolded(x, 0, ${JSON.stringify(fh)})` : `x.startsWith(${JSON.stringify(head)})`);
        if (tail !== "") tests.push(ci ? `regionEqualsFolded(x, x.length - ${ft.length}, ${JSON.stringify(ft)})` : `x.endsWith(${JSON.stringify(tail)})`);
        return `(${tests.join(" && ")})`;
      }
    }
  }
  return `${em.constant(patternListTest(op, ci, [pattern]))}(x)`;
}

function emitPattern(em: Emitter, e: PatternMatch, field: FieldRef): string {
  const patterns = e.patterns.map((p) => lit(p) as string);
  const listTest = patternListTest(e.op, e.caseInsensitive, patterns);
  const reference = (x: unknown): boolean =>
    typeof x === "string" ? listTest(x) : (typeof x === "number" || typeof x === "boolean") && listTest(String(x));
  const ref = em.constant(reference);
  let stringCode: string;
  if (patterns.length > 8) stringCode = `${em.constant(listTest)}(x)`;
  else stringCode = patterns.map((p) => stringPatternCode(em, e.op, e.caseInsensitive, p)).join(" || ");
  return leafWith(em, [e.op, e.caseInsensitive, patterns], field.path, `(typeof x === "string" ? (${stringCode}) : ${ref}(x))`, reference);
}

function emitIn(em: Emitter, e: InSet, field: FieldRef): string {
  const values = e.values.map(lit);
  const reference = inSetTest(values, e.caseInsensitive);
  const ref = em.constant(reference);
  const strings = values.filter((v): v is string => typeof v === "string");
  if (!e.caseInsensitive && strings.length === values.length) {
    const stringCode =
      strings.length <= 6
        ? strings.map((s) => `x === ${JSON.stringify(s)}`).join(" || ") || "false"
        : `${em.constant(new Set(strings))}.has(x)`;
    return leafWith(em, ["in", false, strings], field.path, `(typeof x === "string" ? (${stringCode}) : ${ref}(x))`, reference);
  }
  return leafWith(em, ["in", e.caseInsensitive, values], field.path, `${ref}(x)`, reference);
}

export interface CategoryTest {
  field: string;
  value: string;
}

function conditionCode(em: Emitter, condition: Expr, category?: CategoryTest): string {
  const parts: string[] = [];
  if (category) {
    const L = JSON.stringify(category.value);
    const value = category.value;
    parts.push(leafWith(em, ["category", value], category.field.split("."), `x === ${L}`, (x) => x === value));
  }
  const cond = emitPredicate(em, condition);
  if (cond !== "true" || parts.length === 0) parts.push(cond);
  return parts.join(" && ");
}

type Factory = (c: unknown[], ef: typeof equalsFolded, ref: typeof regionEqualsFolded) => unknown;

/**
 * Factories by their source text, kept across compilations: the functions one factory returns share their type
 * feedback and optimized code in V8 (one feedback cell per function literal of the factory), so a rule set compiled
 * again (a reload, the next replay) runs at full speed from its first event instead of warming up again (measured:
 * the first 12,000 events a fresh 145-rule set tests cost 19 us each, against 10 us once warm). The code depends on
 * nothing but its text; the constants are the call's. Bounded: the oldest is dropped past MAX_FACTORIES.
 */
const factories = new Map<string, Factory>();
const MAX_FACTORIES = 4096;

/** How many factories have been made from source text since the process started (tests: that texts are reused). */
export function factoriesMade(): number {
  return factoriesMadeCount;
}
let factoriesMadeCount = 0;

function instantiate<T>(em: Emitter, body: string): T {
  const source = `"use strict";\n${em.functions.join("\n")}\n${body}`;
  let factory = factories.get(source);
  if (factory === undefined) {
    factory = new Function("c", "equalsFolded", "regionEqualsFolded", source) as Factory;
    factoriesMadeCount++;
    if (factories.size >= MAX_FACTORIES) factories.delete(factories.keys().next().value!);
    factories.set(source, factory);
  }
  return factory(em.constants, equalsFolded, regionEqualsFolded) as T;
}

/** Generates the predicate for a checked (normalized) condition, `and`-ed with the category test when given. */
export function generatePredicate(condition: Expr, category?: CategoryTest): Predicate {
  const em = new Emitter(false);
  const code = conditionCode(em, condition, category);
  return instantiate<Predicate>(em, `return function test(e) { return ${code}; };`);
}

export interface PredicateSet {
  /**
   * Writes the indices of the conditions the event satisfies into `out` (room for every condition), in ascending
   * order; returns how many. Only the index's candidates are tested.
   */
  matching(event: Record<string, unknown>, out: Int32Array): number;
  /** The conditions matching() would test on this event (the index's candidates). */
  candidates(event: Record<string, unknown>): number[];
  /**
   * Condition i alone, with no leaf shared from another condition already computed: timing it gives that
   * condition's own cost on the event (for profiling a slow event). Changes nothing matching() relies on.
   */
  testAlone(i: number, event: Record<string, unknown>): boolean;
}

/**
 * Generates the predicates of many conditions that run on every event together (a rule set). A leaf shared by
 * several conditions (`host.os.type == "macos"`, the category test) is evaluated at most once per event, and only
 * the conditions the candidate index (ruleIndex.ts) finds for the event are tested.
 */
export function generatePredicateSet(conditions: readonly IndexedCondition[]): PredicateSet {
  const em = new Emitter(true);
  const codes = conditions.map((c) => conditionCode(em, c.condition, c.category));
  const rules = codes.map((code, i) => `function R${i}(e) { return ${code}; }`).join("\n");
  const leaves = Math.max(1, em.leafCount);
  const body = `var g = 0, kg = new Int32Array(${leaves}), kv = new Uint8Array(${leaves});
${rules}
return {
  rules: [${codes.map((_, i) => `R${i}`).join(", ")}],
  nextEvent: function () { if (++g === 0x7fffffff) { kg.fill(0); g = 1; } },
};`;
  const { rules: tests, nextEvent } = instantiate<{ rules: Predicate[]; nextEvent: () => void }>(em, body);
  const index = new CandidateIndex(conditions);
  const candidates = new Int32Array(Math.max(1, conditions.length));
  return {
    matching(event, out) {
      nextEvent();
      const n = index.collect(event, candidates);
      let m = 0;
      for (let i = 0; i < n; i++) {
        const c = candidates[i];
        if (tests[c](event)) out[m++] = c;
      }
      sortPrefix(out, m);
      return m;
    },
    candidates(event) {
      const found = new Int32Array(Math.max(1, conditions.length));
      return Array.from(found.subarray(0, index.collect(event, found)));
    },
    testAlone(i, event) {
      nextEvent();
      return tests[i](event);
    },
  };
}
