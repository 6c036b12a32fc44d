// Every operator of a condition, checked on both compiled forms: the generated function (what queries run)
// and the closure reference. They must agree on every case.
import { describe, expect, it } from "vitest";
import { compileCondition } from "../../src/eql/engine.js";

type Event = Record<string, unknown>;

function holds(condition: string, event: Event): boolean {
  const { generated, reference } = compileCondition(condition);
  const g = generated(event);
  const r = reference(event);
  expect(g, `generated and reference disagree on ${condition}`).toBe(r);
  return g;
}

const exec: Event = {
  event: { category: ["process"], type: ["start"] },
  host: { os: { type: "macos" } },
  process: {
    name: "security",
    pid: 4242,
    args: ["security", "dump-keychain", "-d"],
    args_count: 3,
    executable: "/usr/bin/security",
    command_line: "security dump-keychain -d",
    code_signature: { trusted: true, signing_id: "com.apple.security" },
    parent: { name: "zsh", executable: "/bin/zsh" },
  },
  "user.name": "alice",
};

describe("comparisons", () => {
  it("== is case-sensitive and exact", () => {
    expect(holds('process.name == "security"', exec)).toBe(true);
    expect(holds('process.name == "Security"', exec)).toBe(false);
    expect(holds('process.name == "secur*"', exec)).toBe(false);
    expect(holds('"security" == process.name', exec)).toBe(true);
  });

  it("!= is the negation of ==", () => {
    expect(holds('process.name != "security"', exec)).toBe(false);
    expect(holds('process.name != "ls"', exec)).toBe(true);
  });

  it("orders numbers numerically and strings by code unit", () => {
    expect(holds("process.pid < 5000", exec)).toBe(true);
    expect(holds("process.pid <= 4242", exec)).toBe(true);
    expect(holds("process.pid > 4242", exec)).toBe(false);
    expect(holds("process.pid >= 4242", exec)).toBe(true);
    expect(holds("5000 > process.pid", exec)).toBe(true);
    expect(holds('process.name > "S"', exec)).toBe(true);
    expect(holds('process.name < "t"', exec)).toBe(true);
    expect(holds('process.name < "Z"', exec)).toBe(false);
    expect(holds("process.args_count >= 2.5", exec)).toBe(true);
  });

  it("numbers meet numeric strings as numbers", () => {
    expect(holds('process.pid == "4242"', exec)).toBe(true);
    expect(holds("pid == 12", { pid: "12" })).toBe(true);
    expect(holds("pid > 9", { pid: "12" })).toBe(true);
    expect(holds('pid == "x"', { pid: 12 })).toBe(false);
  });

  it("booleans", () => {
    expect(holds("process.code_signature.trusted == true", exec)).toBe(true);
    expect(holds("process.code_signature.trusted == false", exec)).toBe(false);
    expect(holds("process.code_signature.trusted", exec)).toBe(true);
    expect(holds("not process.code_signature.trusted", exec)).toBe(false);
    expect(holds('flag == "true"', { flag: true })).toBe(true);
  });

  it("literal against literal folds", () => {
    expect(holds("1 < 2", exec)).toBe(true);
    expect(holds('"a" == "b"', exec)).toBe(false);
  });
});

describe("boolean operators", () => {
  it("and / or / not, with not binding tighter than and/or", () => {
    expect(holds('process.name == "security" and process.pid == 4242', exec)).toBe(true);
    expect(holds('process.name == "security" and process.pid == 1', exec)).toBe(false);
    expect(holds('process.name == "ls" or process.pid == 4242', exec)).toBe(true);
    expect(holds('process.name == "ls" or process.pid == 1', exec)).toBe(false);
    expect(holds('not process.name == "ls" and process.pid == 4242', exec)).toBe(true);
    expect(holds('not (process.name == "security" or false)', exec)).toBe(false);
    expect(holds("true and not false", exec)).toBe(true);
  });
});

