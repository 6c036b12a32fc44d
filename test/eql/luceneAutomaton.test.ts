import { describe, expect, it } from "vitest";
import { compileQuery } from "../../src/eql/index.js";
import { EqlSemanticError } from "../../src/eql/errors.js";
import { LuceneRegexError, luceneRegexToJs } from "../../src/eql/luceneRegex.js";
import { MAX_NFA_STATES, luceneRegexMatcher } from "../../src/eql/luceneAutomaton.js";
import { seededRandom, type SeededRandom } from "../helpers/seededRandom.js";

/** The reference: the backtracking RegExp the engine used before (fine on short inputs). */
function reference(pattern: string, caseInsensitive: boolean): (s: string) => boolean {
  const re = new RegExp(luceneRegexToJs(pattern), caseInsensitive ? "iu" : "u");
  return (s) => re.test(s);
}

const ATOMS = [
  "a", "b", "k", "K", "s", "\u017f", "\u212a", "é", "É", "σ", "ς", "😀", "\u{10400}", "0", "1", "\\.", "\\-", ".",
  "[a-c]", "[^ab]", "[ka]", "[\\W]", "[\\S]", "[\\w]", "[\\D_]", "[^\\s]", "[😀-\u{1F64F}]", "\\w", "\\W", "\\s", "\\S",
  "\\d", "\\D", "@", "#", '"ab"', '""', "<1-12>", "<01-10>", "<0-5>", "()",
];
const QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "{2,1}", "{0}"];
const INPUT_CHARS = [
  "a", "b", "A", "B", "k", "K", "\u212a", "s", "S", "\u017f", "é", "É", "σ", "Σ", "ς", "😀", "\u{10400}", "\u{10428}",
  "\ud83d", "\ude00", "0", "1", "2", "5", "_", "-", ".", " ", "\n", "\u00a0",
];

function randomPattern(rng: SeededRandom, depth: number): string {
  const concat = (): string => {
    let out = "";
    const parts = 1 + rng.int(3);
    for (let i = 0; i < parts; i++) {
      const atom = depth > 0 && rng.int(4) === 0 ? `(${randomPattern(rng, depth - 1)})` : rng.pick(ATOMS);
      out += atom + rng.pick(QUANTIFIERS);
    }
    return out;
  };
  let out = concat();
  if (rng.int(4) === 0) out += `|${concat()}`;
  return out;
}

/** Patterns with `&` and `~` over whole patterns, as Lucene allows them. */
function randomWholePattern(rng: SeededRandom): string {
  switch (rng.int(6)) {
    case 0:
      return `~(${randomPattern(rng, 1)})`;
    case 1:
      return `${randomPattern(rng, 1)}&${randomPattern(rng, 1)}`;
    case 2:
      return `@&~(${randomPattern(rng, 1)})|${randomPattern(rng, 0)}`;
    default:
      return randomPattern(rng, 2);
  }
}

function randomInput(rng: SeededRandom): string {
  let out = "";
  const length = rng.int(6);
  for (let i = 0; i < length; i++) out += rng.pick(INPUT_CHARS);
  return out;
}

