import { describe, expect, it } from "vitest";
import { escapeClassChar, escapeRegExpChar, hasWildcard, wildcardToRegExpSource } from "../../src/eql/wildcard.js";

function matcher(pattern: string, flags = "u"): RegExp {
  return new RegExp(wildcardToRegExpSource(pattern), flags);
}

describe("wildcardToRegExpSource", () => {
  it("produces anchored sources", () => {
    expect(wildcardToRegExpSource("a*b?c")).toBe("^(?:a[\\s\\S]*b[\\s\\S]c)$");
    expect(wildcardToRegExpSource("")).toBe("^(?:)$");
    expect(wildcardToRegExpSource("***")).toBe("^(?:[\\s\\S]*)$");
  });

  const cases: Array<[string, string[], string[]]> = [
    // [pattern, matches, does not match]
    ["*", ["", "anything", "multi\nline"], []],
    ["?", ["a", "😀", "\n"], ["", "ab"]],
    ["*.exe", ["cmd.exe", ".exe"], ["cmd.exe.bak", "cmdxexe", "CMD.EXE"]],
    ["/bin/*sh", ["/bin/bash", "/bin/sh"], ["/usr/bin/bash", "/bin/bash2"]],
    ["a?c", ["abc", "a.c"], ["ac", "abbc"]],
    ["a**b", ["ab", "axxb"], ["a"]],
    ["dump-keychain", ["dump-keychain"], ["dump-keychain2", "xdump-keychain"]],
    ["-d", ["-d"], ["d", "--d"]],
    ["^$.+()[]{}|\\/", ["^$.+()[]{}|\\/"], ["x"]],
    ["C:\\Windows\\*", ["C:\\Windows\\System32"], ["C:/Windows/System32"]],
    ["é*ü", ["éaü", "éü"], ["eu"]],
    ["", [""], ["a"]],
  ];
  for (const [pattern, yes, no] of cases) {
    it(`${JSON.stringify(pattern)} matches the whole string, wildcards only for * and ?`, () => {
      const re = matcher(pattern);
      for (const text of yes) expect(re.test(text), text).toBe(true);
      for (const text of no) expect(re.test(text), text).toBe(false);
    });
  }

  it("works with the i flag and without the u flag", () => {
    expect(matcher("*.EXE", "iu").test("cmd.exe")).toBe(true);
    expect(matcher("a*[b]", "").test("axx[b]")).toBe(true);
  });

  it("stays linear on many stars (no catastrophic backtracking source)", () => {
    expect(wildcardToRegExpSource("a****b").match(/\[\\s\\S\]\*/g)).toHaveLength(1);
  });
});

describe("hasWildcard", () => {
  it("is true only with * or ?", () => {
    expect(hasWildcard("a*")).toBe(true);
    expect(hasWildcard("a?")).toBe(true);
    expect(hasWildcard("abc")).toBe(false);
    expect(hasWildcard("")).toBe(false);
    expect(hasWildcard("[a].+")).toBe(false);
  });
});

describe("escaping single characters", () => {
  it("makes every printable ASCII character literal, in and out of classes, with and without u", () => {
    for (let code = 0x20; code < 0x7f; code++) {
      const ch = String.fromCharCode(code);
      for (const flags of ["", "u"]) {
        expect(new RegExp(`^${escapeRegExpChar(ch)}$`, flags).test(ch), ch).toBe(true);
        const inClass = new RegExp(`^[${escapeClassChar(ch)}]$`, flags);
        expect(inClass.test(ch), ch).toBe(true);
        expect(inClass.test(ch === "a" ? "b" : "a"), ch).toBe(false);
      }
    }
  });
});

describe("wildcardToRegExpSource on random patterns", () => {
  it("always compiles, and a pattern with no wildcard matches exactly itself", () => {
    let state = 11;
    const next = (): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x80000000;
    };
    const chars = [...'ab*?.+()[]{}|^$\\/-"`~😀é', "\uD800", "\uDC00", "\n", "\u0000"];
    for (let round = 0; round < 3000; round++) {
      let pattern = "";
      const length = Math.floor(next() * 10);
      for (let i = 0; i < length; i++) pattern += chars[Math.floor(next() * chars.length)];
      const re = new RegExp(wildcardToRegExpSource(pattern), "u");
      new RegExp(wildcardToRegExpSource(pattern), "iu");
      if (!hasWildcard(pattern)) {
        expect(re.test(pattern)).toBe(true);
        expect(re.test(`${pattern}x`)).toBe(false);
      } else {
        // Replacing every * by nothing and every ? by one character gives a matching string.
        expect(re.test(pattern.replace(/\*/g, "").replace(/\?/g, "q"))).toBe(true);
      }
    }
  });
});
