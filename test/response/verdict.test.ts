import { describe, expect, it } from "vitest";
import { decideVerdict } from "../../src/response/verdict.js";

describe("decideVerdict", () => {
  it("allows when nothing matched", () => {
    expect(decideVerdict([], {})).toEqual({ verdict: "allow", blockedBy: [], killFor: [], reportedBy: [] });
  });

  it("allows and reports when every matching rule reports (the default action)", () => {
    expect(decideVerdict(["a", { ruleId: "b" }], { b: "report" })).toEqual({ verdict: "allow", blockedBy: [], killFor: [], reportedBy: ["a", "b"] });
  });

  it("denies when one matching rule blocks, whatever the others say", () => {
    const decision = decideVerdict(["r1", "b1", "k1", "b2"], new Map([["b1", "block"], ["b2", "block"], ["k1", "kill"]]));
    expect(decision).toEqual({ verdict: "deny", blockedBy: ["b1", "b2"], killFor: ["k1"], reportedBy: ["r1"] });
  });

  it("allows an exec whose rule kills: the kill comes after the exec", () => {
    expect(decideVerdict(["k"], { k: "kill" })).toEqual({ verdict: "allow", blockedBy: [], killFor: ["k"], reportedBy: [] });
  });

  it("counts a rule matched twice once, and uses the given default action", () => {
    expect(decideVerdict(["x", "x"], {}, "block")).toEqual({ verdict: "deny", blockedBy: ["x"], killFor: [], reportedBy: [] });
  });

  it("ignores inherited object keys as actions", () => {
    expect(decideVerdict(["toString"], {}).verdict).toBe("allow");
  });
});
