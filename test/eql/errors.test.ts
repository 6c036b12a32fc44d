import { describe, expect, it } from "vitest";
import { parseExpression, parseQuery } from "../../src/eql/parser.js";
import { EqlError, EqlSemanticError, EqlSyntaxError } from "../../src/eql/errors.js";
import { MacsensorError, SourceError } from "../../src/errors.js";

function syntaxError(run: () => unknown): EqlSyntaxError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EqlSyntaxError);
    return error as EqlSyntaxError;
  }
  throw new Error("expected an EqlSyntaxError");
}

describe("error classes", () => {
  it("EqlSyntaxError and EqlSemanticError are EqlErrors, SourceErrors and MacsensorErrors", () => {
    const syntax = new EqlSyntaxError("bad", "abc", 1);
    const semantic = new EqlSemanticError("worse", "abc", 2, 1);
    for (const error of [syntax, semantic]) {
      expect(error).toBeInstanceOf(EqlError);
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toBeInstanceOf(MacsensorError);
      expect(error).toBeInstanceOf(Error);
    }
    expect(syntax).not.toBeInstanceOf(EqlSemanticError);
    expect(semantic).not.toBeInstanceOf(EqlSyntaxError);
    expect([syntax.name, semantic.name, new EqlError("x", "y", 0).name]).toEqual(["EqlSyntaxError", "EqlSemanticError", "EqlError"]);
  });

  it("carries reason, offset, width, line, column and a caret codeblock", () => {
    const error = new EqlSemanticError("unknown function 'foo'", "process where\n  foo(a)", 16, 3);
    expect(error.reason).toBe("unknown function 'foo'");
    expect([error.offset, error.width, error.line, error.column]).toEqual([16, 3, 2, 3]);
    expect(error.message).toBe("unknown function 'foo' (line 2, column 3)\n1 | process where\n2 |   foo(a)\n  |   ^^^");
    expect(error.codeblock).toBe("1 | process where\n2 |   foo(a)\n  |   ^^^");
  });
});

