/**
 * Compiles a checked condition to closures, once per query. Two layers, as Elasticsearch has them:
 *
 * - Query level: a comparison, pattern or `in` between a plain field and literals is a two-valued leaf (a
 *   Lucene term/range/wildcard query). `not` over such a leaf, and over and/or, is plain negation (must_not),
 *   so `field != "x"` and `not field : "x"` match events where the field is absent.
 * - Script level: anything involving functions, arithmetic or nested comparisons is evaluated with
 *   three-valued logic (null propagates; a null outcome does not match), and `not` over a script stays a
 *   script: not(null) is null.
 *
 * Multi-valued fields: a leaf holds if any element satisfies it; at script level values fan out element by
 * element and a boolean outcome holds if any element's does.
 */
import type { Comparison, ComparisonOperator, Expr, FieldRef, FunctionCall, InSet, Literal, PatternMatch } from "./ast.js";
import { isFloatExpr } from "./checker.js";
import { compileFieldGetter, type FieldGetter } from "./fieldAccess.js";
import { divideNumbers, lookupFunction, moduloNumbers } from "./functions.js";
import { patternListTest, type StringTest } from "./patterns.js";
import { compareScalars, foldCase, normalizeFieldValue, numericString, type Scalar, type Value } from "./values.js";

export type EqlRecord = Record<string, unknown>;
export type Predicate = (event: EqlRecord) => boolean;
export type ValueFn = (event: EqlRecord) => Value;

const TRUE: Predicate = () => true;
const FALSE: Predicate = () => false;

/** A test of one raw field value (scalar): the building block of leaves. */
export type ScalarTest = (v: unknown) => boolean;

/** Applies a scalar test to a raw field value with any-element semantics; absent/null never matches. */
function anyElement(get: FieldGetter, test: ScalarTest): Predicate {
  return (event) => {
    const v = get(event);
    if (v === undefined || v === null) return false;
    if (typeof v !== "object") return test(v);
    return Array.isArray(v) && arrayAny(v, test);
  };
}

function arrayAny(values: readonly unknown[], test: ScalarTest): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v !== "object") {
      if (test(v)) return true;
    } else if (Array.isArray(v) && arrayAny(v, test)) return true;
  }
  return false;
}

function isNullValue(v: unknown): boolean {
  return normalizeFieldValue(v) === null;
}

// ---------------------------------------------------------------------------------------------------------
// Scalar tests against literals

export function equalsLiteral(lit: Scalar): ScalarTest {
  if (typeof lit === "string") {
    const n = numericString(lit);
    return (v) => v === lit || (typeof v === "number" ? n !== undefined && v === n : typeof v === "boolean" && String(v) === lit);
  }
  if (typeof lit === "number") {
    return (v) => v === lit || (typeof v === "string" && numericString(v) === lit);
  }
  if (typeof lit === "boolean") {
    const text = String(lit);
    return (v) => v === lit || v === text;
  }
  return () => false;
}

export function orderLiteral(op: ComparisonOperator, lit: Scalar): ScalarTest {
  const cmp = (v: unknown): number | undefined =>
    typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? compareScalars(v, lit) : undefined;
  switch (op) {
    case "<":
      return (v) => (cmp(v) ?? 0) < 0;
    case "<=":
      return (v) => {
        const c = cmp(v);
        return c !== undefined && c <= 0;
      };
    case ">":
      return (v) => (cmp(v) ?? 0) > 0;
    case ">=":
      return (v) => {
        const c = cmp(v);
        return c !== undefined && c >= 0;
      };
    default:
      throw new Error(`not an ordering operator: ${op}`);
  }
}

/** Pattern operators see non-string scalars as their text. */
function stringTestOnScalar(test: StringTest): ScalarTest {
  return (v) => (typeof v === "string" ? test(v) : (typeof v === "number" || typeof v === "boolean") && test(String(v)));
}

