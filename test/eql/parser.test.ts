import { describe, expect, it } from "vitest";
import type { Expr, SequenceQuery } from "../../src/eql/ast.js";
import { parseExpression, parseQuery, canonicalFunctionName, MAX_NESTING } from "../../src/eql/parser.js";
import { EqlSyntaxError } from "../../src/eql/errors.js";

/** A compact S-expression of a tree, so that tests can pin structure and precedence in one line. */
function shape(expr: Expr): string {
  switch (expr.kind) {
    case "literal":
      if (expr.type === "string") return JSON.stringify(expr.value);
      if (expr.type === "decimal") return `${String(expr.value)}d`;
      return String(expr.value);
    case "field":
      return (expr.optional ? "?" : "") + expr.path.map((p) => (p.includes(".") ? `[${p}]` : p)).join(".");
    case "not":
      return `(not ${shape(expr.operand)})`;
    case "and":
    case "or":
      return `(${expr.kind} ${expr.operands.map(shape).join(" ")})`;
    case "comparison":
      return `(${expr.op} ${shape(expr.left)} ${shape(expr.right)})`;
    case "arithmetic":
      return `(${expr.op} ${shape(expr.left)} ${shape(expr.right)})`;
    case "negate":
      return `(neg ${shape(expr.operand)})`;
    case "pattern": {
      const op = expr.op === ":" ? ":" : `${expr.op}${expr.caseInsensitive ? "~" : ""}`;
      return `(${op} ${shape(expr.subject)} ${expr.patterns.map(shape).join(" ")})`;
    }
    case "in":
      return `(${expr.caseInsensitive ? "in~" : "in"} ${shape(expr.subject)} ${expr.values.map(shape).join(" ")})`;
    case "call":
      return `(${expr.name}${expr.caseInsensitive ? "~" : ""}${expr.args.map((a) => ` ${shape(a)}`).join("")})`;
  }
}

const e = (source: string): string => shape(parseExpression(source));

function sequence(source: string): SequenceQuery {
  const body = parseQuery(source).body;
  if (body.kind !== "sequence") throw new Error("not a sequence");
  return body;
}

describe("literals", () => {
  it("parses strings, numbers, booleans and null with their types", () => {
    expect(parseExpression('"a"')).toEqual({ kind: "literal", type: "string", value: "a", start: 0, end: 3 });
    expect(parseExpression('"""r\\n"""')).toMatchObject({ type: "string", value: "r\\n" });
    expect(parseExpression("42")).toEqual({ kind: "literal", type: "integer", value: 42, start: 0, end: 2 });
    expect(parseExpression("9007199254740991")).toMatchObject({ type: "integer", value: Number.MAX_SAFE_INTEGER });
    expect(parseExpression("4.5")).toMatchObject({ type: "decimal", value: 4.5 });
    expect(parseExpression("1.")).toMatchObject({ type: "decimal", value: 1 });
    expect(parseExpression(".25")).toMatchObject({ type: "decimal", value: 0.25 });
    expect(parseExpression("5e14")).toMatchObject({ type: "decimal", value: 5e14 });
    expect(parseExpression("2.5E-3")).toMatchObject({ type: "decimal", value: 0.0025 });
    expect(parseExpression("true")).toEqual({ kind: "literal", type: "boolean", value: true, start: 0, end: 4 });
    expect(parseExpression("false")).toMatchObject({ type: "boolean", value: false });
    expect(parseExpression("null")).toEqual({ kind: "literal", type: "null", value: null, start: 0, end: 4 });
  });

  it("parses a negative number as a negation (as Elasticsearch does)", () => {
    expect(parseExpression("-5.2")).toEqual({
      kind: "negate",
      operand: { kind: "literal", type: "decimal", value: 5.2, start: 1, end: 4 },
      start: 0,
      end: 4,
    });
    expect(e("+5")).toBe("5");
    expect(e("- -5")).toBe("(neg (neg 5))");
    expect(e("--5")).toBe("(neg (neg 5))");
  });
});

