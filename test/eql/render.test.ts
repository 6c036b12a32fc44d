import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import type { Expr, Query } from "../../src/eql/ast.js";
import { parseExpression, parseQuery } from "../../src/eql/parser.js";
import { renderExpr, renderQuery, renderString } from "../../src/eql/render.js";

/** The tree without offsets (and without the source text), for comparing trees parsed from different text. */
function withoutSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSpans);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key !== "start" && key !== "end" && key !== "source") out[key] = withoutSpans(inner);
    }
    return out;
  }
  return value;
}

function expectStable(query: string): string {
  const first = parseQuery(query);
  const rendered = renderQuery(first);
  const second = parseQuery(rendered);
  expect(withoutSpans(second)).toEqual(withoutSpans(first));
  expect(renderQuery(second)).toBe(rendered);
  return rendered;
}

const span = { start: 0, end: 0 };
const field = (name: string): Expr => ({ kind: "field", path: name.split("."), optional: false, ...span });
const int = (value: number): Expr => ({ kind: "literal", type: "integer", value, ...span });

describe("renderExpr: canonical text", () => {
  const cases: Array<[string, string]> = [
    ["a==1", "a == 1"],
    ["a  !=  \"x\"", 'a != "x"'],
    ["(a)", "a"],
    ["((a == 1))", "a == 1"],
    ["a and (b or c)", "a and (b or c)"],
    ["(a and b) or c", "a and b or c"],
    ["(a and b) and c", "a and b and c"],
    ["not (a and b)", "not (a and b)"],
    ["not (a == b)", "not a == b"],
    ["not not a", "not not a"],
    ["(not a) and b", "not a and b"],
    ["a - (b - c)", "a - (b - c)"],
    ["(a - b) - c", "a - b - c"],
    ["a * (b + c)", "a * (b + c)"],
    ["(a * b) + c", "a * b + c"],
    ["-(a + b)", "-(a + b)"],
    ["-(-a)", "- -a"],
    ["+a", "a"],
    ["a : (\"x\")", 'a : "x"'],
    ["a : (\"x\", \"y\")", 'a : ("x", "y")'],
    ["a like~ \"x\"", 'a like~ "x"'],
    ["a regex (\"x\", \"y\")", 'a regex ("x", "y")'],
    ["a in~ (1,2)", "a in~ (1, 2)"],
    ["not a in (1)", "a not in (1)"],
    ["a not in~ (\"x\")", 'a not in~ ("x")'],
    ["(a + b) : \"x\"", '(a + b) : "x"'],
    ["a + (b : \"x\")", 'a + b : "x"'],
    ["(a == b) == c", "(a == b) == c"],
    ["a == b == c", "error"],
    ["startsWith~(a, \"b\")", 'startsWith~(a, "b")'],
    ["STARTSWITH(a, \"b\")", 'startsWith(a, "b")'],
    ["f()", "f()"],
    ["add((a or b), 1)", "add(a or b, 1)"],
    ["?a.b", "?a.b"],
    ["`a b`.c", "`a b`.c"],
    ["`a``b`", "`a``b`"],
    ["`a.b`", "`a.b`"],
    ["`plain`", "plain"],
    ["`where`.`any`", "`where`.`any`"],
    ["event.any", "event.`any`"],
    ["`1x`", "`1x`"],
    ["@timestamp", "@timestamp"],
    ["1.0", "1.0"],
    ["1.", "1.0"],
    [".5", "0.5"],
    ["5e14", "500000000000000.0"],
    ["1e21", "1e+21"],
    ["2.5e-7", "2.5e-7"],
    ["true or false or null", "true or false or null"],
    ['"""C:\\x"""', '"C:\\\\x"'],
  ];
  for (const [source, expected] of cases) {
    it(`${source} → ${expected}`, () => {
      if (expected === "error") {
        expect(() => parseExpression(source)).toThrow();
        return;
      }
      const rendered = renderExpr(parseExpression(source));
      expect(rendered).toBe(expected);
      expect(withoutSpans(parseExpression(rendered))).toEqual(withoutSpans(parseExpression(source)));
    });
  }

  it("adds the parentheses hand-built trees need", () => {
    const cmp = (l: Expr, r: Expr): Expr => ({ kind: "comparison", op: "==", left: l, right: r, ...span });
    expect(renderExpr(cmp(cmp(field("a"), field("b")), field("c")))).toBe("(a == b) == c");
    expect(renderExpr({ kind: "and", operands: [field("a"), { kind: "and", operands: [field("b"), field("c")], ...span }], ...span })).toBe(
      "a and (b and c)",
    );
    expect(renderExpr({ kind: "negate", operand: { kind: "negate", operand: int(1), ...span }, ...span })).toBe("- -1");
    expect(renderExpr({ kind: "arithmetic", op: "*", left: field("a"), right: int(-2), ...span })).toBe("a * -2");
    expect(renderExpr({ kind: "pattern", op: ":", caseInsensitive: true, subject: int(-2), patterns: [int(1)], ...span })).toBe("(-2) : 1");
    expect(
      renderExpr({ kind: "in", caseInsensitive: false, subject: { kind: "not", operand: field("a"), ...span }, values: [int(1)], ...span }),
    ).toBe("(not a) in (1)");
  });
});