describe("syntax errors: every message, where it points", () => {
  // [query, reason, line, column, width]
  const cases: Array<[string, string, number, number, number]> = [
    ["", "expected an event category (a name, a string or 'any') followed by 'where', found the end of the query", 1, 1, 1],
    ["process", "expected 'where' after the event category 'process', found the end of the query", 1, 8, 1],
    ["process a == 1", "expected 'where' after the event category 'process', found 'a'", 1, 9, 1],
    ["any a", "expected 'where' after the event category 'any', found 'a'", 1, 5, 1],
    ["where true", "expected an event category (a name, a string or 'any'), found 'where'", 1, 1, 5],
    ["`proc` where true", 'an event category cannot be a backtick-quoted name: write it as a string, e.g. "my category"', 1, 1, 6],
    ["process where", "expected a condition after 'where', found the end of the query", 1, 14, 1],
    ["process where ]", "expected a condition after 'where', found ']'", 1, 15, 1],
    ["process where | head 1", "expected a condition after 'where', found '|'", 1, 15, 1],
    ["process where a ==", "expected a value (a field, a literal, a function call or '('), found the end of the query", 1, 19, 1],
    ["process where a == 1 b", "expected 'and', 'or', '|' or the end of the query, found 'b'", 1, 22, 1],
    ["process where a = 1", "'=' is not a comparison: use '==' to compare", 1, 17, 1],
    ["process where a == b == c", "comparisons cannot be chained: join them with 'and', e.g. a < b and b < c", 1, 22, 2],
    ["process where a < b = c", "comparisons cannot be chained: join them with 'and', e.g. a < b and b < c", 1, 21, 1],
    ["process where a AND b", "expected 'and', 'or', '|' or the end of the query, found 'AND' (keywords are lowercase: write 'and')", 1, 17, 3],
    ["process WHERE a", "expected 'where' after the event category 'process', found 'WHERE' (keywords are lowercase: write 'where')", 1, 9, 5],
    ["process where (a", "expected ')' to close '(', found the end of the query", 1, 17, 1],
    ["process where ()", "expected an expression inside '( )', found ')'", 1, 16, 1],
    ["process where a in ()", "expected at least one value in 'in (...)', found ')'", 1, 21, 1],
    ["process where a in~ ()", "expected at least one value in 'in~ (...)', found ')'", 1, 22, 1],
    ["process where a in 1", "expected '(' after 'in', e.g. in (\"a\", \"b\"), found '1'", 1, 20, 1],
    ["process where a in (1 2)", "expected ',' or ')' to close the 'in' list, found '2'", 1, 23, 1],
    ["process where a not like \"x\"", "after a value, 'not' must be followed by 'in' or 'in~'; to negate a condition write 'not' in front of it", 1, 17, 3],
    ["process where a : b", "expected a literal after ':' (a string such as \"*.exe\", or a list (\"a\", \"b\")), found 'b'", 1, 19, 1],
    ["process where a like~ -1", "expected a literal after 'like~' (a string such as \"*.exe\", or a list (\"a\", \"b\")), found '-'", 1, 23, 1],
    ["process where a regex (\"x\", b)", "expected a literal after 'regex' (a string such as \"*.exe\", or a list (\"a\", \"b\")), found 'b'", 1, 29, 1],
    ["process where a : (\"x\" \"y\")", "expected ',' or ')' to close the ':' list, found '\"y\"'", 1, 24, 3],
    ["process where f(a", "expected ',' or ')' to close the function's arguments, found the end of the query", 1, 18, 1],
    ["process where f(a b)", "expected ',' or ')' to close the function's arguments, found 'b'", 1, 19, 1],
    ["process where startsWith~ a", "expected '(' after the function name 'startsWith~', found 'a'", 1, 27, 1],
    ["process where process.name(a)", "'process.name' is not a function name: function names have no dots, '?' or backticks", 1, 27, 1],
    ["process where a[0] == 1", "array indexes such as [0] are not supported", 1, 16, 1],
    ["process where a.1 == 1", "a field name part cannot start with a digit: quote it in backticks, e.g. a.`1st`", 1, 16, 2],
    ["process where ?", "expected a field name after '?', found the end of the query", 1, 16, 1],
    ["process where ?1", "expected a field name after '?', found '1'", 1, 16, 1],
    ["process where a.", "expected a field name after '.', found the end of the query", 1, 17, 1],
    ["process where sequence == 1", "'sequence' is a reserved word: quote a field of that name in backticks, e.g. `sequence`", 1, 15, 8],
    ["process where where", "expected a value (a field, a literal, a function call or '('), found 'where'", 1, 15, 5],
    ["process where descendant of [process where true]", "process relationships ('descendant of [...]') are not supported", 1, 15, 10],
    ["process where 99999999999999999999 == a", "integer 99999999999999999999 is too large (the largest is 9007199254740991)", 1, 15, 20],
    ["process where 1e999 == a", "number 1e999 is too large", 1, 15, 5],
    ["join [a where true] [b where true]", "join queries are not supported (Elasticsearch does not run them either)", 1, 1, 4],
    ["sample by x [a where true] [b where true]", "sample queries are not supported", 1, 1, 6],
    ["[process where true]", "a bracketed stage belongs to a sequence: start the query with 'sequence'", 1, 1, 1],
    ["process where true | filter a", "the 'filter' pipe is not supported: only 'head' and 'tail' are", 1, 22, 6],
    ["process where true | unique a", "the 'unique' pipe is not supported: only 'head' and 'tail' are", 1, 22, 6],
    ["process where true | unique_count a", "the 'unique_count' pipe is not supported: only 'head' and 'tail' are", 1, 22, 12],
    ["process where true | count", "the 'count' pipe is not supported: only 'head' and 'tail' are", 1, 22, 5],
    ["process where true | sort a", "the 'sort' pipe is not supported: only 'head' and 'tail' are", 1, 22, 4],
    ["process where true | sample 3", "the 'sample' pipe is not supported: only 'head' and 'tail' are", 1, 22, 6],
    ["process where true | foo", "unknown pipe 'foo': only 'head' and 'tail' are supported", 1, 22, 3],
    ["process where true | HEAD 1", "unknown pipe 'HEAD': only 'head' and 'tail' are supported", 1, 22, 4],
    ["process where true |", "expected a pipe name after '|' (head or tail), found the end of the query", 1, 21, 1],
    ["process where true | head", "expected a whole number after 'head', found the end of the query", 1, 26, 1],
    ["process where true | tail -1", "'tail' needs a count of 0 or more, not a negative number", 1, 27, 1],
    ["process where true | head 1.5", "expected a whole number after 'head', found '1.5'", 1, 27, 3],
    ["process where true | head 1, 2", "'head' takes exactly one number", 1, 28, 1],
    ["process where true | head 1 x", "expected '|' or the end of the query, found 'x'", 1, 29, 1],
    ["process where true | head 99999999999999999999", "'head' count 99999999999999999999 is too large", 1, 27, 20],
    ["sequence", "expected a sequence stage '[...]', found the end of the query", 1, 9, 1],
    ["sequence [a where true]", "a sequence needs at least 2 stages (counting 'with runs'), found 1", 1, 10, 1],
    ["sequence [a where true] until [b where true]", "a sequence needs at least 2 stages (counting 'with runs'), found 1", 1, 10, 1],
    ["sequence ![a where true] ![b where true]", "a sequence needs at least one stage that is not a missing-event stage '![...]'", 1, 10, 2],
    ["sequence by", "expected a value (a field, a literal, a function call or '('), found the end of the query", 1, 12, 1],
    ["sequence by x with", "expected 'maxspan' after 'with', found the end of the query", 1, 19, 1],
    ["sequence with maxspan", "expected '=' after 'maxspan', found the end of the query", 1, 22, 1],
    ["sequence with maxspan==1s", "expected '=' after 'maxspan', found '=='", 1, 22, 2],
    ["sequence with maxspan=", "expected a time span after 'maxspan=', e.g. 30s, found the end of the query", 1, 23, 1],
    ["sequence with maxspan=5 [a where true] [b where true]", "maxspan=5 needs a time unit: ms, s, m, h or d (e.g. 5s)", 1, 23, 1],
    ["sequence with maxspan=5sec [a where true] [b where true]", "unknown time unit 'sec': use ms, s, m, h or d", 1, 24, 3],
    ["sequence with maxspan=5S [a where true] [b where true]", "unknown time unit 'S': use ms, s, m, h or d", 1, 24, 1],
    ["sequence with maxspan=0s [a where true] [b where true]", "maxspan must be greater than 0, found 0", 1, 23, 1],
    ["sequence with maxspan=1.5s [a where true] [b where true]", "maxspan must be a whole number, found 1.5", 1, 23, 3],
    ["sequence with maxspan=99999999999d [a where true] [b where true]", "maxspan 99999999999d is too large", 1, 23, 11],
    ["sequence with maxspan=1s by x [a where true] [b where true]", "write the sequence's 'by' keys before 'with maxspan', not after", 1, 26, 2],
    ["sequence with runs=2 [a where true] [b where true]", "'with runs=N' belongs after a stage's ']', not after 'sequence'", 1, 15, 4],
    ["sequence [a where true] with maxspan=1s [b where true]", "'with maxspan=...' belongs right after 'sequence' (or its 'by' keys), not after a stage", 1, 30, 7],
    ["sequence [a where true] with runs [b where true]", "expected '=' after 'runs', found '['", 1, 35, 1],
    ["sequence [a where true] with runs=0 [b where true]", "runs must be between 1 and 100, found 0", 1, 35, 1],
    ["sequence [a where true] with runs=101 [b where true]", "runs must be between 1 and 100, found 101", 1, 35, 3],
    ["sequence [a where true] with runs=x [b where true]", "expected a whole number of runs (1 to 100), found 'x'", 1, 35, 1],
    ["sequence [a where true] with foo=1 [b where true]", "expected 'runs' after 'with', found 'foo'", 1, 30, 3],
    ["sequence [a where true] [b where true] until ![c where true]", "the 'until' stage cannot be a missing-event stage '![...]'", 1, 46, 2],
    ["sequence [a where true] [b where true] until [c where true] with runs=2", "the 'until' stage cannot repeat: remove 'with runs=...'", 1, 61, 4],
    ["sequence [a where true] [b where true] until c", "expected '[' to open the 'until' stage, found 'c'", 1, 46, 1],
    ["sequence [a where true] by x [b where true]", "every stage needs the same number of 'by' keys: the first stage has 1, this one has 0", 1, 30, 1],
    ["sequence [a where true] by x [b where true] by y, z", "every stage needs the same number of 'by' keys: the first stage has 1, this one has 2", 1, 48, 1],
    ["sequence [a where true] [b where true] until [c where true] by k", "every stage needs the same number of 'by' keys: the first stage has 0, this one has 1", 1, 64, 1],
    ["sequence [a where true] [b where true] x", "expected another stage, 'until', '|' or the end of the query, found 'x'", 1, 40, 1],
    ["sequence [a where true] [b where true] until [c where true] x", "expected '|' or the end of the query, found 'x'", 1, 61, 1],
    ["sequence [a where true | head 1] [b where true]", "expected ']' to close the sequence stage (pipes go after the whole query), found '|'", 1, 24, 1],
    ["sequence [a where true where] [b where true]", "expected ']' to close the sequence stage, found 'where'", 1, 24, 5],
    ["sequence [] [b where true]", "expected an event query inside the stage, e.g. [process where true], found ']'", 1, 11, 1],
    ["sequence [a where true", "expected ']' to close the sequence stage, found the end of the query", 1, 23, 1],
    ["process where a == 1\n  and b ==\n  | head 1", "expected a value (a field, a literal, a function call or '('), found '|'", 3, 3, 1],
    ['process where a == "a very long string literal indeed"  x', 'expected \'and\', \'or\', \'|\' or the end of the query, found \'x\'', 1, 57, 1],
    ['process where a == 1 "a very long string literal indeed"', "expected 'and', 'or', '|' or the end of the query, found '\"a very long string l...'", 1, 22, 35],
  ];

  for (const [query, reason, line, column, width] of cases) {
    it(`${JSON.stringify(query)}`, () => {
      const error = syntaxError(() => parseQuery(query));
      expect(error.reason).toBe(reason);
      expect({ line: error.line, column: error.column, width: error.width }).toEqual({ line, column, width });
      expect(error.message.startsWith(`${reason} (line ${line}, column ${column})\n`)).toBe(true);
    });
  }

  it("parseExpression reports trailing text after a whole expression", () => {
    const error = syntaxError(() => parseExpression("a == 1 | head 1"));
    expect(error.reason).toBe("expected an operator or the end of the expression, found '|'");
    expect(error.column).toBe(8);
  });

  it("pins whole messages with their codeblocks", () => {
    expect(syntaxError(() => parseQuery("sequence by host.id\n  [process where true]\n  [file where a = 1]")).message).toBe(
      [
        "'=' is not a comparison: use '==' to compare (line 3, column 17)",
        "2 |   [process where true]",
        "3 |   [file where a = 1]",
        "  |                 ^",
      ].join("\n"),
    );
    expect(syntaxError(() => parseQuery("process where process.name : 'bash'")).message).toBe(
      [
        "strings are written in double quotes in EQL: use \"...\", not '...' (line 1, column 30)",
        "1 | process where process.name : 'bash'",
        "  |                              ^",
      ].join("\n"),
    );
    expect(syntaxError(() => parseQuery("process where x in (1,\n")).message).toBe(
      [
        "expected a value (a field, a literal, a function call or '('), found the end of the query (line 2, column 1)",
        "1 | process where x in (1,",
        "2 | ",
        "  | ^",
      ].join("\n"),
    );
  });
});