export function inSetTest(values: readonly Scalar[], caseInsensitive: boolean): ScalarTest {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const booleans = new Set<boolean>();
  for (const v of values) {
    if (typeof v === "string") {
      strings.add(caseInsensitive ? foldCase(v) : v);
      const n = numericString(v);
      if (n !== undefined) numbers.add(n);
    } else if (typeof v === "number") {
      numbers.add(v);
      strings.add(String(v));
    } else if (typeof v === "boolean") {
      booleans.add(v);
      strings.add(String(v));
    }
  }
  if (caseInsensitive) {
    const lengths = new Set([...strings].map((s) => s.length));
    return (v) => {
      if (typeof v === "string") return lengths.has(v.length) && strings.has(foldCase(v));
      if (typeof v === "number") return numbers.has(v);
      return typeof v === "boolean" && booleans.has(v);
    };
  }
  if (numbers.size === 0 && booleans.size === 0) return (v) => typeof v === "string" && strings.has(v);
  return (v) => {
    if (typeof v === "string") return strings.has(v);
    if (typeof v === "number") return numbers.has(v);
    return typeof v === "boolean" && booleans.has(v);
  };
}

function literalValue(e: Expr): Scalar {
  return (e as Literal).value;
}

const FLIP: Record<ComparisonOperator, ComparisonOperator> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

// ---------------------------------------------------------------------------------------------------------
// Query level

/** Whether Elasticsearch would evaluate this boolean node as a script (three-valued) rather than a query. */
export function isScript(e: Expr): boolean {
  switch (e.kind) {
    case "comparison":
      return !isFieldVsLiteral(e);
    case "pattern":
    case "in":
      return e.subject.kind !== "field";
    case "call":
    case "arithmetic":
    case "negate":
      return true;
    case "not":
      return isScript(e.operand);
    default:
      return false;
  }
}

function isFieldVsLiteral(e: Comparison): boolean {
  return (e.left.kind === "field" && e.right.kind === "literal") || (e.left.kind === "literal" && e.right.kind === "field");
}

/** Compiles a checked boolean expression to a two-valued predicate with Elasticsearch's query semantics. */
export function compilePredicate(e: Expr): Predicate {
  switch (e.kind) {
    case "literal":
      return e.value === true ? TRUE : FALSE;
    case "field": {
      const get = compileFieldGetter(e.path);
      return anyElement(get, (v) => v === true);
    }
    case "and":
      return allOf(e.operands.map(compilePredicate));
    case "or":
      return anyOf(e.operands.map(compilePredicate));
    case "not": {
      if (isScript(e.operand)) {
        const v = compileValue(e.operand);
        return (event) => truth(v(event)) === false;
      }
      const p = compilePredicate(e.operand);
      if (p === TRUE) return FALSE;
      if (p === FALSE) return TRUE;
      return (event) => !p(event);
    }
    case "comparison":
      if (isFieldVsLiteral(e)) return comparisonLeaf(e);
      break;
    case "pattern":
      if (e.subject.kind === "field") return patternLeaf(e, e.subject);
      break;
    case "in":
      if (e.subject.kind === "field") return inLeaf(e, e.subject);
      break;
    default:
      break;
  }
  const v = compileValue(e);
  return (event) => truth(v(event)) === true;
}

function allOf(ps: Predicate[]): Predicate {
  const parts = ps.filter((p) => p !== TRUE);
  if (parts.some((p) => p === FALSE)) return FALSE;
  switch (parts.length) {
    case 0:
      return TRUE;
    case 1:
      return parts[0];
    case 2: {
      const [a, b] = parts;
      return (e) => a(e) && b(e);
    }
    case 3: {
      const [a, b, c] = parts;
      return (e) => a(e) && b(e) && c(e);
    }
    case 4: {
      const [a, b, c, d] = parts;
      return (e) => a(e) && b(e) && c(e) && d(e);
    }
    default:
      return (e) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i](e)) return false;
        return true;
      };
  }
}

function anyOf(ps: Predicate[]): Predicate {
  const parts = ps.filter((p) => p !== FALSE);
  if (parts.some((p) => p === TRUE)) return TRUE;
  switch (parts.length) {
    case 0:
      return FALSE;
    case 1:
      return parts[0];
    case 2: {
      const [a, b] = parts;
      return (e) => a(e) || b(e);
    }
    case 3: {
      const [a, b, c] = parts;
      return (e) => a(e) || b(e) || c(e);
    }
    default:
      return (e) => {
        for (let i = 0; i < parts.length; i++) if (parts[i](e)) return true;
        return false;
      };
  }
}

