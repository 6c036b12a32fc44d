import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { canonicalCodePoint, canonicalString, caseVariants } from "../../src/eql/caseFold.js";
import { seededRandom } from "../helpers/seededRandom.js";

/** Whether a case-insensitive Unicode RegExp takes `a` and `b` for the same character. */
function sameUnderIu(a: number, b: number): boolean {
  return new RegExp(`^\\u{${a.toString(16)}}$`, "iu").test(String.fromCodePoint(b));
}

describe("case folding as the `iu` RegExp flags have it", () => {
  it("the generated table is what this Node's RegExp engine does", () => {
    const run = spawnSync(process.execPath, ["scripts/gen-case-classes.mjs", "--check"], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  }, 120_000);

  it("canonicalCodePoint is equal exactly for the code points the engine takes as equal", () => {
    const rng = seededRandom(3301);
    const interesting = [0x4b, 0x6b, 0x212a, 0x53, 0x73, 0x17f, 0x3a3, 0x3c3, 0x3c2, 0xdf, 0x1e9e, 0x130, 0x131, 0x49, 0x69, 0x10400, 0x10428, 0x1c4, 0x1c5, 0x1c6];
    for (let round = 0; round < 3000; round++) {
      const a = round < interesting.length ** 2 ? interesting[round % interesting.length] : rng.int(0x3000);
      const b = round < interesting.length ** 2 ? interesting[Math.floor(round / interesting.length)] : rng.pick(caseVariants(a).length > 1 ? caseVariants(a) : [rng.int(0x3000)]);
      if ((a >= 0xd800 && a <= 0xdfff) || (b >= 0xd800 && b <= 0xdfff)) continue;
      expect(canonicalCodePoint(a) === canonicalCodePoint(b), `U+${a.toString(16)} U+${b.toString(16)}`).toBe(sameUnderIu(a, b));
    }
  });

  it("canonicalString maps code point by code point, keeping lone surrogates and ASCII lower case", () => {
    expect(canonicalString("ABC def")).toBe("abc def");
    expect(canonicalString("\u212a\u017f\u{10428}")).toBe("ks\u{10400}");
    expect(canonicalString("\ud83d x \ude00 😀")).toBe("\ud83d x \ude00 😀");
    expect(canonicalString("Σ".repeat(10_000))).toBe(String.fromCodePoint(canonicalCodePoint(0x3a3)).repeat(10_000));
  });
});
