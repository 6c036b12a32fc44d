/**
 * Semantic checks, run once at compile time so that nothing fails at event time: condition types, function
 * names, arity and argument types, field-to-field comparisons (Elasticsearch: "Comparisons against fields are
 * not (currently) supported"), pattern and `in` operands, regular expressions, sequence join keys.
 */
import { parseCidr } from "./cidr.js";
import type { EventQuery, Expr, FunctionCall, Literal, Query, SequenceQuery, SequenceStage } from "./ast.js";
import { EqlSemanticError } from "./errors.js";
import { FUNCTION_NAMES, lookupFunction, type ArgKind } from "./functions.js";
import { luceneRegexMatcher } from "./luceneAutomaton.js";
import { LuceneRegexError, luceneRegexToJs } from "./luceneRegex.js";

export type StaticType = "string" | "number" | "boolean" | "null" | "unknown";

export function staticType(e: Expr): StaticType {
  switch (e.kind) {
    case "literal":
      return e.type === "integer" || e.type === "decimal" ? "number" : e.type;
    case "field":
      return "unknown";
    case "not":
    case "and":
    case "or":
    case "comparison":
    case "pattern":
    case "in":
      return "boolean";
    case "arithmetic":
    case "negate":
      return "number";
    case "call":
      return lookupFunction(e.name)?.returns ?? "unknown";
  }
}

/** Whether arithmetic over this expression is float arithmetic (a decimal literal takes part). */
export function isFloatExpr(e: Expr): boolean {
  switch (e.kind) {
    case "literal":
      return e.type === "decimal";
    case "arithmetic":
      return isFloatExpr(e.left) || isFloatExpr(e.right);
    case "negate":
      return isFloatExpr(e.operand);
    case "call": {
      const n = e.name.toLowerCase();
      return ["add", "subtract", "multiply", "divide", "modulo"].includes(n) && e.args.some(isFloatExpr);
    }
    default:
      return false;
  }
}

const describe: Record<StaticType, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  null: "null",
  unknown: "a field",
};

class Checker {
  constructor(private readonly source: string) {}

  fail(reason: string, at: { start: number; end: number }): never {
    throw new EqlSemanticError(reason, this.source, at.start, Math.max(1, at.end - at.start));
  }

  condition(e: Expr): void {
    const t = staticType(e);
    if (t === "string" || t === "number") {
      this.fail(`expected a condition (a boolean expression), found ${describe[t]}`, e);
    }
    this.expr(e);
  }

  value(e: Expr): void {
    this.expr(e);
  }

  numeric(e: Expr, what: string): void {
    const t = staticType(e);
    if (t === "string" || t === "boolean") this.fail(`${what} must be a number, found ${describe[t]}`, e);
    this.expr(e);
  }

  expr(e: Expr): void {
    switch (e.kind) {
      case "literal":
      case "field":
        return;
      case "not":
        return this.condition(e.operand);
      case "and":
      case "or":
        for (const o of e.operands) this.condition(o);
        return;
      case "comparison": {
        // Elasticsearch rejects field-to-field comparisons, but an optional field it does not know becomes a
        // null literal first, so `?x == ?y` passes (null == null); we cannot tell which fields it knows.
        if (e.left.kind === "field" && e.right.kind === "field" && !e.left.optional && !e.right.optional) {
          this.fail(
            `comparing field '${e.left.path.join(".")}' with field '${e.right.path.join(".")}' is not supported; compare a field with a literal`,
            e,
          );
        }
        if (e.op !== "==" && e.op !== "!=") {
          for (const side of [e.left, e.right]) {
            const t = staticType(side);
            if (t === "boolean" && side.kind === "literal") {
              this.fail(`'${e.op}' cannot order ${describe[t]}`, side);
            }
          }
        }
        this.value(e.left);
        this.value(e.right);
        return;
      }
      case "pattern": {
        this.value(e.subject);
        const op = e.op === ":" ? "':'" : `'${e.op}${e.caseInsensitive ? "~" : ""}'`;
        for (const p of e.patterns) {
          if (p.kind !== "literal" || p.type !== "string") {
            const found = p.kind === "field" ? `field '${p.path.join(".")}'` : p.kind === "literal" ? describe[staticType(p)] : "an expression";
            this.fail(`${op} needs string literal patterns (wildcards * and ?${e.op === "regex" ? " do not apply; a regular expression" : ""}), found ${found}`, p);
          }
          if (e.op === "regex") this.regex(p);
        }
        return;
      }
      case "in": {
        this.value(e.subject);
        for (const v of e.values) {
          if (v.kind !== "literal") {
            this.fail(`'in' takes a list of literals, found ${v.kind === "field" ? `field '${v.path.join(".")}'` : "an expression"}`, v);
          }
        }
        return;
      }
      case "arithmetic":
        this.numeric(e.left, `left operand of '${e.op}'`);
        this.numeric(e.right, `right operand of '${e.op}'`);
        if ((e.op === "/" || e.op === "%") && e.right.kind === "literal" && e.right.value === 0) {
          this.fail(`division by zero`, e.right);
        }
        return;
      case "negate":
        return this.numeric(e.operand, "operand of unary '-'");
      case "call":
        return this.call(e);
    }
  }

