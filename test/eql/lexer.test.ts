import { describe, expect, it } from "vitest";
import { tokenize } from "../../src/eql/lexer.js";
import { EqlSyntaxError } from "../../src/eql/errors.js";
import { KEYWORDS } from "../../src/eql/tokens.js";

/** kind:value pairs without the final eof, for compact expectations. */
function kinds(source: string): string[] {
  return tokenize(source)
    .filter((t) => t.kind !== "eof")
    .map((t) => `${t.kind}:${t.value}`);
}

function single(source: string) {
  const tokens = tokenize(source);
  expect(tokens).toHaveLength(2);
  return tokens[0];
}

function lexError(source: string): EqlSyntaxError {
  try {
    tokenize(source);
  } catch (error) {
    expect(error).toBeInstanceOf(EqlSyntaxError);
    return error as EqlSyntaxError;
  }
  throw new Error(`expected a lexer error for ${JSON.stringify(source)}`);
}

describe("lexer: tokens and offsets", () => {
  it("ends with one eof token at the end of the text", () => {
    expect(tokenize("")).toEqual([{ kind: "eof", value: "", start: 0, end: 0 }]);
    expect(tokenize("  \t\r\n ")).toEqual([{ kind: "eof", value: "", start: 6, end: 6 }]);
  });

  it("records start and end offsets of every token", () => {
    expect(tokenize('process where a == "x"')).toEqual([
      { kind: "identifier", value: "process", start: 0, end: 7 },
      { kind: "keyword", value: "where", start: 8, end: 13 },
      { kind: "identifier", value: "a", start: 14, end: 15 },
      { kind: "symbol", value: "==", start: 16, end: 18 },
      { kind: "string", value: "x", start: 19, end: 22 },
      { kind: "eof", value: "", start: 22, end: 22 },
    ]);
  });

  it("reads every keyword as a keyword, lowercase only", () => {
    for (const word of KEYWORDS) {
      if (word.endsWith("~")) continue;
      expect(kinds(word)).toEqual([`keyword:${word}`]);
      expect(kinds(word.toUpperCase())).toEqual([`identifier:${word.toUpperCase()}`]);
    }
  });

  it("reads in~ like~ regex~ as keywords and other name~ as tilde identifiers", () => {
    expect(kinds("in~ like~ regex~")).toEqual(["keyword:in~", "keyword:like~", "keyword:regex~"]);
    expect(kinds("startsWith~(")).toEqual(["tildeIdentifier:startsWith", "symbol:("]);
    expect(kinds("IN~")).toEqual(["tildeIdentifier:IN"]);
    expect(kinds("a1_b~")).toEqual(["tildeIdentifier:a1_b"]);
  });

  it("reads identifiers with letters, digits, _ and a leading @ or _", () => {
    expect(kinds("@timestamp _x a1_B9 process.name")).toEqual([
      "identifier:@timestamp",
      "identifier:_x",
      "identifier:a1_B9",
      "identifier:process",
      "symbol:.",
      "identifier:name",
    ]);
  });

  it("reads every symbol, longest first", () => {
    expect(kinds("== != <= >= ![ : = < > + - * / % . , [ ] ( ) | ?")).toEqual(
      ["==", "!=", "<=", ">=", "![", ":", "=", "<", ">", "+", "-", "*", "/", "%", ".", ",", "[", "]", "(", ")", "|", "?"].map(
        (s) => `symbol:${s}`,
      ),
    );
    expect(kinds("a<=b")).toEqual(["identifier:a", "symbol:<=", "identifier:b"]);
    expect(kinds("===")).toEqual(["symbol:==", "symbol:="]);
  });

  it("reads integers and decimals as Elasticsearch does", () => {
    expect(kinds("0 42 007")).toEqual(["integer:0", "integer:42", "integer:007"]);
    expect(kinds("1.5 1. .5 1e3 1E+3 2.5e-3 .5e1")).toEqual([
      "decimal:1.5",
      "decimal:1.",
      "decimal:.5",
      "decimal:1e3",
      "decimal:1E+3",
      "decimal:2.5e-3",
      "decimal:.5e1",
    ]);
    // An `e` without digits is not an exponent: `30s`, `1e` and `5ms` are a number then a name.
    expect(kinds("30s 1e 5ms")).toEqual(["integer:30", "identifier:s", "integer:1", "identifier:e", "integer:5", "identifier:ms"]);
    expect(kinds("1e+")).toEqual(["integer:1", "identifier:e", "symbol:+"]);
  });

  it("skips line comments, block comments and nested block comments", () => {
    expect(kinds("a // comment == x\nb")).toEqual(["identifier:a", "identifier:b"]);
    expect(kinds("a // to the end")).toEqual(["identifier:a"]);
    expect(kinds("a /* x */ b")).toEqual(["identifier:a", "identifier:b"]);
    expect(kinds("a /* x /* nested */ still comment */ b")).toEqual(["identifier:a", "identifier:b"]);
    expect(kinds("a/**/b")).toEqual(["identifier:a", "identifier:b"]);
    expect(kinds("a / b")).toEqual(["identifier:a", "symbol:/", "identifier:b"]);
  });
});