describe("renderString", () => {
  it("escapes quotes, backslashes and control characters and keeps everything else", () => {
    expect(renderString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(renderString("l1\nl2\r\t")).toBe('"l1\\nl2\\r\\t"');
    expect(renderString("\u0000\u001f\u007f")).toBe('"\\u{0}\\u{1F}\\u{7F}"');
    expect(renderString("é😀 'x'")).toBe("\"é😀 'x'\"");
    expect(renderString("\b\f")).toBe('"\\u{8}\\u{C}"');
  });

  it("reads back as the same value", () => {
    for (const value of ["", 'a"b', "\\", "x\ny", "\u0001", "😀", "tab\there", "\\u{41}"]) {
      expect(parseExpression(renderString(value))).toMatchObject({ type: "string", value });
    }
  });
});

describe("renderQuery", () => {
  it("renders event queries, categories and pipes", () => {
    expect(renderQuery(parseQuery('process where  a == 1 |head 5| tail 2'))).toBe("process where a == 1 | head 5 | tail 2");
    expect(renderQuery(parseQuery("any where true"))).toBe("any where true");
    expect(renderQuery(parseQuery('"any" where true'))).toBe('"any" where true');
    expect(renderQuery(parseQuery('"my cat" where true'))).toBe('"my cat" where true');
    expect(renderQuery(parseQuery('"process" where true'))).toBe("process where true");
  });

  it("renders sequences one stage a line", () => {
    const q = parseQuery(
      "sequence by h with maxspan=5m [process where a] by p ![file where b] by q with runs=2 until [process where c] by p | head 1",
    );
    expect(renderQuery(q)).toBe(
      [
        "sequence by h with maxspan=5m",
        "  [process where a] by p",
        "  ![file where b] by q with runs=2",
        "until [process where c] by p | head 1",
      ].join("\n"),
    );
  });

  it("is stable on hand-written queries covering every construct", () => {
    const queries = [
      'process where process.name : ("bash", "*sh") and not process.args : "-c" or ?x.y != null',
      'process where startsWith~(process.name, "cur") and length(process.args) >= 3 * (2 + 1) % 4',
      "process where -a + -(b * c) / d - e % 2 < 10",
      "file where file.path like~ (\"/tmp/*\", \"/var/?\") and file.name regex \"[a-z]+\\\\.sh\"",
      "network where destination.port in (22, 23) and source.ip not in~ (\"10.0.0.1\")",
      'process where `odd.name` == "x" and `a``b`.c == 1 and @timestamp > 0 and event.any == 1',
      'process where """raw "quoted" \\n""" == "esc\\n\\t\\"" and "\\u{1F600}" == x',
      "sequence by host.id with maxspan=1h [process where true] by process.pid ![process where false] by process.parent.pid [file where true] by process.pid with runs=5 until [process where event.type == \"end\"] by process.pid | tail 3",
      "sequence [a where true] [b where true]",
      'process where not (a or b) and not not c and (d or e and f)',
      "process where 1.5 == 1. and .5 < 5e3 and true != false and null == x",
      "any where cidrMatch(source.ip, \"10.0.0.0/8\", \"192.168.0.0/16\") == true",
      "process where (a + b) : \"x\" and (not c) in (true) and -x in (1)",
    ];
    for (const query of queries) expectStable(query);
  });

  it("is stable on every query of the conformance suite", () => {
    const suite = parseToml(readFileSync("/work/shared/eql-conformance/queries.toml", "utf8")) as {
      queries: Array<{ name: string; query: string }>;
    };
    expect(suite.queries.length).toBeGreaterThanOrEqual(100);
    for (const { query } of suite.queries) expectStable(query);
  });

  it("is stable on every EQL rule the project ships in rules/", () => {
    const rulesDir = fileURLToPath(new URL("../../rules", import.meta.url));
    const files = readdirSync(rulesDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".toml"));
    let checked = 0;
    for (const file of files) {
      const doc = parseToml(readFileSync(join(rulesDir, file), "utf8")) as { rule?: { language?: string; query?: string } };
      if (doc.rule?.language !== "eql" || typeof doc.rule.query !== "string") continue;
      expectStable(doc.rule.query);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("keeps the structure of a parsed query exactly", () => {
    const q: Query = parseQuery("sequence by a [x where b] by c [y where d] by e");
    const again = parseQuery(renderQuery(q));
    expect(withoutSpans(again.body)).toEqual(withoutSpans(q.body));
  });
});
