// Null and absent fields, as Elasticsearch EQL treats them. Each test is one decision, written down:
// - a leaf comparing a field with a literal is a Lucene query: absent/null never matches it, and its negation
//   (`!=`, `not`, `not in`) is must_not, so it DOES match an absent field;
// - functions and arithmetic are scripts: null propagates, a null outcome does not match, and `not` over a
//   script stays three-valued (not null is null);
// - `x == null` / `x != null` are IsNull / IsNotNull, two-valued even over scripts.
import { describe, expect, it } from "vitest";
import { compileCondition, evaluateExpression } from "../../src/eql/engine.js";

function holds(condition: string, event: Record<string, unknown>): boolean {
  const { generated, reference } = compileCondition(condition);
  const g = generated(event);
  expect(reference(event), `reference disagrees on ${condition}`).toBe(g);
  return g;
}

const absent = { other: 1 };
const nullField = { exit_code: null, other: 1 };
const present = { exit_code: 0, name: "ls", args: ["a", "b"] };

describe("comparisons with an absent or null field", () => {
  it("== / < / > / : / like / regex / in never match an absent field", () => {
    for (const c of ["exit_code == 0", "exit_code < 1", "exit_code > -1", "exit_code >= 0", 'name : "*"', 'name like "*"', 'name regex ".*"', 'name in ("ls")']) {
      expect(holds(c, absent), c).toBe(false);
      expect(holds(c, nullField), c).toBe(false);
    }
  });

  it("!= matches an absent field (must_not term)", () => {
    expect(holds("exit_code != 0", absent)).toBe(true);
    expect(holds("exit_code != 0", nullField)).toBe(true);
    expect(holds("exit_code != 0", present)).toBe(false);
  });

  it("not over a field comparison matches an absent field", () => {
    expect(holds("not exit_code > -1", absent)).toBe(true);
    expect(holds('not name : "ls"', absent)).toBe(true);
    expect(holds('not name like "l*"', absent)).toBe(true);
    expect(holds('not name regex "l."', absent)).toBe(true);
    expect(holds("not exit_code > -1", present)).toBe(false);
  });

  it("not in matches an absent field", () => {
    expect(holds('name not in ("ls", "cat")', absent)).toBe(true);
    expect(holds('name not in~ ("LS")', absent)).toBe(true);
  });

  it("== null is 'absent or null'; != null is 'present'", () => {
    expect(holds("exit_code == null", absent)).toBe(true);
    expect(holds("exit_code == null", nullField)).toBe(true);
    expect(holds("exit_code == null", present)).toBe(false);
    expect(holds("null == exit_code", absent)).toBe(true);
    expect(holds("exit_code != null", present)).toBe(true);
    expect(holds("exit_code != null", absent)).toBe(false);
    expect(holds("args == null", { args: [] })).toBe(true);
    expect(holds("args == null", { args: [null] })).toBe(true);
  });

  it("ordering against a null literal never matches", () => {
    expect(holds("exit_code < null", present)).toBe(false);
    expect(holds("exit_code >= null", absent)).toBe(false);
  });

  it("null inside an in-list matches nothing", () => {
    expect(holds('name in (null, "x")', absent)).toBe(false);
    expect(holds('name in (null, "ls")', present)).toBe(true);
  });

  it("an object is not a value: it compares like an absent field", () => {
    expect(holds('process == "x"', { process: { name: "x" } })).toBe(false);
    expect(holds("process == null", { process: { name: "x" } })).toBe(true);
  });

  it("a null literal as the whole condition matches nothing", () => {
    expect(holds("null", present)).toBe(false);
  });
});