describe("fields", () => {
  it("parses dotted names, @names, backtick names and optional fields", () => {
    expect(parseExpression("process.parent.name")).toEqual({
      kind: "field",
      path: ["process", "parent", "name"],
      optional: false,
      start: 0,
      end: 19,
    });
    expect(parseExpression("@timestamp")).toMatchObject({ path: ["@timestamp"] });
    expect(parseExpression("`my field`.`a.b`.c")).toMatchObject({ path: ["my field", "a.b", "c"] });
    expect(parseExpression("`a``b`")).toMatchObject({ path: ["a`b"] });
    expect(parseExpression("?process.name")).toEqual({
      kind: "field",
      path: ["process", "name"],
      optional: true,
      start: 0,
      end: 13,
    });
    expect(parseExpression("?`odd name`")).toMatchObject({ path: ["odd name"], optional: true });
    expect(parseExpression("a . b")).toMatchObject({ path: ["a", "b"] });
  });

  it("accepts reserved words after a dot, where they can only be names", () => {
    expect(parseExpression("event.any.by")).toMatchObject({ path: ["event", "any", "by"] });
  });

  it("keeps names in the case written", () => {
    expect(parseExpression("Process.Name")).toMatchObject({ path: ["Process", "Name"] });
  });
});

describe("functions", () => {
  it("canonicalises the 16 known names case-insensitively", () => {
    const names = [
      "add", "between", "cidrMatch", "concat", "divide", "endsWith", "indexOf", "length", "modulo",
      "multiply", "number", "startsWith", "string", "stringContains", "substring", "subtract",
    ];
    for (const name of names) {
      expect(canonicalFunctionName(name.toUpperCase())).toBe(name);
      expect(canonicalFunctionName(name.toLowerCase())).toBe(name);
      expect(parseExpression(`${name.toUpperCase()}(a)`)).toMatchObject({ kind: "call", name, caseInsensitive: false });
    }
  });

  it("keeps unknown names as written (the checker reports them)", () => {
    expect(parseExpression("myFunc(1)")).toMatchObject({ kind: "call", name: "myFunc" });
    expect(canonicalFunctionName("WildCard")).toBe("WildCard");
  });

  it("parses the ~ form, no arguments, nested calls and spans", () => {
    expect(parseExpression('startswith~(process.name, "a")')).toEqual({
      kind: "call",
      name: "startsWith",
      caseInsensitive: true,
      args: [
        { kind: "field", path: ["process", "name"], optional: false, start: 12, end: 24 },
        { kind: "literal", type: "string", value: "a", start: 26, end: 29 },
      ],
      start: 0,
      end: 30,
    });
    expect(e("f()")).toBe("(f)");
    expect(e("length (a)")).toBe("(length a)");
    expect(e("concat(a, substring(b, 1, 2), -1)")).toBe("(concat a (substring b 1 2) (neg 1))");
    expect(e("add(a or b, 1)")).toBe("(add (or a b) 1)");
  });
});

