// Every EQL function, its `~` variant where Elasticsearch has one, and its null handling, evaluated through the
// compiler (script semantics) so that what is tested is what queries run.
import { describe, expect, it } from "vitest";
import { evaluateExpression } from "../../src/eql/engine.js";
import { between, divideNumbers, indexOf, substring, toNumber } from "../../src/eql/functions.js";

const ev = (source: string, event: Record<string, unknown> = {}) => evaluateExpression(source, event);

describe("arithmetic functions", () => {
  it.each([
    ["add(4, 5)", 9],
    ["add(4, 0.5)", 4.5],
    ["add(-2, -2)", -4],
    ["subtract(10, 2)", 8],
    ["subtract(1, 0.2)", 0.8],
    ["multiply(0.25, 2)", 0.5],
    ["multiply(-2, -2)", 4],
    ["divide(4, 2)", 2],
    ["divide(4, 3)", 1],
    ["divide(-7, 2)", -3],
    ["divide(4, 3.0)", 4 / 3],
    ["divide(0.5, 0.25)", 2],
    ["modulo(10, 6)", 4],
    ["modulo(10, -6)", 4],
    ["modulo(-10, -6)", -4],
  ])("%s = %s", (src, expected) => {
    expect(ev(src)).toBeCloseTo(expected as number, 10);
  });

  it("takes field values (integers divide as integers)", () => {
    const e = { process: { args_count: 4, parent: { args_count: 2 } } };
    expect(ev("add(process.args_count, process.parent.args_count)", e)).toBe(6);
    expect(ev("divide(process.args_count, 3)", e)).toBe(1);
    expect(ev("divide(process.args_count, 3.0)", e)).toBeCloseTo(4 / 3);
    expect(ev("modulo(process.args_count, 3)", e)).toBe(1);
  });

  it("returns null for a null operand, a missing field, a zero divisor or a non-number", () => {
    for (const src of ["add(null, 4)", "subtract(2, null)", "multiply(x, 2)", "divide(4, 0)", "modulo(7, 0)", "divide(4, null)", "add(s, 1)"]) {
      expect(ev(src, { s: "text" }), src).toBeNull();
    }
    expect(divideNumbers(1, 0, false)).toBeNull();
  });
});

describe("string functions", () => {
  const file = { file: { path: "C:\\Windows\\System32\\cmd.exe", name: "regsvr32.exe" } };

  it("between: shortest by default, greedy on request, case-insensitive with ~", () => {
    expect(ev('between(file.path, "System32\\\\", ".exe")', file)).toBe("cmd");
    expect(ev('between(file.path, "system32\\\\", ".exe")', file)).toBe("");
    expect(ev('between~(file.path, "system32\\\\", ".exe")', file)).toBe("cmd");
    expect(ev('between(file.path, "\\\\", "\\\\", false)', file)).toBe("Windows");
    expect(ev('between(file.path, "\\\\", "\\\\", true)', file)).toBe("Windows\\System32");
    expect(ev('between("", "a", "b")')).toBe("");
    expect(ev('between(null, "a", "b")')).toBeNull();
    expect(ev('between("abc", null, "b")')).toBeNull();
    expect(between("a-b-c", "-", "x", false, false)).toBe("");
    expect(between("xyz", "z", "x", true, false)).toBe("");
  });

  it("startsWith / endsWith / stringContains, with ~", () => {
    expect(ev('startsWith(file.name, "regsvr32")', file)).toBe(true);
    expect(ev('startsWith(file.name, "REGSVR32")', file)).toBe(false);
    expect(ev('startsWith~(file.name, "REGSVR32")', file)).toBe(true);
    expect(ev('endsWith(file.name, ".exe")', file)).toBe(true);
    expect(ev('endsWith(file.name, ".EXE")', file)).toBe(false);
    expect(ev('endsWith~(file.name, ".EXE")', file)).toBe(true);
    expect(ev('stringContains(file.name, "svr")', file)).toBe(true);
    expect(ev('stringContains(file.name, "SVR")', file)).toBe(false);
    expect(ev('stringContains~(file.name, "SVR")', file)).toBe(true);
    expect(ev('startsWith("", "")')).toBe(true);
    expect(ev('endsWith("regsvr32.exe", file.extension)', file)).toBeNull();
    expect(ev('startsWith(null, "a")')).toBeNull();
    expect(ev('stringContains("a", null)')).toBeNull();
  });

  it("indexOf: start position, missing substring and out-of-range start are null, ~ folds case", () => {
    const url = { url: { domain: "subdomain.example.com" } };
    expect(ev('indexOf(url.domain, ".")', url)).toBe(9);
    expect(ev('indexOf(url.domain, ".", 9)', url)).toBe(9);
    expect(ev('indexOf(url.domain, ".", 10)', url)).toBe(17);
    expect(ev('indexOf(url.domain, ".", -6)', url)).toBe(9);
    expect(ev('indexOf(url.domain, "", 10)', url)).toBe(10);
    expect(ev('indexOf(url.domain, "z")', url)).toBeNull();
    expect(ev('indexOf(url.domain, ".", 30)', url)).toBeNull();
    expect(ev('indexOf(url.domain, "EXAMPLE")', url)).toBeNull();
    expect(ev('indexOf~(url.domain, "EXAMPLE")', url)).toBe(10);
    expect(ev('indexOf(url.domain, ".", null)', url)).toBeNull();
    expect(indexOf("abc", "c", 3, false)).toBeNull();
    expect(indexOf("abc", "", 3, false)).toBe(3);
  });

  it("length counts UTF-16 code units and is null for null", () => {
    expect(ev('length("explorer.exe")')).toBe(12);
    expect(ev('length("")')).toBe(0);
    expect(ev("length(null)")).toBeNull();
    expect(ev("length(process.name)", { process: { name: "regsvr32.exe" } })).toBe(12);
  });

  it("substring with negative positions (Python slicing)", () => {
    expect(ev('substring("start regsvr32.exe", 6)')).toBe("regsvr32.exe");
    expect(ev('substring("start regsvr32.exe", 0, 5)')).toBe("start");
    expect(ev('substring("start regsvr32.exe", 6, 14)')).toBe("regsvr32");
    expect(ev('substring("start regsvr32.exe", -4)')).toBe(".exe");
    expect(ev('substring("start regsvr32.exe", -4, -1)')).toBe(".ex");
    expect(ev('substring("abc", 5)')).toBe("");
    expect(ev('substring("abc", 2, 1)')).toBe("");
    expect(ev("substring(null, 1)")).toBeNull();
    expect(substring("abcdef", -100, 2)).toBe("ab");
  });

  it("concat: any value as text, null if any argument is null", () => {
    expect(ev('concat("process is ", "regsvr32.exe")')).toBe("process is regsvr32.exe");
    expect(ev('concat("regsvr32.exe", " ", 42)')).toBe("regsvr32.exe 42");
    expect(ev('concat("regsvr32.exe", " ", 42.5)')).toBe("regsvr32.exe 42.5");
    expect(ev('concat("regsvr32.exe", " ", true)')).toBe("regsvr32.exe true");
    expect(ev('concat("x")')).toBe("x");
    expect(ev('concat(null, "x")')).toBeNull();
    expect(ev('concat(process.name, "x")')).toBeNull();
  });

  it("string converts values, null stays null", () => {
    expect(ev("string(42)")).toBe("42");
    expect(ev("string(42.5)")).toBe("42.5");
    expect(ev("string(true)")).toBe("true");
    expect(ev('string("x")')).toBe("x");
    expect(ev("string(null)")).toBeNull();
  });

  it("number: decimal, float, hexadecimal, bases, signs, whitespace; null when not a number", () => {
    expect(ev('number("1337")')).toBe(1337);
    expect(ev('number("42.5")')).toBe(42.5);
    expect(ev('number("deadbeef", 16)')).toBe(3735928559);
    expect(ev('number("0xdeadbeef")')).toBe(3735928559);
    expect(ev('number("0xdeadbeef", 16)')).toBe(3735928559);
    expect(ev('number("+1337")')).toBe(1337);
    expect(ev('number("-1337")')).toBe(-1337);
    expect(ev('number("  1337  ")')).toBe(1337);
    expect(ev('number("0xdeadbeef", null)')).toBe(3735928559);
    expect(ev('number("1337", null)')).toBe(1337);
    expect(ev('number("101", 2)')).toBe(5);
    expect(ev("number(null)")).toBeNull();
    expect(ev('number("")')).toBeNull();
    expect(ev('number("12ab")')).toBeNull();
    expect(ev('number("19", 8)')).toBeNull();
    expect(ev("number(process.pid)", { process: { pid: "1337" } })).toBe(1337);
    expect(toNumber(7, null)).toBe(7);
  });
});