describe("scripts: three-valued", () => {
  it("a comparison with null yields null as a value", () => {
    expect(evaluateExpression("exit_code > -1", absent)).toBeNull();
    expect(evaluateExpression("exit_code > -1", present)).toBe(true);
  });

  it("null == (x > -1) holds exactly when x is absent (IsNull of a script)", () => {
    expect(holds("null == (exit_code > -1)", absent)).toBe(true);
    expect(holds("null == (exit_code > -1)", present)).toBe(false);
    expect(holds("(exit_code > -1) != null", present)).toBe(true);
  });

  it("a function of an absent field is null: the predicate does not match, nor does its negation", () => {
    expect(holds('startsWith(name, "l")', absent)).toBe(false);
    expect(holds('not startsWith(name, "l")', absent)).toBe(false);
    expect(holds('not not startsWith(name, "l")', absent)).toBe(false);
    expect(holds('not startsWith(name, "x")', present)).toBe(true);
    expect(holds('not stringContains(name, "x")', absent)).toBe(false);
  });

  it("a comparison of a null script value does not match, nor does !=", () => {
    expect(holds("length(name) > 0", absent)).toBe(false);
    expect(holds("length(name) != 2", absent)).toBe(false);
    expect(holds("length(name) != 3", present)).toBe(true);
    expect(holds("exit_code + 1 == 1", absent)).toBe(false);
    expect(holds("exit_code + 1 != 5", absent)).toBe(false);
  });

  it("function == null / != null are two-valued", () => {
    expect(holds('indexOf(name, "z") == null', present)).toBe(true);
    expect(holds('indexOf(name, "s") != null', present)).toBe(true);
    expect(holds('indexOf(name, "s") == null', absent)).toBe(true);
  });

  it("and/or in a script: false wins over null in and, true wins over null in or", () => {
    expect(evaluateExpression("exit_code > 0 and false", absent)).toBe(false);
    expect(evaluateExpression("exit_code > 0 and true", absent)).toBeNull();
    expect(evaluateExpression("exit_code > 0 or true", absent)).toBe(true);
    expect(evaluateExpression("exit_code > 0 or false", absent)).toBeNull();
    expect(evaluateExpression("not (exit_code > 0)", absent)).toBeNull();
  });

  it("values of different kinds compare as unequal, never ordered", () => {
    expect(evaluateExpression('length("ab") == "x"')).toBe(false);
    expect(evaluateExpression('length("ab") != "x"')).toBe(true);
    expect(evaluateExpression('length("ab") < "x"')).toBe(false);
  });

  it("a division by zero at event time is null, not an error", () => {
    expect(holds("10 / n == 1", { n: 0 })).toBe(false);
    expect(holds("not (10 / n == 1)", { n: 0 })).toBe(false);
    expect(evaluateExpression("10 % n", { n: 0 })).toBeNull();
  });

  it("a mixed and: a query leaf with a script leaf, under not, is must_not of the whole (two-valued)", () => {
    // not (A and S) where S is null: the bool query A and S does not match, so must_not matches.
    expect(holds('not (other == 1 and startsWith(name, "l"))', absent)).toBe(true);
  });
});

describe("comparing two fields, at least one ?optional (an optional field Elasticsearch does not map is null)", () => {
  it("null == null holds; null == value does not; values compare as values, any element of an array", () => {
    expect(holds("?x == ?y", {})).toBe(true);
    expect(holds("?x == ?y", { x: null, y: null })).toBe(true);
    expect(holds("?x == ?y", { x: 1 })).toBe(false);
    expect(holds("?x == ?y", { y: "a" })).toBe(false);
    expect(holds("?x == ?y", { x: 1, y: 1 })).toBe(true);
    expect(holds("?x == ?y", { x: "a", y: "b" })).toBe(false);
    expect(holds("?x == ?y", { x: [1, 2], y: 2 })).toBe(true);
    expect(holds("?x == y", {})).toBe(true);
  });

  it("!= and not are the negation, two-valued", () => {
    expect(holds("?x != ?y", {})).toBe(false);
    expect(holds("?x != ?y", { x: 1 })).toBe(true);
    expect(holds("?x != ?y", { x: 1, y: 2 })).toBe(true);
    expect(holds("not ?x == ?y", { x: 1 })).toBe(true);
    expect(holds("not ?x == ?y", {})).toBe(false);
  });
});