describe("lexer: strings", () => {
  it("decodes every escape", () => {
    expect(single(String.raw`"a\nb\rc\td\\e\"f"`).value).toBe('a\nb\rc\td\\e"f');
    expect(single(String.raw`"\b\f\'"`).value).toBe("\b\f'");
    expect(single('""').value).toBe("");
    expect(single('"it\'s"').value).toBe("it's");
  });

  it("decodes \\u{...} with 1 to 8 hex digits", () => {
    expect(single(String.raw`"\u{41}"`).value).toBe("A");
    expect(single(String.raw`"\u{9}"`).value).toBe("\t");
    expect(single(String.raw`"\u{1F600}"`).value).toBe("😀");
    expect(single(String.raw`"\u{00000041}"`).value).toBe("A");
    expect(single(String.raw`"\u{10FFFF}"`).value).toBe("\u{10FFFF}");
    expect(single(String.raw`"x\u{e9}y"`).value).toBe("xéy");
    expect(single(String.raw`"\u{0}"`).value).toBe("\0");
  });

  it("keeps raw strings verbatim, with up to two extra quotes before the close", () => {
    expect(single(String.raw`"""C:\Windows\n"""`).value).toBe(String.raw`C:\Windows\n`);
    expect(single('"""say "hi" """').value).toBe('say "hi" ');
    expect(single('""""""').value).toBe("");
    expect(single('"""a""""').value).toBe('a"');
    expect(single('"""a"""""').value).toBe('a""');
    // A sixth quote is not part of the raw string: it opens a new (here unterminated) string.
    expect(lexError('"""a"""""" x').column).toBe(10);
    expect(kinds('"""a""" == """b"""')).toEqual(["string:a", "symbol:==", "string:b"]);
  });

  it("reports the offset of a string token including its quotes", () => {
    const token = single('"""ab"""');
    expect([token.start, token.end]).toEqual([0, 8]);
  });
});

describe("lexer: quoted names", () => {
  it("reads backtick names, a doubled backtick being one backtick", () => {
    expect(single("`process name`")).toEqual({ kind: "quotedIdentifier", value: "process name", start: 0, end: 14 });
    expect(single("`a``b`").value).toBe("a`b");
    expect(single("`a.b`").value).toBe("a.b");
    expect(single("`where`").value).toBe("where");
    expect(kinds("`a`.`b`")).toEqual(["quotedIdentifier:a", "symbol:.", "quotedIdentifier:b"]);
  });
});