describe("luceneRegexMatcher equals the RegExp it replaces", () => {
  for (const caseInsensitive of [false, true]) {
    it(`on random patterns and inputs (${caseInsensitive ? "regex~" : "regex"})`, () => {
      const rng = seededRandom(caseInsensitive ? 2201 : 2202);
      let matches = 0;
      for (let round = 0; round < 2500; round++) {
        const pattern = randomWholePattern(rng);
        const ours = luceneRegexMatcher(pattern, caseInsensitive);
        const theirs = reference(pattern, caseInsensitive);
        for (let i = 0; i < 12; i++) {
          const input = randomInput(rng);
          const expected = theirs(input);
          if (expected) matches++;
          expect(ours(input), `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`).toBe(expected);
        }
      }
      expect(matches).toBeGreaterThan(1500);
    });
  }

  it("on the adversarial patterns, with near-miss and matching inputs", () => {
    const cases: Array<[string, string[]]> = [
      [".*{2}{1,3}+$", ["aaaaa", "aaaa$", "$", ""]],
      ["(a+)+b", ["a".repeat(24), `${"a".repeat(24)}b`, "b"]],
      ["(a|aa)*c", ["a".repeat(24), `${"a".repeat(24)}c`, "c", "aab"]],
      ["(.*a){12}", ["a".repeat(11), "a".repeat(12), `${"a".repeat(14)}b`, "ba".repeat(12)]],
      ["(x+x+)+y", ["x".repeat(20), `${"x".repeat(20)}y`]],
      ["(\\w+\\s?)*;", [`${"word ".repeat(6)}`, `${"word ".repeat(6)};`]],
      ["([a-z]+|[0-9]+)*-", ["abc123def456", "abc123-"]],
      ["[0-9]{1,3}(\\.[0-9]{1,3}){3}", ["127.0.0.1", "1.2.3", "1234.1.1.1", "10.0.0.255"]],
      [".*base64 +(-d|-D|--decode).*", ["echo x | base64 -d | sh", "base64 -x"]],
      ["-[adir]*d[adir]*", ["-d", "-adr", "-air", "-da"]],
      ["(ab|a)(bc|c)*", ["abcbc", "abc", "acbc", "ab", "ba"]],
      ["a{2,4}|b{0,2}c", ["aa", "aaaaa", "bbc", "c", "bbbc"]],
    ];
    for (const [pattern, inputs] of cases) {
      for (const caseInsensitive of [false, true]) {
        const ours = luceneRegexMatcher(pattern, caseInsensitive);
        const theirs = reference(pattern, caseInsensitive);
        for (const input of [...inputs, ...inputs.map((s) => s.toUpperCase())]) {
          expect(ours(input), `${pattern} on ${JSON.stringify(input)}`).toBe(theirs(input));
        }
      }
    }
  });

  it("rejects exactly the patterns luceneRegexToJs rejects", () => {
    const rng = seededRandom(2203);
    const pieces = [...ATOMS, "(", ")", "[", "]", "{", "}", "&", "~", "|", "*", "<", ">", "\\", '"', "{1,", "<9-"];
    for (let round = 0; round < 4000; round++) {
      let pattern = "";
      const length = rng.int(7);
      for (let i = 0; i < length; i++) pattern += rng.pick(pieces);
      let translated = true;
      try {
        luceneRegexToJs(pattern);
      } catch (error) {
        expect(error).toBeInstanceOf(LuceneRegexError);
        translated = false;
      }
      if (translated) {
        expect(() => luceneRegexMatcher(pattern, false), pattern).not.toThrow();
      } else {
        expect(() => luceneRegexMatcher(pattern, false), pattern).toThrow(LuceneRegexError);
      }
    }
  });
});

describe("luceneRegexMatcher on long inputs", () => {
  it("decides 1 MB near misses (a backtracking RegExp would not finish)", () => {
    const as = "a".repeat(1 << 20);
    expect(luceneRegexMatcher("(a|aa)*c", false)(as)).toBe(false);
    expect(luceneRegexMatcher("(a|aa)*c", false)(`${as}c`)).toBe(true);
    expect(luceneRegexMatcher("(.*a){12}", false)(`${as}b`)).toBe(false);
    expect(luceneRegexMatcher(".*{2}{1,3}+$", true)(as)).toBe(false);
    expect(luceneRegexMatcher(".*{2}{1,3}+$", true)(`${as}$`)).toBe(true);
  });

  it("empties its cache and carries on when a pattern has more states than it keeps", () => {
    // (a|b)*a(a|b){12} has 2^13 DFA states; on random a/b input most steps make a new one.
    const rng = seededRandom(2204);
    let input = "";
    for (let i = 0; i < 20_000; i++) input += rng.pick(["a", "b"]);
    const ours = luceneRegexMatcher("(a|b)*a(a|b){12}", false);
    const theirs = reference("(a|b)*a(a|b){12}", false);
    for (let end = 19_000; end <= 20_000; end += 97) {
      expect(ours(input.slice(0, end))).toBe(theirs(input.slice(0, end)));
    }
  });
});

describe("patterns too large to compile", () => {
  it("are refused with the position of the outermost repetition", () => {
    const at = (pattern: string): number => {
      try {
        luceneRegexMatcher(pattern, false);
      } catch (error) {
        expect(error).toBeInstanceOf(LuceneRegexError);
        expect((error as Error).message).toContain(`more than ${MAX_NFA_STATES}`);
        return (error as LuceneRegexError).index;
      }
      throw new Error(`expected ${pattern} to be refused`);
    };
    expect(at("a{20000}")).toBe(1);
    expect(at("xy(a{100}){200}")).toBe(10);
    // Concatenations compile from the right: the repetition that finds no room left is named.
    expect(at("(){2000000000}")).toBe(2);
    expect(at(".{1,5000}b{1,5000}")).toBe(1);
    expect(() => luceneRegexMatcher("a{3000}", false)).not.toThrow();
  });

  it("are an EqlSemanticError at the regex in the query", () => {
    const query = 'process where process.name regex "x(a{100}){200}"';
    let error: unknown;
    try {
      compileQuery(query);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EqlSemanticError);
    const eql = error as EqlSemanticError;
    expect(eql.reason).toMatch(/^invalid regular expression: the pattern is too large: .*repetition at position 9/);
    expect(eql.offset).toBe(query.indexOf('"x('));
  });
});
