import { describe, expect, it } from "vitest";
import { loadRules } from "../../src/rules/loader.js";
import { RuleSet } from "../../src/rules/ruleSet.js";

// The README's "see a live alert on Linux" walk-through depends on this rule.
describe("samples/linux-demo", () => {
  const result = loadRules([new URL("../../samples/linux-demo", import.meta.url).pathname]);
  const exec = (args: string[]) => ({
    "@timestamp": "2026-11-26T10:00:00Z",
    event: { category: ["process"], type: ["start"], action: "exec" },
    host: { os: { type: "linux" } },
    process: { name: "security", executable: "/tmp/security", args },
  });

  it("loads one rule without errors", () => {
    expect(result.errors).toEqual([]);
    expect(result.rules.map((r) => r.metadata.name)).toEqual(["Keychain Dump Lookalike (demo, any OS)"]);
  });

  it("fires on the README's command on a Linux host, and not on other subcommands", () => {
    const rules = new RuleSet(result.rules);
    expect(rules.push(exec(["/tmp/security", "-c", "sleep 1; :", "dump-keychain", "-d"]))).toHaveLength(1);
    expect(rules.push(exec(["/tmp/security", "dump-keychain"]))).toHaveLength(0);
    expect(rules.push(exec(["/tmp/security", "list-keychains", "-d", "user"]))).toHaveLength(0);
  });
});