describe(": (case-insensitive, wildcards)", () => {
  it("without wildcards is a case-insensitive equality", () => {
    expect(holds('process.name : "SECURITY"', exec)).toBe(true);
    expect(holds('process.name : "secur"', exec)).toBe(false);
  });

  it("* matches any run, ? exactly one character", () => {
    expect(holds('process.executable : "/usr/bin/*"', exec)).toBe(true);
    expect(holds('process.executable : "*/SECURITY"', exec)).toBe(true);
    expect(holds('process.command_line : "*DUMP-KEYCHAIN*"', exec)).toBe(true);
    expect(holds('process.name : "sec?rity"', exec)).toBe(true);
    expect(holds('process.name : "sec?ity"', exec)).toBe(false);
    expect(holds('process.name : "s*c*y"', exec)).toBe(true);
    expect(holds('process.name : "*"', exec)).toBe(true);
    expect(holds('process.executable : "/usr/*/security"', exec)).toBe(true);
    expect(holds('process.executable : "/usr/*/bin"', exec)).toBe(false);
  });

  it("regular-expression characters in patterns are literal", () => {
    expect(holds('p : "a.c"', { p: "abc" })).toBe(false);
    expect(holds('p : "a.c"', { p: "a.c" })).toBe(true);
    expect(holds('p : "(x)+"', { p: "(x)+" })).toBe(true);
    expect(holds('p : "C:\\\\*"', { p: "c:\\windows" })).toBe(true);
  });

  it("list form holds if any pattern matches", () => {
    expect(holds('process.name : ("ls", "SEC*")', exec)).toBe(true);
    expect(holds('process.name : ("ls", "cat")', exec)).toBe(false);
    const many = '("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "Security", "*.sh")';
    expect(holds(`process.name : ${many}`, exec)).toBe(true);
    expect(holds(`process.name : ${many}`, { process: { name: "x.SH" } })).toBe(true);
    expect(holds(`process.name : ${many}`, { process: { name: "b" } })).toBe(false);
  });

  it("matches numbers by their text", () => {
    expect(holds('process.pid : "42*"', exec)).toBe(true);
  });
});

describe("like / like~ and regex / regex~", () => {
  it("like is case-sensitive with wildcards; like~ folds case", () => {
    expect(holds('process.name like "sec*"', exec)).toBe(true);
    expect(holds('process.name like "SEC*"', exec)).toBe(false);
    expect(holds('process.name like~ "SEC*"', exec)).toBe(true);
    expect(holds('process.name like ("ls", "security")', exec)).toBe(true);
    expect(holds('process.name like "security"', exec)).toBe(true);
    expect(holds('process.name like "Security"', exec)).toBe(false);
  });

  it("regex matches the whole string (Lucene syntax); regex~ folds case", () => {
    expect(holds('process.name regex "sec.*"', exec)).toBe(true);
    expect(holds('process.name regex "ecu"', exec)).toBe(false);
    expect(holds('process.name regex ".*ecu.*"', exec)).toBe(true);
    expect(holds('process.name regex "SEC.*"', exec)).toBe(false);
    expect(holds('process.name regex~ "SEC.*"', exec)).toBe(true);
    expect(holds('process.executable regex """/usr/(s)?bin/[a-z]+"""', exec)).toBe(true);
    expect(holds('process.name regex ("ls", "s[a-f]curity")', exec)).toBe(true);
  });
});

describe("in / in~ / not in", () => {
  it("is a literal, case-sensitive membership test", () => {
    expect(holds('process.name in ("ls", "security")', exec)).toBe(true);
    expect(holds('process.name in ("ls", "Security")', exec)).toBe(false);
    expect(holds('process.name in ("ls", "secur*")', exec)).toBe(false);
    expect(holds('process.name in~ ("ls", "SECURITY")', exec)).toBe(true);
    expect(holds('process.name not in ("ls", "security")', exec)).toBe(false);
    expect(holds('process.name not in~ ("ls", "SECURITY")', exec)).toBe(false);
    expect(holds('process.name not in ("ls", "cat")', exec)).toBe(true);
  });

  it("numbers, numeric strings and long lists", () => {
    expect(holds("process.pid in (1, 4242)", exec)).toBe(true);
    expect(holds('process.pid in ("4242")', exec)).toBe(true);
    const long = `(${Array.from({ length: 20 }, (_, i) => `"n${i}"`).join(", ")}, "security")`;
    expect(holds(`process.name in ${long}`, exec)).toBe(true);
    expect(holds(`process.name in ${long}`, { process: { name: "n7" } })).toBe(true);
    expect(holds(`process.name in ${long}`, { process: { name: "n70" } })).toBe(false);
  });
});

