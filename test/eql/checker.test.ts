// Semantic errors: raised by compileQuery, never at event time, each with its reason, line, column and caret.
import { describe, expect, it } from "vitest";
import { compileQuery, EqlSemanticError } from "../../src/eql/index.js";

function semanticError(query: string): EqlSemanticError {
  try {
    compileQuery(query);
  } catch (err) {
    expect(err).toBeInstanceOf(EqlSemanticError);
    return err as EqlSemanticError;
  }
  throw new Error(`expected a semantic error for ${query}`);
}

function expectError(query: string, reason: string, column: number, width: number, line = 1): EqlSemanticError {
  const err = semanticError(query);
  expect(err.reason).toBe(reason);
  expect([err.line, err.column, err.width]).toEqual([line, column, width]);
  return err;
}

describe("functions", () => {
  it("unknown function, pointing at its name and listing the known ones", () => {
    const err = expectError(
      "process where foo(1)",
      "unknown function 'foo'; known functions: add, subtract, multiply, divide, modulo, between, cidrMatch, concat, endsWith, startsWith, stringContains, indexOf, length, number, string, substring",
      15,
      3,
    );
    expect(err.message).toContain("1 | process where foo(1)\n  |               ^^^");
  });

  it("~ on a function without a case-insensitive variant", () => {
    expectError("process where add~(1, 2) == 3", "function 'add' has no case-insensitive variant 'add~'", 15, 4);
    expectError('process where length~("a") == 1', "function 'length' has no case-insensitive variant 'length~'", 15, 7);
  });

  it("wrong arity", () => {
    expectError('process where length("a", "b") == 1', "function 'length' takes 1 argument, found 2", 15, 16);
    expectError('process where concat() == ""', "function 'concat' takes at least 1 argument, found 0", 15, 8);
    expectError('process where between("a") == ""', "function 'between' takes 3 to 4 arguments, found 1", 15, 12);
    expectError("process where add(1) == 1", "function 'add' takes 2 arguments, found 1", 15, 6);
    expectError('process where cidrMatch("1.2.3.4")', "function 'cidrMatch' takes at least 2 arguments, found 1", 15, 20);
  });

  it("wrong literal argument types", () => {
    expectError("process where length(5) == 1", "argument 1 of 'length' must be a string, found a number", 22, 1);
    expectError('process where substring(x, 1.5) == ""', "argument 2 of 'substring' must be an integer, found a decimal", 28, 3);
    expectError('process where between(x, "a", "b", "yes") == ""', "argument 4 of 'between' must be a boolean, found a string", 36, 5);
    expectError('process where add("1", 2) == 3', "argument 1 of 'add' must be a number, found a string", 19, 3);
    expectError('process where startsWith(x, 1)', "argument 2 of 'startsWith' must be a string, found a number", 29, 1);
    expectError('process where indexOf(x, "a", "b") == 1', "argument 3 of 'indexOf' must be an integer, found a string", 31, 3);
  });

  it("number(): the base must be a literal between 2 and 36", () => {
    expectError("process where number(x, base) == 1", "argument 2 of 'number' must be a literal", 25, 4);
    expectError("process where number(x, 1) == 1", "base of 'number' must be between 2 and 36, found 1", 25, 1);
  });

  it("cidrMatch(): malformed literal blocks", () => {
    expectError('process where cidrMatch(ip, "10.0.0.0/33")', "invalid CIDR block '10.0.0.0/33'", 29, 13);
    expectError('process where cidrMatch(ip, "10.0.0.0/8", "nope")', "invalid CIDR block 'nope'", 43, 6);
  });

  it("positions on later lines", () => {
    expectError('process where\n  add(1,\n      "x") == 3', "argument 2 of 'add' must be a number, found a string", 7, 3, 3);
  });
});

