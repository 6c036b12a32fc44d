import { describe, expect, it } from "vitest";
import { JsonObjectSplitter, type SplitItem } from "../../src/sensor/esloggerSplitter.js";

function split(text: string, chunkSize = text.length): SplitItem[] {
  const s = new JsonObjectSplitter();
  const out: SplitItem[] = [];
  for (let i = 0; i < text.length; i += chunkSize) out.push(...s.push(text.slice(i, i + chunkSize)));
  return [...out, ...s.end()];
}

describe("JsonObjectSplitter", () => {
  const input = '{"a":1}\n{"b":"}{\\"x"}\n  {\n  "c": {"d": [1, {"e": 2}]}\n}{"f":3}\n[{"g":4},\n{"h":5}]\n';

  it("finds JSON lines, pretty-printed, concatenated and array-wrapped objects with their positions", () => {
    const items = split(input);
    expect(items.map((i) => (i.kind === "object" ? JSON.parse(i.text) : i))).toEqual([{ a: 1 }, { b: '}{"x' }, { c: { d: [1, { e: 2 }] } }, { f: 3 }, { g: 4 }, { h: 5 }]);
    expect(items.map((i) => [i.line, i.column])).toEqual([[1, 1], [2, 1], [3, 3], [5, 2], [6, 2], [7, 1]]);
  });

  it("gives the same result whatever the chunk boundaries", () => {
    const whole = split(input);
    for (const size of [1, 2, 3, 7]) expect(split(input, size)).toEqual(whole);
  });

  it("a truncated line is an error and the next line's object is still found", () => {
    const items = split('{"a":1,"b":{"c":2\n{"d":4}\n');
    expect(items[0]).toMatchObject({ kind: "error", line: 1, column: 1 });
    expect(items[1]).toMatchObject({ kind: "object", text: '{"d":4}', line: 2 });
  });

  it("a line ending inside a string is an error and reading resumes on the next line", () => {
    const items = split('{"a":"unterminated\n{"b":2}\n');
    expect(items[0]).toMatchObject({ kind: "error", line: 1, column: 19 });
    expect(items[1]).toMatchObject({ kind: "object", text: '{"b":2}' });
  });

  it("text that is not an object is an error for that line only", () => {
    const items = split('hello world\n{"a":1}\n');
    expect(items[0]).toMatchObject({ kind: "error", line: 1, column: 1 });
    expect(items[0].kind === "error" && items[0].reason).toMatch(/expected '\{'/);
    expect(items[1]).toMatchObject({ kind: "object", line: 2 });
  });

  it("input ending inside an object is an error at the object's start", () => {
    expect(split('{"a":1}\n  {"b":')).toEqual([
      { kind: "object", text: '{"a":1}', line: 1, column: 1 },
      { kind: "error", reason: "input ends inside an object", line: 2, column: 3 },
    ]);
  });
});