function comparisonLeaf(e: Comparison): Predicate {
  const fieldOnLeft = e.left.kind === "field";
  const field = (fieldOnLeft ? e.left : e.right) as FieldRef;
  const lit = literalValue(fieldOnLeft ? e.right : e.left);
  const op = fieldOnLeft ? e.op : FLIP[e.op];
  const get = compileFieldGetter(field.path);
  if (lit === null) {
    // `field == null` is "field is absent or null"; `!=` its negation; ordering against null never matches.
    if (op === "==") return (event) => isNullValue(get(event));
    if (op === "!=") return (event) => !isNullValue(get(event));
    return FALSE;
  }
  if (op === "==") return anyElement(get, equalsLiteral(lit));
  if (op === "!=") {
    const eq = anyElement(get, equalsLiteral(lit));
    return (event) => !eq(event);
  }
  return anyElement(get, orderLiteral(op, lit));
}

function patternLeaf(e: PatternMatch, field: FieldRef): Predicate {
  const test = patternListTest(e.op, e.caseInsensitive, e.patterns.map((p) => literalValue(p) as string));
  return anyElement(compileFieldGetter(field.path), stringTestOnScalar(test));
}

function inLeaf(e: InSet, field: FieldRef): Predicate {
  return anyElement(compileFieldGetter(field.path), inSetTest(e.values.map(literalValue), e.caseInsensitive));
}

// ---------------------------------------------------------------------------------------------------------
// Script level

/** The three-valued truth of a script value: an array holds if any element is true. */
export function truth(v: Value): boolean | null {
  if (v === true) return true;
  if (v === false) return false;
  if (Array.isArray(v)) {
    let sawFalse = false;
    for (const x of v as Value[]) {
      const t = truth(x);
      if (t === true) return true;
      if (t === false) sawFalse = true;
    }
    return sawFalse ? false : null;
  }
  return null;
}

const MAX_FANOUT = 1024;

/** Applies f to every combination of elements when some arguments are multi-valued. */
function fanOut(args: Value[], f: (scalars: Scalar[]) => Scalar): Value {
  let multi = false;
  for (const a of args) if (Array.isArray(a)) multi = true;
  if (!multi) return f(args as Scalar[]);
  const out: Scalar[] = [];
  const current: Scalar[] = new Array<Scalar>(args.length);
  const walk = (i: number): void => {
    if (out.length >= MAX_FANOUT) return;
    if (i === args.length) {
      out.push(f(current.slice()));
      return;
    }
    const a = args[i];
    if (Array.isArray(a)) {
      for (const x of a as Value[]) {
        current[i] = Array.isArray(x) ? null : (x as Scalar);
        walk(i + 1);
      }
    } else {
      current[i] = a as Scalar;
      walk(i + 1);
    }
  };
  walk(0);
  return out;
}

function compare3(op: ComparisonOperator, a: Scalar, b: Scalar): boolean | null {
  const c = compareScalars(a, b);
  if (c === undefined) {
    if (a === null || b === null) return null;
    // Values of different kinds: equal never, ordered never.
    return op === "!=" ? true : false;
  }
  switch (op) {
    case "==":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
  }
}

