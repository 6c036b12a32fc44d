/** Elastic detection-rules TOML files → compiled rules, the detector over them, and replay of recorded events. */
export type { RuleMetadata, ThreatEntry, ThreatReference, ThreatTechnique, RuleAction, Severity } from "./ruleMetadata.js";
export { RuleError, RuleWarning, type RuleErrorDetails } from "./ruleError.js";
export { parseRuleFile, type LoadedRule, type RuleFileResult, type RuleFileOptions } from "./ruleFile.js";
export { loadRules, type LoadResult } from "./loader.js";
export { RuleSet, parseActionAssignment, type Detection, type RuleSetOptions, type RuleSetStats } from "./ruleSet.js";
export { replayEvents, replayOutcome, type AlertSink, type ReplayOptions, type ReplayStats } from "./replay.js";
export { shippedRulesPath } from "./shippedRules.js";