  regex(p: Literal): void {
    try {
      luceneRegexToJs(p.value as string);
      // The same pattern as it will run: refused if it expands to too large an automaton.
      luceneRegexMatcher(p.value as string, false);
    } catch (err) {
      if (err instanceof LuceneRegexError) {
        this.fail(`invalid regular expression: ${err.message}`, p);
      }
      throw err;
    }
  }

  call(e: FunctionCall): void {
    const spec = lookupFunction(e.name);
    if (!spec) {
      const nameEnd = e.start + e.name.length;
      this.fail(`unknown function '${e.name}'; known functions: ${FUNCTION_NAMES.join(", ")}`, { start: e.start, end: nameEnd });
    }
    if (e.caseInsensitive && !spec.caseInsensitive) {
      this.fail(`function '${spec.name}' has no case-insensitive variant '${spec.name}~'`, { start: e.start, end: e.start + spec.name.length + 1 });
    }
    const n = e.args.length;
    if (n < spec.minArgs || n > spec.maxArgs) {
      const expected =
        spec.maxArgs === Infinity
          ? `at least ${spec.minArgs}`
          : spec.minArgs === spec.maxArgs
            ? `${spec.minArgs}`
            : `${spec.minArgs} to ${spec.maxArgs}`;
      const plural = spec.maxArgs === 1 || (spec.maxArgs === Infinity && spec.minArgs === 1) ? "" : "s";
      this.fail(`function '${spec.name}' takes ${expected} argument${plural}, found ${n}`, e);
    }
    e.args.forEach((arg, i) => {
      const kind: ArgKind = spec.argKind(i);
      if (spec.literalOnly?.includes(i) && arg.kind !== "literal") {
        this.fail(`argument ${i + 1} of '${spec.name}' must be a literal`, arg);
      }
      const t = staticType(arg);
      const ok =
        t === "unknown" ||
        t === "null" ||
        kind === "any" ||
        (kind === "string" && t === "string") ||
        (kind === "boolean" && t === "boolean") ||
        ((kind === "number" || kind === "integer") && t === "number");
      if (!ok) this.fail(`argument ${i + 1} of '${spec.name}' must be ${kind === "integer" ? "an integer" : `a ${kind}`}, found ${describe[t]}`, arg);
      if (kind === "integer" && arg.kind === "literal" && arg.type === "decimal") {
        this.fail(`argument ${i + 1} of '${spec.name}' must be an integer, found a decimal`, arg);
      }
      this.value(arg);
    });
    if (spec.name === "cidrMatch") {
      // Checked in the compiler with the parsed blocks; a malformed literal block is reported here.
      e.args.slice(1).forEach((arg) => {
        if (arg.kind === "literal" && typeof arg.value === "string" && !cidrLooksValid(arg.value)) {
          this.fail(`invalid CIDR block '${arg.value}'`, arg);
        }
      });
    }
    if (spec.name === "number" && n === 2) {
      const base = e.args[1];
      if (base.kind === "literal" && typeof base.value === "number" && (base.value < 2 || base.value > 36)) {
        this.fail(`base of 'number' must be between 2 and 36, found ${base.value}`, base);
      }
    }
  }

  eventQuery(q: EventQuery): void {
    this.condition(q.condition);
  }

  stage(s: SequenceStage): void {
    this.eventQuery(s.query);
    for (const k of s.joinKeys) this.value(k);
  }

  sequence(q: SequenceQuery): void {
    for (const k of q.joinKeys) this.value(k);
    const stages = q.until ? [...q.stages, q.until] : q.stages;
    let expected: number | undefined;
    for (const s of stages) {
      this.stage(s);
      if (expected === undefined) {
        expected = s.joinKeys.length;
      } else if (s.joinKeys.length !== expected) {
        this.fail(
          `inconsistent number of join keys: the first stage has ${expected}, this one has ${s.joinKeys.length}`,
          s.joinKeys[0] ?? s,
        );
      }
    }
    if (!q.stages.some((s) => !s.missing)) {
      this.fail("a sequence needs at least one stage that is not a missing-event stage", q);
    }
  }
}

function cidrLooksValid(s: string): boolean {
  return /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s) && cidrParses(s);
}

function cidrParses(s: string): boolean {
  return parseCidr(s) !== null;
}

/** Throws EqlSemanticError at the first problem in the query. */
export function checkQuery(query: Query): void {
  const checker = new Checker(query.source);
  if (query.body.kind === "event") checker.eventQuery(query.body);
  else checker.sequence(query.body);
}

/** Checks a lone expression used as a value (any type). */
export function checkExpression(expr: Expr, source: string): void {
  new Checker(source).value(expr);
}

/** Checks a lone expression used as a condition (tests, rule pre-filters). */
export function checkCondition(expr: Expr, source: string): void {
  new Checker(source).condition(expr);
}