describe("operators and precedence", () => {
  const cases: Array<[string, string]> = [
    ["a == 1", "(== a 1)"],
    ["a != 1", "(!= a 1)"],
    ["a < 1", "(< a 1)"],
    ["a <= 1", "(<= a 1)"],
    ["a > 1", "(> a 1)"],
    ["a >= 1", "(>= a 1)"],
    ["a and b", "(and a b)"],
    ["a or b", "(or a b)"],
    ["a and b and c", "(and a b c)"],
    ["a or b or c", "(or a b c)"],
    ["(a and b) and c", "(and a b c)"],
    ["a and (b and c)", "(and a b c)"],
    ["a or b and c", "(or a (and b c))"],
    ["a and b or c and d", "(or (and a b) (and c d))"],
    ["(a or b) and c", "(and (or a b) c)"],
    ["not a", "(not a)"],
    ["not not a", "(not (not a))"],
    ["not a and b", "(and (not a) b)"],
    ["not a or b", "(or (not a) b)"],
    ["not a == b", "(not (== a b))"],
    ["not (a and b)", "(not (and a b))"],
    ["a == b and c != d", "(and (== a b) (!= c d))"],
    ["1 + 2 * 3", "(+ 1 (* 2 3))"],
    ["1 * 2 + 3", "(+ (* 1 2) 3)"],
    ["1 - 2 - 3", "(- (- 1 2) 3)"],
    ["8 / 4 / 2", "(/ (/ 8 4) 2)"],
    ["7 % 3 * 2", "(* (% 7 3) 2)"],
    ["(1 + 2) * 3", "(* (+ 1 2) 3)"],
    ["-a * b", "(* (neg a) b)"],
    ["-(a * b)", "(neg (* a b))"],
    ["1 * -2 <= -3 * 4", "(<= (* 1 (neg 2)) (* (neg 3) 4))"],
    ["a + 1 == b - 2", "(== (+ a 1) (- b 2))"],
    ["a : \"x\"", '(: a "x")'],
    ["a : (\"x\", \"y*\")", '(: a "x" "y*")'],
    ["a : (\"x\")", '(: a "x")'],
    ["a like \"x*\"", '(like a "x*")'],
    ["a like~ (\"x\", \"y\")", '(like~ a "x" "y")'],
    ["a regex \".*\"", '(regex a ".*")'],
    ["a regex~ \"a.\"", '(regex~ a "a.")'],
    ["a : 1", "(: a 1)"],
    ["a : null", "(: a null)"],
    ["a in (1, 2)", "(in a 1 2)"],
    ["a in~ (\"x\")", '(in~ a "x")'],
    ["a not in (1, 2)", "(not (in a 1 2))"],
    ["a not in~ (\"x\")", '(not (in~ a "x"))'],
    ["not a in (1)", "(not (in a 1))"],
    ["a in (b, c + 1, d or e)", "(in a b (+ c 1) (or d e))"],
    ["a : \"x\" and b : \"y\"", '(and (: a "x") (: b "y"))'],
    ["a : \"x\" or not b like \"y\"", '(or (: a "x") (not (like b "y")))'],
    // A predicate binds to the primary right before it (Elasticsearch's grammar).
    ["a + b : \"x\"", '(+ a (: b "x"))'],
    ["-a in (1)", "(neg (in a 1))"],
    ["a == b in (1)", "(== a (in b 1))"],
    ["length(a) : \"x\"", '(: (length a) "x")'],
    ["(a + b) in (1)", "(in (+ a b) 1)"],
    ["\"x\" : a.b", "error"],
  ];
  for (const [source, expected] of cases) {
    it(`${source} → ${expected}`, () => {
      if (expected === "error") expect(() => parseExpression(source)).toThrow(EqlSyntaxError);
      else expect(e(source)).toBe(expected);
    });
  }

  it("gives every node the span of its source text", () => {
    const source = "not (a + 1) * 2 == -b or c : (\"x\") and d not in (1)";
    const spans: string[] = [];
    const walk = (x: Expr): void => {
      spans.push(`${x.kind}:${source.slice(x.start, x.end)}`);
      if (x.kind === "not" || x.kind === "negate") walk(x.operand);
      else if (x.kind === "and" || x.kind === "or") x.operands.forEach(walk);
      else if (x.kind === "comparison" || x.kind === "arithmetic") {
        walk(x.left);
        walk(x.right);
      } else if (x.kind === "pattern") {
        walk(x.subject);
        x.patterns.forEach(walk);
      } else if (x.kind === "in") {
        walk(x.subject);
        x.values.forEach(walk);
      }
    };
    walk(parseExpression(source));
    expect(spans).toEqual([
      `or:${source}`,
      "not:not (a + 1) * 2 == -b",
      "comparison:(a + 1) * 2 == -b",
      "arithmetic:(a + 1) * 2",
      "arithmetic:a + 1",
      "field:a",
      "literal:1",
      "literal:2",
      "negate:-b",
      "field:b",
      'and:c : ("x") and d not in (1)',
      'pattern:c : ("x")',
      "field:c",
      'literal:"x"',
      "not:d not in (1)",
      "in:d not in (1)",
      "field:d",
      "literal:1",
    ]);
  });

  it("ignores comments anywhere", () => {
    expect(e("a /* x */ == // y\n 1")).toBe("(== a 1)");
  });
});

describe("event queries", () => {
  it("parses the category as a name, a string or any", () => {
    expect(parseQuery("process where true")).toEqual({
      body: {
        kind: "event",
        category: "process",
        condition: { kind: "literal", type: "boolean", value: true, start: 14, end: 18 },
        start: 0,
        end: 18,
      },
      pipes: [],
      source: "process where true",
      start: 0,
      end: 18,
    });
    expect(parseQuery('"my category" where true').body).toMatchObject({ category: "my category" });
    expect(parseQuery("any where true").body).toMatchObject({ category: null });
    expect(parseQuery('"any" where true').body).toMatchObject({ category: "any" });
    expect(parseQuery("Process where true").body).toMatchObject({ category: "Process" });
  });

  it("parses head and tail pipes in order", () => {
    const q = parseQuery("process where true | head 10 | tail 3");
    expect(q.pipes).toEqual([
      { kind: "head", count: 10, start: 19, end: 28 },
      { kind: "tail", count: 3, start: 29, end: 37 },
    ]);
    expect(q.end).toBe(37);
    expect(parseQuery("any where true | head 0").pipes[0].count).toBe(0);
  });

  it("keeps the source and ignores surrounding whitespace and comments", () => {
    const source = "  // rule\n process where a == 1 /* end */ ";
    const q = parseQuery(source);
    expect(q.source).toBe(source);
    expect([q.start, q.end]).toEqual([11, 31]);
  });
});

