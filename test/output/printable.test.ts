import { describe, expect, it } from "vitest";
import { printableLine } from "../../src/output/printable.js";

describe("printableLine", () => {
  it("shows control characters, line separators and bidi overrides as escapes", () => {
    expect(printableLine("a\nb\rc\td\u0000e\u001bf\u007fg\u0085h\u2028i\u202ej\u2066k")).toBe("a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h\\u2028i\\u202ej\\u2066k");
  });

  it("keeps ordinary text, including pairs of surrogates, and replaces a lone surrogate", () => {
    expect(printableLine("ann é \u{1F600}")).toBe("ann é \u{1F600}");
    expect(printableLine("x\ud800y\udc00")).toBe("x\ufffdy\ufffd");
  });

  it("cuts to the length asked, never inside an escape or a surrogate pair", () => {
    expect(printableLine("abcdef", 4)).toBe("abc…");
    expect(printableLine("abcdef", 6)).toBe("abcdef");
    expect(printableLine("ab\u001bcdef", 5)).toBe("ab…");
    expect(printableLine("ab\u{1F600}cd", 4)).toBe("ab…");
  });
});