describe("arithmetic in conditions", () => {
  it("+ - * / % and unary minus; integer division truncates", () => {
    expect(holds("process.pid + 1 == 4243", exec)).toBe(true);
    expect(holds("process.pid - 42 == 4200", exec)).toBe(true);
    expect(holds("process.pid * 2 == 8484", exec)).toBe(true);
    expect(holds("process.pid / 1000 == 4", exec)).toBe(true);
    expect(holds("process.pid / 1000.0 == 4.242", exec)).toBe(true);
    expect(holds("process.pid % 1000 == 242", exec)).toBe(true);
    expect(holds("-process.pid == -4242", exec)).toBe(true);
    expect(holds("-7 / 2 == -3", exec)).toBe(true);
    expect(holds("2 + 3 * 4 == 14", exec)).toBe(true);
  });
});

describe("field access", () => {
  it("finds flattened dotted keys at any level", () => {
    expect(holds('user.name == "alice"', exec)).toBe(true);
    expect(holds('process.parent.name == "zsh"', { process: { "parent.name": "zsh" } })).toBe(true);
    expect(holds('process.parent.name == "zsh"', { "process.parent": { name: "zsh" } })).toBe(true);
    expect(holds('a.b.c.d == 1', { a: { "b.c": { d: 1 } } })).toBe(true);
  });

  it("backtick-quoted names are one segment", () => {
    expect(holds('`my-field` == "x"', { "my-field": "x" })).toBe(true);
  });

  it("arrays of objects fan out into one multi-valued field", () => {
    const e = { dll: [{ name: "a.dylib" }, { name: "b.dylib" }] };
    expect(holds('dll.name == "b.dylib"', e)).toBe(true);
    expect(holds('dll.name == "c.dylib"', e)).toBe(false);
  });

  it("does not see Object.prototype members as fields", () => {
    expect(holds("constructor == null", {})).toBe(true);
    expect(holds('toString : "*"', {})).toBe(false);
    expect(holds('a.constructor == "x"', { a: { constructor: "x" } })).toBe(true);
  });
});

describe("multi-valued fields", () => {
  it("a predicate on an array holds if any element satisfies it", () => {
    expect(holds('process.args == "-d"', exec)).toBe(true);
    expect(holds('process.args : "DUMP-*"', exec)).toBe(true);
    expect(holds('process.args in ("-x", "-d")', exec)).toBe(true);
    expect(holds('process.args like "-?"', exec)).toBe(true);
    expect(holds('process.args regex "-[a-z]"', exec)).toBe(true);
    expect(holds("n > 5", { n: [1, 9] })).toBe(true);
    expect(holds("n > 50", { n: [1, 9] })).toBe(false);
    expect(holds('process.args == "-x"', exec)).toBe(false);
  });

  it("!= and not over an array field hold only if no element matches (must_not)", () => {
    expect(holds('process.args != "-d"', exec)).toBe(false);
    expect(holds('process.args != "-x"', exec)).toBe(true);
    expect(holds('not process.args : "-d"', exec)).toBe(false);
  });

  it("nested arrays are flattened", () => {
    expect(holds('a == "x"', { a: [["y"], ["x"]] })).toBe(true);
    expect(holds('a : "X"', { a: [[null, "x"]] })).toBe(true);
  });

  it("function predicates over arrays hold if any element's result holds", () => {
    expect(holds('startsWith(process.args, "dump")', exec)).toBe(true);
    expect(holds('endsWith(process.args, "zzz")', exec)).toBe(false);
    expect(holds("length(process.args) == 2", exec)).toBe(true);
  });
});
