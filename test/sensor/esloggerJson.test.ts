import { describe, expect, it } from "vitest";
import { parseJsonKeepingBigIntegers, quoteBigIntegers } from "../../src/sensor/esloggerJson.js";

describe("parseJsonKeepingBigIntegers", () => {
  it("keeps st_ino above 2^53 exact as a string, small numbers as numbers", () => {
    const v = parseJsonKeepingBigIntegers('{"st_ino":1152921500312524417,"st_dev":16777233,"neg":-9007199254740993,"f":1.5e300,"x":12345678901234567.5}') as Record<string, unknown>;
    expect(v.st_ino).toBe("1152921500312524417");
    expect(BigInt(v.st_ino as string)).toBe(1152921500312524417n);
    expect(v.st_dev).toBe(16777233);
    expect(v.neg).toBe("-9007199254740993");
    expect(v.f).toBe(1.5e300);
    expect(typeof v.x).toBe("number");
  });

  it("never touches digits inside strings, even with escaped quotes", () => {
    const text = '{"s":"a\\"1152921500312524417","n":[9007199254740993]}';
    expect(quoteBigIntegers(text)).toBe('{"s":"a\\"1152921500312524417","n":["9007199254740993"]}');
  });
});

describe("findJsonSyntaxError", () => {
  it("points at the first error, and finds none in valid JSON", async () => {
    const { findJsonSyntaxError } = await import("../../src/sensor/esloggerJson.js");
    expect(findJsonSyntaxError('{"a":["x",,1]}')).toEqual({ offset: 10, reason: 'expected a value, found ","' });
    expect(findJsonSyntaxError('{"a":1 "b":2}')?.offset).toBe(7);
    expect(findJsonSyntaxError('{"a":"\\q"}')?.reason).toMatch(/bad escape/);
    expect(findJsonSyntaxError('{"a":[1,{"b":null}],"c":-1.5e3}')).toBeUndefined();
  });
});

describe("compactJsonText", () => {
  it("puts a pretty-printed object on one line without touching strings or number digits", async () => {
    const { compactJsonText } = await import("../../src/sensor/esloggerJson.js");
    const text = '{\n  "a": "x  y\\" z",\n\t"n": 1152921500312524417,\r\n  "b": [1, 2]\n}';
    expect(compactJsonText(text)).toBe('{"a":"x  y\\" z","n":1152921500312524417,"b":[1,2]}');
    expect(compactJsonText('{"a": 1}')).toBe('{"a": 1}');
  });
});