describe("comparisons and operators", () => {
  it("field-to-field comparison is refused, as in Elasticsearch", () => {
    expectError(
      "process where process.name == process.parent.name",
      "comparing field 'process.name' with field 'process.parent.name' is not supported; compare a field with a literal",
      15,
      35,
    );
    expectError("process where a < b", "comparing field 'a' with field 'b' is not supported; compare a field with a literal", 15, 5);
  });

  it("but a comparison with an ?optional field is accepted (Elasticsearch makes an optional field it does not know null)", () => {
    for (const q of ["process where ?x == ?y", "process where ?x != ?y", "process where ?a.b == c", "process where c == ?a.b"]) {
      expect(() => compileQuery(q), q).not.toThrow();
    }
  });

  it("ordering a boolean", () => {
    expectError("process where true < 1", "'<' cannot order a boolean", 15, 4);
  });

  it("arithmetic on strings or booleans", () => {
    expectError('process where "a" + 1 == 2', "left operand of '+' must be a number, found a string", 15, 3);
    expectError("process where 1 * true == 2", "right operand of '*' must be a number, found a boolean", 19, 4);
    expectError('process where -"a" == 1', "operand of unary '-' must be a number, found a string", 16, 3);
  });

  it("division by a literal zero", () => {
    expectError("process where x / 0 == 1", "division by zero", 19, 1);
    expectError("process where x % 0 == 1", "division by zero", 19, 1);
  });

  it("a condition must be boolean", () => {
    expectError("process where 1", "expected a condition (a boolean expression), found a number", 15, 1);
    expectError('process where "x" and true', "expected a condition (a boolean expression), found a string", 15, 3);
    expectError("process where not length(x)", "expected a condition (a boolean expression), found a number", 19, 9);
    expectError("process where true or x + 1", "expected a condition (a boolean expression), found a number", 23, 5);
  });
});

describe("patterns and in", () => {
  it("wildcard operators take string literal patterns", () => {
    expectError("process where process.name like 5", "'like' needs string literal patterns (wildcards * and ?), found a number", 33, 1);
    expectError("process where process.name like~ null", "'like~' needs string literal patterns (wildcards * and ?), found null", 34, 4);
    expectError('process where name : ("a", 1)', "':' needs string literal patterns (wildcards * and ?), found a number", 28, 1);
  });

  it("a bad regular expression points at its string literal", () => {
    const err = expectError('process where process.name regex "a[b"', "invalid regular expression: expected ']' at position 3 to close the class opened at 1", 34, 5);
    expect(err.message).toContain('1 | process where process.name regex "a[b"\n  |                                  ^^^^^');
    expectError('process where process.name regex~ ("ok", "(x")', "invalid regular expression: expected ')' at position 2 to close the '(' at 0", 42, 4);
  });

  it("in takes literals only", () => {
    expectError('process where process.name in (x, "a")', "'in' takes a list of literals, found field 'x'", 32, 1);
    expectError('process where process.name in ("a", length("b"))', "'in' takes a list of literals, found an expression", 37, 11);
  });
});

describe("sequences", () => {
  it("checks every stage, the until stage and the join keys", () => {
    expectError("sequence [process where foo()] [file where true]", "unknown function 'foo'; known functions: add, subtract, multiply, divide, modulo, between, cidrMatch, concat, endsWith, startsWith, stringContains, indexOf, length, number, string, substring", 25, 3);
    expectError("sequence [process where true] [file where true] until [file where 1]", "expected a condition (a boolean expression), found a number", 67, 1);
    expectError("sequence by length(1) [process where true] [file where true]", "argument 1 of 'length' must be a string, found a number", 20, 1);
  });
});

describe("valid queries compile", () => {
  it.each([
    'process where process.name : ("a*", "b") and not process.args : "-x" and length(process.name) > 2',
    'process where indexOf~(process.name, "A") == 0 or cidrMatch(source.ip, "10.0.0.0/8", "::1/128")',
    'sequence by process.entity_id with maxspan=30s [process where true] by ?process.parent.pid [file where true] by ?process.pid',
    "process where 1 + 2 * 3 == 7 and -x < 5 and number(x, 16) == 255",
  ])("%s", (q) => {
    expect(() => compileQuery(q)).not.toThrow();
  });
});