describe("sequences", () => {
  it("parses keys, maxspan, stages, stage keys, runs, missing stages and until", () => {
    const s = sequence(
      "sequence by host.id, user.name with maxspan=30s\n" +
        "  [process where a] by process.pid\n" +
        "  ![file where b] by process.ppid\n" +
        "  [network where c] by x with runs=3\n" +
        "until [process where d] by process.pid",
    );
    expect(s.joinKeys.map(shape)).toEqual(["host.id", "user.name"]);
    expect(s.maxspan).toEqual({ value: 30, unit: "s", millis: 30_000, start: 44, end: 47 });
    expect(s.stages.map((st) => [st.query.category, shape(st.query.condition), st.joinKeys.map(shape), st.runs, st.missing])).toEqual([
      ["process", "a", ["process.pid"], 1, false],
      ["file", "b", ["process.ppid"], 1, true],
      ["network", "c", ["x"], 3, false],
    ]);
    expect(s.until).toMatchObject({ runs: 1, missing: false, query: { category: "process" } });
    expect(s.until?.joinKeys.map(shape)).toEqual(["process.pid"]);
  });

  it("gives stages their spans, from the bracket to the last key or run count", () => {
    const source = "sequence [process where a] by k ![file where b] by k with runs=2";
    const s = sequence(source);
    expect(s.stages.map((st) => source.slice(st.start, st.end))).toEqual([
      "[process where a] by k",
      "![file where b] by k with runs=2",
    ]);
    expect(source.slice(s.stages[0].query.start, s.stages[0].query.end)).toBe("process where a");
    expect([s.start, s.end]).toEqual([0, source.length]);
  });

  it("converts every maxspan unit to milliseconds", () => {
    const units: Array<[string, number]> = [["ms", 1], ["s", 1000], ["m", 60_000], ["h", 3_600_000], ["d", 86_400_000]];
    for (const [unit, factor] of units) {
      const s = sequence(`sequence with maxspan=7${unit} [a where true] [b where true]`);
      expect(s.maxspan).toMatchObject({ value: 7, unit, millis: 7 * factor });
    }
    expect(sequence("sequence with maxspan = 2 m [a where true] [b where true]").maxspan?.millis).toBe(120_000);
  });

  it("allows no keys, no maxspan, and a sequence followed by pipes", () => {
    const q = parseQuery("sequence [a where true] [b where true] | head 1");
    expect(q.body).toMatchObject({ kind: "sequence", joinKeys: [], maxspan: null, until: null });
    expect(q.pipes).toHaveLength(1);
  });

  it("accepts up to 100 runs", () => {
    expect(sequence("sequence [a where true] with runs=100 [b where true]").stages[0].runs).toBe(100);
  });
});

describe("nesting", () => {
  it(`accepts ${MAX_NESTING - 1} levels of parentheses`, () => {
    const depth = MAX_NESTING - 1;
    expect(e("(".repeat(depth) + "a" + ")".repeat(depth))).toBe("a");
  });

  it("rejects deeper nesting with an EqlSyntaxError, not a stack overflow", () => {
    for (const source of [
      "(".repeat(100_000) + "a" + ")".repeat(100_000),
      "not ".repeat(100_000) + "a",
      "-".repeat(100_000) + "a",
      "f(".repeat(50_000) + ")".repeat(50_000),
      "a in (".repeat(50_000) + "1" + ")".repeat(50_000),
    ]) {
      expect(() => parseExpression(source)).toThrow(`expression nested too deeply (more than ${MAX_NESTING} levels)`);
    }
  });

  it("handles very long flat chains without recursion", () => {
    const source = Array.from({ length: 20_000 }, (_, i) => `a == ${i}`).join(" or ");
    const tree = parseExpression(source);
    expect(tree.kind === "or" && tree.operands.length).toBe(20_000);
  });
});
