import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { parseExpression, parseQuery } from "../../src/eql/parser.js";
import { renderExpr, renderQuery } from "../../src/eql/render.js";
import { EqlSyntaxError } from "../../src/eql/errors.js";

/** Deterministic PRNG (mulberry32) so that a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

interface Outcome {
  parsed: number;
  rejected: number;
}

/** Parses `input`; only EqlSyntaxError may escape, and whatever parses must render back to the same tree. */
function check(input: string, outcome: Outcome, as: "query" | "expression" = "query"): void {
  let tree: unknown;
  try {
    tree = as === "query" ? parseQuery(input) : parseExpression(input);
  } catch (error) {
    if (!(error instanceof EqlSyntaxError)) {
      throw new Error(`input ${JSON.stringify(input)} threw ${String(error)} instead of an EqlSyntaxError`);
    }
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(input.length);
    expect(error.reason.length).toBeGreaterThan(0);
    outcome.rejected++;
    return;
  }
  outcome.parsed++;
  const rendered = as === "query" ? renderQuery(tree as never) : renderExpr(tree as never);
  let again: unknown;
  try {
    again = as === "query" ? parseQuery(rendered) : parseExpression(rendered);
  } catch (error) {
    throw new Error(`${JSON.stringify(input)} rendered as ${JSON.stringify(rendered)}, which does not parse: ${String(error)}`);
  }
  if (JSON.stringify(withoutSpans(again)) !== JSON.stringify(withoutSpans(tree))) {
    throw new Error(`${JSON.stringify(input)} rendered as ${JSON.stringify(rendered)}, which parses to a different tree`);
  }
}

const VALID_QUERIES = [
  'process where process.name : ("bash", "*sh") and not process.args : "-c" or ?x.y != null | head 3',
  'sequence by host.id with maxspan=30s [process where a == 1] by p ![file where b like~ "x*"] by q [network where c in (1, 2)] by r with runs=2 until [process where d] by s | tail 1',
  'any where startsWith~(process.name, "cur") and length(process.args) >= 3 * (2 + -1) % 4',
  'file where `odd name`.x regex "[a-z]+" and @timestamp > 1.5e3 and """raw""" == "\\u{1F600}\\n" // c\n and /* c */ true',
  "network where destination.port not in (22, 23) and source.ip in~ (\"a\", \"b\")",
];

const conformance = (
  parseToml(readFileSync("/work/shared/eql-conformance/queries.toml", "utf8")) as { queries: Array<{ query: string }> }
).queries.map((q) => q.query);

const SOUP = [
  "process", "where", "sequence", "by", "with", "maxspan", "=", "runs", "until", "any", "and", "or", "not", "in",
  "in~", "like", "like~", "regex", "regex~", "true", "false", "null", "join", "sample", "of", "|", "head", "tail",
  "filter", "[", "]", "![", "(", ")", ",", ".", ":", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "?",
  "a", "b.c", "@timestamp", "`q`", "`a``b`", "startsWith~", "length", "f", '"s"', '"a\\n"', '"\\u{41}"', '"""r"""',
  '"', "'", "`", "1", "2.5", ".5", "1e3", "30s", "5m", "0", "99999999999999999999", "//c\n", "/*c*/", "/*", "\n",
  " ", "\t", "~", "!", "&", "#", "{", "é", "😀", "\u0000", "\\", "AND", "WHERE",
];

