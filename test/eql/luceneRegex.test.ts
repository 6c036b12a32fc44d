import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import type { Expr } from "../../src/eql/ast.js";
import { parseQuery } from "../../src/eql/parser.js";
import { LuceneRegexError, intervalSource, luceneRegexToJs } from "../../src/eql/luceneRegex.js";
import { MacsensorError } from "../../src/errors.js";

function matcher(pattern: string, flags = "u"): RegExp {
  return new RegExp(luceneRegexToJs(pattern), flags);
}

function regexError(pattern: string): LuceneRegexError {
  try {
    luceneRegexToJs(pattern);
  } catch (error) {
    expect(error).toBeInstanceOf(LuceneRegexError);
    return error as LuceneRegexError;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

describe("luceneRegexToJs: what each construct matches", () => {
  // [pattern, matches, does not match]
  const cases: Array<[string, string[], string[]]> = [
    ["abc", ["abc"], ["ab", "abcd", "xabc"]],
    ["ab.", ["aba", "abz", "ab\n", "ab😀"], ["ab", "abcd"]],
    ["ab.*", ["ab", "abcde", "ab\nx"], ["a", "xab"]],
    ["abc?", ["ab", "abc"], ["abcc"]],
    ["ab+", ["ab", "abbb"], ["a"]],
    ["ab*", ["a", "abbb"], ["b"]],
    ["a{2}", ["aa"], ["a", "aaa"]],
    ["a{2,4}", ["aa", "aaaa"], ["a", "aaaaa"]],
    ["a{2,}", ["aa", "aaaaaa"], ["a"]],
    ["a{0}", [""], ["a"]],
    ["(ab)+", ["ab", "abab"], ["aba"]],
    ["abc|xyz", ["abc", "xyz"], ["abcxyz", "ab"]],
    ["a(b|c)d", ["abd", "acd"], ["ad", "abcd"]],
    ["[abc]", ["a", "c"], ["d", "ab"]],
    ["[a-c]x", ["bx"], ["dx"]],
    ["[^a-c]x", ["dx", "\nx"], ["ax", "x"]],
    ["[-a]", ["-", "a"], ["b"]],
    ["[]a]", ["]", "a"], ["b"]],
    ['"a.b*"', ["a.b*"], ["axb", "a.bb"]],
    ['x"@"y', ["x@y"], ["xy"]],
    ["\\.\\*\\\\", [".*\\"], ["a*\\"]],
    ["\\a\\-", ["a-"], []],
    ["^a$", ["^a$"], ["a"]],
    ["a/b", ["a/b"], []],
    ["\\d+", ["0", "123"], ["a", ""]],
    ["\\D", ["a"], ["1"]],
    ["\\s", [" ", "\t", "\n"], ["a", "\u00a0"]],
    ["\\S", ["a"], [" "]],
    ["\\w+", ["a_Z9"], ["-"]],
    ["\\W", ["-"], ["a"]],
    ["[\\d.]+", ["1.2"], ["a"]],
    ["@", ["", "anything\n"], []],
    ["a@", ["a", "abc"], ["b"]],
    ["@{0}", [""], ["a"]],
    ["x@{0,0}", ["x"], ["xa"]],
    ["#", [], ["", "#"]],
    ["a#|b", ["b"], ["a", "a#"]],
    ["\\#\\@\\&\\~\\<", ["#@&~<"], []],
    ["()", [""], ["a"]],
    ["a()b", ["ab"], []],
    ["a**", ["", "aaa"], ["b"]],
    ["(a+)*", ["", "aaaa"], ["b"]],
    ["(a?)+", ["", "a", "aa"], ["b"]],
    ["(a+)?", ["", "aa"], ["b"]],
    ["a{2}{3}", ["aaaaaa"], ["aaaa"]],
    ["a{3,1}", [], ["a", "aa", "aaa", ""]],
    // Lucene reads a reserved character where no operator can start as a literal.
    ["*a", ["*a"], ["a"]],
    ["+", ["+"], []],
    ["|a", ["|a"], ["a"]],
    ["a||b", ["a", "|b"], ["b"]],
    ["{", ["{"], []],
    ["]", ["]"], []],
    ["a}", ["a}"], []],
    ["😀+", ["😀😀"], ["😀x"]],
    ["[😀-😂]", ["😁"], ["a"]],
    ["", [""], ["a"]],
    // Numeric intervals.
    ["foo<1-100>", ["foo1", "foo50", "foo100", "foo007", "foo0100"], ["foo0", "foo101", "foo", "foo1a"]],
    ["<01-10>", ["01", "09", "10"], ["1", "001", "11", "00"]],
    ["<001-100>", ["001", "010", "099", "100"], ["1", "10", "0001", "101"]],
    ["<10-1>", ["1", "5", "10"], ["0", "11"]],
    ["<0-0>", ["0"], ["1", ""]],
    ["<0-5>", ["0", "5"], ["6"]],
    ["v<7-7>", ["v7"], ["v6", "v8"]],
    // Intersection and complement over whole patterns.
    ["@&~(abc.+)", ["abc", "ab", "x", ""], ["abcd", "abc\n"]],
    ["~(abc.+)", ["abc", "xyz"], ["abcd"]],
    ["~(abc)", ["ab", "abcd", ""], ["abc"]],
    ["~(a|b)", ["", "c", "ab"], ["a", "b"]],
    ["aaa.+&.+bbb", ["aaabbb", "aaaxbbb"], ["aaab", "abbb"]],
    ["a.*&.*b&.*c.*", ["acb", "axcyb"], ["ab", "acx"]],
    ["x|~(x.*)", ["x", "y", ""], ["xa"]],
    ["(~x)", ["y"], ["x"]],
  ];

  for (const [pattern, yes, no] of cases) {
    it(`${JSON.stringify(pattern)}`, () => {
      const re = matcher(pattern);
      for (const text of yes) expect(re.test(text), `${JSON.stringify(text)} should match`).toBe(true);
      for (const text of no) expect(re.test(text), `${JSON.stringify(text)} should not match`).toBe(false);
    });
  }

  it("anchors the result", () => {
    expect(luceneRegexToJs("a.b")).toBe("^(?:a[\\s\\S]b)$");
    expect(luceneRegexToJs("a|b")).toBe("^(?:a|b)$");
  });

  it("collapses nested simple quantifiers so the JS engine cannot backtrack on them", () => {
    expect(luceneRegexToJs("a**")).toBe("^(?:a*)$");
    expect(luceneRegexToJs("(a+)*")).toBe("^(?:a*)$");
    expect(luceneRegexToJs("(a?)?")).toBe("^(?:a?)$");
    expect(luceneRegexToJs("(a+)+")).toBe("^(?:a+)$");
  });

  it("works with the i flag for regex~", () => {
    expect(matcher("[a-c]+X", "iu").test("ABCx")).toBe(true);
  });

  it("produces sources valid with and without the u flag on many patterns", () => {
    const patterns = ["a.b", "[^-]", "(a|b)*c{2,}", "\\d\\s\\w", "<1-1000>", "@&~(x)", "#*", "()*", '"(["', "[\\]]"];
    for (const pattern of patterns) {
      expect(() => new RegExp(luceneRegexToJs(pattern), "u")).not.toThrow();
      expect(() => new RegExp(luceneRegexToJs(pattern))).not.toThrow();
    }
  });
});

describe("intervalSource", () => {
  it("matches exactly the numbers of a range, checked against every number up to 1200", () => {
    const ranges: Array<[number, number, number]> = [
      [0, 9, 0],
      [3, 1000, 0],
      [17, 1100, 0],
      [99, 101, 0],
      [5, 5, 0],
      [7, 123, 3],
      [0, 999, 3],
      [250, 260, 3],
    ];
    for (const [min, max, digits] of ranges) {
      const re = new RegExp(`^(?:${intervalSource(min, max, digits)})$`);
      for (let n = 0; n <= 1200; n++) {
        const text = digits > 0 ? String(n).padStart(digits, "0") : String(n);
        expect(re.test(text), `${text} in <${min}-${max}>/${digits}`).toBe(n >= min && n <= max && text.length <= Math.max(digits, text.length));
      }
    }
  });
});

describe("luceneRegexToJs: rejected patterns", () => {
  // [pattern, message, index]
  const cases: Array<[string, string, number]> = [
    ["a(b", "expected ')' at position 3 to close the '(' at 1", 3],
    ["a)", "unexpected ')' at position 1: this ')' closes no '('", 1],
    ["[a", "expected ']' at position 2 to close the class opened at 0", 2],
    ["[", "unexpected end of pattern", 1],
    ["[]", "expected ']' at position 2 to close the class opened at 0", 2],
    ["a{", "expected a number after '{' at position 2 (repetition opened at 1)", 2],
    ["a{x}", "expected a number after '{' at position 2 (repetition opened at 1)", 2],
    ["a{2", "expected '}' at position 3 to close the repetition at 1", 3],
    ["a{2,x}", "expected '}' at position 4 to close the repetition at 1", 4],
    ["a{99999999999}", "repetition count 99999999999 is too large", 2],
    ["a\\", "unexpected end of pattern", 2],
    ["a|", "unexpected end of pattern", 2],
    ["~", "unexpected end of pattern", 1],
    ['"abc', "expected '\"' to close the literal string opened at position 0", 4],
    ["<abc>", "named automata such as <abc> are not supported; write a numeric interval <n-m>", 0],
    ["x<1-2", "expected '>' to close the '<' at position 1", 5],
    ["<1-x>", "interval syntax error at position 0: expected <n-m> with whole numbers, found <1-x>", 0],
    ["<-1>", "interval syntax error at position 0: expected <n-m> with whole numbers, found <-1>", 0],
    ["<1-2-3>", "interval syntax error at position 0: expected <n-m> with whole numbers, found <1-2-3>", 0],
    ["<1-99999999999>", "interval <1-99999999999> is too large (numbers up to 2147483647)", 0],
    ["[z-a]", "invalid range z-a at position 1: 'z' comes after 'a'", 1],
    [
      "(a&b)c",
      "the intersection operator '&' can only join whole patterns (e.g. @&~(abc.*)); escape it as \\& to match a literal '&'",
      2,
    ],
    [
      "x(a&b)",
      "the intersection operator '&' can only join whole patterns (e.g. @&~(abc.*)); escape it as \\& to match a literal '&'",
      3,
    ],
    [
      "a~b",
      "the complement operator '~' can only apply to a whole pattern (e.g. ~(abc.*)); escape it as \\~ to match a literal '~'",
      1,
    ],
    [
      "~abc",
      "the complement operator '~' can only apply to a whole pattern (e.g. ~(abc.*)); escape it as \\~ to match a literal '~'",
      0,
    ],
    [
      "(~a)*",
      "the complement operator '~' can only apply to a whole pattern (e.g. ~(abc.*)); escape it as \\~ to match a literal '~'",
      1,
    ],
  ];
  for (const [pattern, message, index] of cases) {
    it(`${JSON.stringify(pattern)} → ${message}`, () => {
      const error = regexError(pattern);
      expect(error.message).toBe(message);
      expect(error.index).toBe(index);
      expect(error).toBeInstanceOf(MacsensorError);
      expect(error.name).toBe("LuceneRegexError");
    });
  }

  it("never throws anything but LuceneRegexError, and what it returns compiles", () => {
    let state = 7;
    const next = (): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x80000000;
    };
    const alphabet = 'ab.?+*{}0129,|()[]^-"\\#@&~<>dswDSW$/😀é';
    const chars = [...alphabet, "\uD800", "\uDC00", "\n", "\u0000"];
    for (let round = 0; round < 5000; round++) {
      let pattern = "";
      const length = Math.floor(next() * 10);
      for (let i = 0; i < length; i++) pattern += chars[Math.floor(next() * chars.length)];
      try {
        const source = luceneRegexToJs(pattern);
        new RegExp(source, "u");
        new RegExp(source, "iu");
        new RegExp(source);
      } catch (error) {
        if (!(error instanceof LuceneRegexError)) throw new Error(`${JSON.stringify(pattern)}: ${String(error)}`);
        expect(error.index).toBeGreaterThanOrEqual(0);
        expect(error.index).toBeLessThanOrEqual(pattern.length);
      }
    }
  });
});

describe("the regex patterns of the project's rules", () => {
  it("all translate, and the keychain rules' patterns match what they are written for", () => {
    const rulesDir = fileURLToPath(new URL("../../rules", import.meta.url));
    const patterns: string[] = [];
    const collect = (expr: Expr): void => {
      if (expr.kind === "pattern" && expr.op === "regex") {
        for (const p of expr.patterns) if (p.kind === "literal" && typeof p.value === "string") patterns.push(p.value);
      }
      if (expr.kind === "and" || expr.kind === "or") expr.operands.forEach(collect);
      if (expr.kind === "not") collect(expr.operand);
    };
    for (const file of readdirSync(rulesDir, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".toml")) continue;
      const doc = parseToml(readFileSync(join(rulesDir, file), "utf8")) as { rule?: { language?: string; query?: string } };
      if (doc.rule?.language !== "eql" || typeof doc.rule.query !== "string") continue;
      const body = parseQuery(doc.rule.query).body;
      if (body.kind === "event") collect(body.condition);
    }
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) expect(() => new RegExp(luceneRegexToJs(pattern), "u")).not.toThrow();
    const setPartition = patterns.find((p) => p.startsWith("set-"));
    if (setPartition) {
      const re = matcher(setPartition);
      expect(re.test("set-key-partition-list")).toBe(true);
      expect(re.test("set-generic-password-partition-list")).toBe(true);
      expect(re.test("xset-key-partition-list")).toBe(false);
    }
  });
});