/** Compiles any checked expression to its script-level value (booleans three-valued). */
export function compileValue(e: Expr): ValueFn {
  switch (e.kind) {
    case "literal": {
      const v = e.value;
      return () => v;
    }
    case "field": {
      const get = compileFieldGetter(e.path);
      return (event) => normalizeFieldValue(get(event));
    }
    case "not": {
      const v = compileValue(e.operand);
      return (event) => {
        const t = truth(v(event));
        return t === null ? null : !t;
      };
    }
    case "and": {
      const vs = e.operands.map(compileValue);
      return (event) => {
        let sawNull = false;
        for (const v of vs) {
          const t = truth(v(event));
          if (t === false) return false;
          if (t === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    case "or": {
      const vs = e.operands.map(compileValue);
      return (event) => {
        let sawNull = false;
        for (const v of vs) {
          const t = truth(v(event));
          if (t === true) return true;
          if (t === null) sawNull = true;
        }
        return sawNull ? null : false;
      };
    }
    case "comparison":
      return comparisonValue(e);
    case "pattern": {
      const test = patternListTest(e.op, e.caseInsensitive, e.patterns.map((p) => literalValue(p) as string));
      const subject = compileValue(e.subject);
      return (event) =>
        fanOut([subject(event)], ([s]) => (s === null ? null : test(typeof s === "string" ? s : String(s))));
    }
    case "in": {
      const test = inSetTest(e.values.map(literalValue), e.caseInsensitive);
      const subject = compileValue(e.subject);
      return (event) => fanOut([subject(event)], ([s]) => (s === null ? null : test(s)));
    }
    case "arithmetic": {
      const l = compileValue(e.left);
      const r = compileValue(e.right);
      const float = isFloatExpr(e);
      const op = arithmetic(e.op, float);
      return (event) => fanOut([l(event), r(event)], ([a, b]) => (typeof a === "number" && typeof b === "number" ? op(a, b) : null));
    }
    case "negate": {
      const v = compileValue(e.operand);
      return (event) => fanOut([v(event)], ([a]) => (typeof a === "number" ? -a : null));
    }
    case "call":
      return callValue(e);
  }
}

function arithmetic(op: string, float: boolean): (a: number, b: number) => Scalar {
  const finite = (n: number | null): Scalar => (n === null || !Number.isFinite(n) ? null : n);
  switch (op) {
    case "+":
      return (a, b) => finite(a + b);
    case "-":
      return (a, b) => finite(a - b);
    case "*":
      return (a, b) => finite(a * b);
    case "/":
      return (a, b) => finite(divideNumbers(a, b, float));
    default:
      return (a, b) => finite(moduloNumbers(a, b));
  }
}

function comparisonValue(e: Comparison): ValueFn {
  const nullSide = e.left.kind === "literal" && e.left.value === null ? e.right : e.right.kind === "literal" && e.right.value === null ? e.left : null;
  if (nullSide && (e.op === "==" || e.op === "!=")) {
    // Elasticsearch rewrites `x == null` to IsNull(x): two-valued even over a script.
    const v = compileValue(nullSide);
    const wantNull = e.op === "==";
    return (event) => (v(event) === null) === wantNull;
  }
  const l = compileValue(e.left);
  const r = compileValue(e.right);
  const op = e.op;
  if (isOptionalFieldPair(e) && (op === "==" || op === "!=")) {
    // `?x == ?y`: an absent optional field is the null literal, and `== null` is IsNull, so null == null holds.
    const wantEqual = op === "==";
    return (event) => {
      const a = l(event);
      const b = r(event);
      if (a === null || b === null) return (a === null && b === null) === wantEqual;
      const t = truth(fanOut([a, b], ([x, y]) => compare3("==", x, y)));
      return t === null ? null : t === wantEqual;
    };
  }
  if (op === "!=") {
    return (event) => {
      const t = truth(fanOut([l(event), r(event)], ([a, b]) => compare3("==", a, b)));
      return t === null ? null : !t;
    };
  }
  return (event) => fanOut([l(event), r(event)], ([a, b]) => compare3(op, a, b));
}

/** Two fields compared, at least one of them `?optional` (the checker rejects the other field-to-field cases). */
function isOptionalFieldPair(e: Comparison): boolean {
  return e.left.kind === "field" && e.right.kind === "field" && (e.left.optional || e.right.optional);
}

function callValue(e: FunctionCall): ValueFn {
  const spec = lookupFunction(e.name);
  if (!spec) throw new Error(`unchecked call to unknown function ${e.name}`);
  const site = {
    caseInsensitive: e.caseInsensitive,
    float: e.args.some(isFloatExpr),
    literals: e.args.map((a) => (a.kind === "literal" ? a.value : undefined)),
  };
  const impl = spec.make(site);
  const args = e.args.map(compileValue);
  if (spec.makeOfFirst && args.length > 1 && e.args.every((a, i) => i === 0 || a.kind === "literal")) {
    const ofFirst = spec.makeOfFirst(site);
    const [a0] = args;
    const viaArray = ([x]: readonly Scalar[]): Scalar => ofFirst(x);
    return (event) => {
      const v = a0(event);
      return Array.isArray(v) ? fanOut([v], viaArray) : ofFirst(v as Scalar);
    };
  }
  if (args.length === 1) {
    const [a0] = args;
    return (event) => fanOut([a0(event)], impl);
  }
  if (args.length === 2) {
    const [a0, a1] = args;
    return (event) => fanOut([a0(event), a1(event)], impl);
  }
  return (event) => fanOut(args.map((a) => a(event)), impl);
}

// ---------------------------------------------------------------------------------------------------------
// Categories

/** The event-category test: the category field (an array in ECS) holds the category. */
export function compileCategoryTest(categoryField: string, category: string | null): Predicate {
  if (category === null) return TRUE;
  return anyElement(compileFieldGetter(categoryField.split(".")), (v) => v === category);
}

export { allOf as allOfPredicates };