describe("fuzz: the parser throws nothing but EqlSyntaxError", () => {
  it("every prefix and every suffix of valid queries", () => {
    const outcome: Outcome = { parsed: 0, rejected: 0 };
    for (const query of [...VALID_QUERIES, ...conformance]) {
      for (let i = 0; i <= query.length; i++) {
        check(query.slice(0, i), outcome);
        check(query.slice(i), outcome);
      }
    }
    expect(outcome.rejected).toBeGreaterThan(1000);
    expect(outcome.parsed).toBeGreaterThan(100);
  });

  it("random single-character edits of valid queries", () => {
    const next = random(1);
    const outcome: Outcome = { parsed: 0, rejected: 0 };
    const alphabet = ' \n"\'`()[]!=<>:|,.?*-+/%~&#@\\az09_';
    for (let round = 0; round < 4000; round++) {
      const query = VALID_QUERIES[round % VALID_QUERIES.length];
      const at = Math.floor(next() * query.length);
      const ch = alphabet[Math.floor(next() * alphabet.length)];
      const edit = Math.floor(next() * 3);
      const mutated =
        edit === 0 ? query.slice(0, at) + query.slice(at + 1) : edit === 1 ? query.slice(0, at) + ch + query.slice(at) : query.slice(0, at) + ch + query.slice(at + 1);
      check(mutated, outcome);
    }
    expect(outcome.parsed).toBeGreaterThan(100);
    expect(outcome.rejected).toBeGreaterThan(100);
  });

  it("random token soups, as queries and as expressions", () => {
    const next = random(2);
    const outcome: Outcome = { parsed: 0, rejected: 0 };
    for (let round = 0; round < 3000; round++) {
      const length = 1 + Math.floor(next() * 14);
      const parts: string[] = [];
      for (let i = 0; i < length; i++) parts.push(SOUP[Math.floor(next() * SOUP.length)]);
      const soup = parts.join(next() < 0.5 ? " " : "");
      check(soup, outcome, "query");
      check(soup, outcome, "expression");
      check(`process where ${soup}`, outcome, "query");
    }
    expect(outcome.rejected).toBeGreaterThan(1000);
    expect(outcome.parsed).toBeGreaterThan(10);
  });

  it("random strings of arbitrary UTF-16 code units", () => {
    const next = random(3);
    const outcome: Outcome = { parsed: 0, rejected: 0 };
    for (let round = 0; round < 4000; round++) {
      const length = Math.floor(next() * 40);
      let text = "";
      for (let i = 0; i < length; i++) {
        text += next() < 0.7 ? String.fromCharCode(32 + Math.floor(next() * 95)) : String.fromCharCode(Math.floor(next() * 0x10000));
      }
      check(text, outcome, "query");
      check(text, outcome, "expression");
    }
    expect(outcome.rejected).toBeGreaterThan(1000);
  });

  it("random well-formed expressions parse and render back to the same tree", () => {
    const next = random(4);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    const build = (depth: number): string => {
      const leaf = (): string => pick(["a", "b.c", "?d", "`e f`", "1", "2.5", '"s"', "true", "null", "f(a)", "startsWith~(a, \"x\")"]);
      if (depth <= 0) return leaf();
      switch (Math.floor(next() * 12)) {
        case 0: return `${build(depth - 1)} and ${build(depth - 1)}`;
        case 1: return `${build(depth - 1)} or ${build(depth - 1)}`;
        case 2: return `not ${build(depth - 1)}`;
        case 3: return `(${build(depth - 1)})`;
        case 4: return `${build(depth - 1)} ${pick(["+", "-", "*", "/", "%"])} ${build(depth - 1)}`;
        case 5: return `-${build(depth - 1)}`;
        case 6: return `${leaf()} ${pick(["==", "!=", "<", "<=", ">", ">="])} ${leaf()}`;
        case 7: return `${leaf()} ${pick([":", "like", "like~", "regex", "regex~"])} ${pick(['"x*"', '("a", "b")'])}`;
        case 8: return `${leaf()} ${pick(["in", "in~", "not in", "not in~"])} (${build(depth - 1)}, ${leaf()})`;
        case 9: return `concat(${build(depth - 1)}, ${build(depth - 1)})`;
        case 10: return `(${build(depth - 1)}) == (${build(depth - 1)})`;
        default: return leaf();
      }
    };
    const outcome: Outcome = { parsed: 0, rejected: 0 };
    for (let round = 0; round < 3000; round++) check(build(1 + Math.floor(next() * 5)), outcome, "expression");
    // Only (x) == (y) chains can be rejected, never by anything but a syntax error.
    expect(outcome.parsed).toBeGreaterThan(2500);
  });
});