describe("lexer: errors say what is wrong and where", () => {
  const cases: Array<[string, string, number, number, number?]> = [
    // [source, reason, line, column, width]
    ["a == 'x'", "strings are written in double quotes in EQL: use \"...\", not '...'", 1, 6, 1],
    ['a == ?"x"', 'use triple double quotes """...""" for an unescaped string, not ?"...', 1, 6, 2],
    ["a == ?'x'", "use triple double quotes \"\"\"...\"\"\" for an unescaped string, not ?'...", 1, 6, 2],
    ['a == "abc', "unterminated string: the opening '\"' has no closing '\"'", 1, 6, 1],
    ['a == "ab\ncd"', "unterminated string: a string cannot span lines (write a line break as \\n)", 1, 6, 1],
    ['a == "ab\\', "unterminated string: the opening '\"' has no closing '\"'", 1, 6, 1],
    ['"""abc', "unterminated raw string: '\"\"\"' needs a closing '\"\"\"' on the same line", 1, 1, 3],
    ['"""ab\nc"""', "unterminated raw string: '\"\"\"' needs a closing '\"\"\"' on the same line", 1, 1, 3],
    ['"a\\qb"', "unknown escape '\\q' in string: use \\n \\r \\t \\\\ \\\" or \\u{XXXX} (write a backslash as \\\\)", 1, 3, 2],
    ['"a\\ b"', "unknown escape U+0020 in string: use \\n \\r \\t \\\\ \\\" or \\u{XXXX} (write a backslash as \\\\)", 1, 3, 2],
    ['"\\u0041"', "unicode escape needs braces: write \\u{XXXX} with 1 to 8 hex digits", 1, 2, 2],
    ['"\\u{}"', "empty unicode escape \\u{}: write 1 to 8 hex digits", 1, 2, 4],
    ['"\\u{123456789}"', "unicode escape \\u{123456789} has 9 hex digits; use 1 to 8", 1, 2, 13],
    ['"\\u{110000}"', "\\u{110000} is not a Unicode code point (the largest is 10FFFF)", 1, 2, 10],
    ['"\\u{D800}"', "\\u{D800} is a surrogate, not a character; write the character's own code point", 1, 2, 8],
    ['"\\u{12G4}"', "unicode escape \\u{...} expects hex digits and a closing '}', found 'G' (U+0047)", 1, 7, 1],
    ['"\\u{12', "unicode escape \\u{...} expects hex digits and a closing '}', found the end of the query", 1, 7, 1],
    ["`abc", "unterminated quoted name: the opening '`' has no closing '`' (write a backtick inside as '``')", 1, 1, 1],
    ["a == ``", "empty quoted name '``': a field name needs at least one character", 1, 6, 2],
    ["a /* never closed", "unterminated comment: '/*' has no matching '*/'", 1, 3, 2],
    ["a /* /* */", "unterminated comment: '/*' has no matching '*/'", 1, 3, 2],
    ["a !: b", "'!:' is not an EQL operator: write 'not field : value'", 1, 3, 2],
    ["a || b", "'||' is not an EQL operator: use 'or'", 1, 3, 2],
    ["a && b", "'&&' is not an EQL operator: use 'and'", 1, 3, 2],
    ["a & b", "'&' is not an EQL operator: use 'and'", 1, 3, 1],
    ["!a", "unexpected '!': use 'not' to negate, '!=' to compare", 1, 1, 1],
    ["in ~(", "unexpected '~': write it right after the name, with no space, e.g. 'in~', 'like~' or 'startsWith~('", 1, 4, 1],
    ["a # b", "unexpected character '#' (U+0023)", 1, 3, 1],
    ["a == $x", "unexpected character '$' (U+0024)", 1, 6, 1],
    ["naïve", "unexpected character 'ï' (U+00EF): a field name with such characters must be quoted in backticks, e.g. `name`", 1, 3, 1],
    ["a\u00a0b", "unexpected character U+00A0", 1, 2, 1],
    ["a\u0000", "unexpected character U+0000", 1, 2, 1],
    ["a ; b", "unexpected character ';' (U+003B)", 1, 3, 1],
    ["x\n  == 😀", "unexpected character '😀' (U+1F600)", 2, 6, 2],
    ["a {", "unexpected character '{' (U+007B)", 1, 3, 1],
    ["a\\b", "unexpected character '\\' (U+005C)", 1, 2, 1],
  ];

  for (const [source, reason, line, column, width] of cases) {
    it(`${JSON.stringify(source)} → ${reason}`, () => {
      const error = lexError(source);
      expect(error.reason).toBe(reason);
      expect([error.line, error.column]).toEqual([line, column]);
      if (width !== undefined) expect(error.width).toBe(width);
    });
  }

  it("pins the full message with its codeblock", () => {
    const error = lexError('process where\n  name == "abc');
    expect(error.message).toBe(
      [
        "unterminated string: the opening '\"' has no closing '\"' (line 2, column 11)",
        "1 | process where",
        '2 |   name == "abc',
        "  |           ^",
      ].join("\n"),
    );
  });
});
