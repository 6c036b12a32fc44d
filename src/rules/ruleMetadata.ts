/** What a loaded detection rule says about itself, from an Elastic detection-rules TOML file. */

export interface ThreatReference {
  id: string;
  name: string;
  reference?: string;
}

export interface ThreatTechnique extends ThreatReference {
  subtechnique: ThreatReference[];
}

/** One `[[rule.threat]]` table. */
export interface ThreatEntry {
  framework: string;
  tactic: ThreatReference;
  technique: ThreatTechnique[];
}

export type Severity = "low" | "medium" | "high" | "critical";

/** What the agent does when a rule matches; agent configuration, never part of the rule file. */
export type RuleAction = "report" | "block" | "kill";

export interface RuleMetadata {
  ruleId: string;
  name: string;
  description: string;
  severity: Severity;
  riskScore: number;
  version?: number;
  license?: string;
  author: string[];
  references: string[];
  tags: string[];
  threat: ThreatEntry[];
  /** The file the rule came from. */
  file: string;
  /** e.g. "macsensor" for our own pack, "elastic" for Elastic's; goes to rule.ruleset. */
  ruleset?: string;
  timestampOverride?: string;
}