describe("cidrMatch", () => {
  it("matches IPv4 and IPv6 addresses against one or more blocks", () => {
    const src = { source: { address: "192.168.152.12" } };
    expect(ev('cidrMatch(source.address, "192.168.0.0/16")', src)).toBe(true);
    expect(ev('cidrMatch(source.address, "192.168.0.0/16", "10.0.0.0/8")', src)).toBe(true);
    expect(ev('cidrMatch(source.address, "10.0.0.0/8")', src)).toBe(false);
    expect(ev('cidrMatch(source.address, "10.0.0.0/8", "10.128.0.0/9")', src)).toBe(false);
    expect(ev('cidrMatch(source.address, "0.0.0.0/0")', src)).toBe(true);
    expect(ev('cidrMatch(source.address, "192.168.152.12")', src)).toBe(true);
    expect(ev('cidrMatch("2001:db8::1", "2001:db8::/32")')).toBe(true);
    expect(ev('cidrMatch("2001:db9::1", "2001:db8::/32")')).toBe(false);
    expect(ev('cidrMatch("::ffff:10.1.2.3", "::ffff:10.0.0.0/104")')).toBe(true);
    expect(ev('cidrMatch("10.1.2.3", "::ffff:10.0.0.0/104")')).toBe(true);
    expect(ev('cidrMatch("not an ip", "10.0.0.0/8")')).toBe(false);
  });

  it("is null for a null address or a null block", () => {
    expect(ev('cidrMatch(null, "10.0.0.0/8")')).toBeNull();
    expect(ev("cidrMatch(source.address, null)", { source: { address: "10.0.0.1" } })).toBeNull();
    expect(ev('cidrMatch(source.address, "10.0.0.0/8")')).toBeNull();
  });
});

describe("function names and multi-valued arguments", () => {
  it("names are case-insensitive", () => {
    expect(ev('STARTSWITH("abc", "a")')).toBe(true);
    expect(ev('stringcontains("abc", "b")')).toBe(true);
  });

  it("a multi-valued field fans out: one result per element", () => {
    expect(ev("length(process.args)", { process: { args: ["ls", "-la"] } })).toEqual([2, 3]);
    expect(ev('startsWith(process.args, "-")', { process: { args: ["ls", "-la"] } })).toEqual([false, true]);
  });
});
