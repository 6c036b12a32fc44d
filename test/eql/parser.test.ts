import { describe, expect, it } from "vitest";
import { parseQuery, parseExpression } from "../../src/eql/parser.js";
import { EqlSyntaxError } from "../../src/eql/errors.js";

describe("parseQuery: first cut", () => {
  it("parses an event query", () => {
    const q = parseQuery('process where process.name == "bash"');
    expect(q.body).toMatchObject({ kind: "event", category: "process", condition: { kind: "comparison", op: "==" } });
  });

  it("parses a sequence with pipes", () => {
    const q = parseQuery("sequence by host.id with maxspan=30s [process where true] [file where true] | tail 2");
    expect(q.body.kind).toBe("sequence");
    expect(q.pipes).toEqual([{ kind: "tail", count: 2, start: 76, end: 84 }]);
  });

  it("throws EqlSyntaxError on bad input", () => {
    expect(() => parseExpression("a ==")).toThrow(EqlSyntaxError);
  });
});
