/**
 * The answer to an AUTH exec event, from the rules that matched it and the action configured for each.
 * Block wins over report: one matching "block" rule denies the exec. "kill" does not change the answer — the
 * exec is allowed and the process is killed once it runs (post-exec) — so it is listed apart.
 */
import type { RuleAction } from "../rules/ruleMetadata.js";

export type Verdict = "allow" | "deny";

/** The per-rule actions: agent configuration keyed by rule_id. */
export type RuleActions = ReadonlyMap<string, RuleAction> | Readonly<Record<string, RuleAction>>;

export interface VerdictDecision {
  verdict: Verdict;
  /** The rules that denied the exec (empty when allowed), each once, in detection order. */
  blockedBy: string[];
  /** The rules asking to kill the process after it starts. */
  killFor: string[];
  /** The rules that only report. */
  reportedBy: string[];
}

/** The action configured for a rule, or `fallback`. */
export function actionOf(actions: RuleActions, ruleId: string, fallback: RuleAction = "report"): RuleAction {
  const action = actions instanceof Map ? actions.get(ruleId) : Object.hasOwn(actions, ruleId) ? (actions as Readonly<Record<string, RuleAction>>)[ruleId] : undefined;
  return action ?? fallback;
}

/**
 * Decides allow or deny. `detections` are the rule ids that matched (a rule may appear more than once);
 * a rule without a configured action uses `defaultAction` ("report").
 */
export function decideVerdict(detections: Iterable<string | { ruleId: string }>, actions: RuleActions, defaultAction: RuleAction = "report"): VerdictDecision {
  const decision: VerdictDecision = { verdict: "allow", blockedBy: [], killFor: [], reportedBy: [] };
  const seen = new Set<string>();
  for (const detection of detections) {
    const ruleId = typeof detection === "string" ? detection : detection.ruleId;
    if (seen.has(ruleId)) continue;
    seen.add(ruleId);
    const action = actionOf(actions, ruleId, defaultAction);
    if (action === "block") decision.blockedBy.push(ruleId);
    else if (action === "kill") decision.killFor.push(ruleId);
    else decision.reportedBy.push(ruleId);
  }
  if (decision.blockedBy.length > 0) decision.verdict = "deny";
  return decision;
}
