import type { RuleMetadata } from "../../src/rules/ruleMetadata.js";

/** A high-severity rule's metadata with nothing else set, for tests that only need a rule to point at. */
export const ruleMetadata = (ruleId: string, name = `Rule ${ruleId}`): RuleMetadata => ({
  ruleId,
  name,
  description: "",
  severity: "high",
  riskScore: 73,
  author: [],
  references: [],
  tags: [],
  threat: [],
  file: `${ruleId}.toml`,
});
