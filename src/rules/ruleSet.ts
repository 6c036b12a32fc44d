import { MacsensorError } from "../errors.js";
import type { EqlEvent, Hit, Matcher } from "../eql/index.js";
import type { RuleAction } from "./ruleMetadata.js";
import type { LoadedRule } from "./ruleFile.js";

/** A rule matched: the rule, what matched (one event or a whole sequence) and the action configured for it. */
export interface Detection {
  rule: LoadedRule;
  hit: Hit;
  action: RuleAction;
}

export interface RuleSetOptions {
  /** Per-rule action by rule_id; rules not in the map report. */
  actions?: ReadonlyMap<string, RuleAction>;
}

export interface RuleSetStats {
  events: number;
  detections: number;
  /** Matches per rule_id (rules that never matched are listed with 0). */
  matches: Record<string, number>;
}

const NO_DETECTIONS: readonly Detection[] = Object.freeze([]);

/** Event queries without pipes are tested directly; anything with state (sequences, head/tail) gets a matcher. */
interface TestedRule {
  rule: LoadedRule;
  action: RuleAction;
  test: (event: EqlEvent) => boolean;
  matches: number;
}

interface MatchedRule {
  rule: LoadedRule;
  action: RuleAction;
  matcher: Matcher;
  matches: number;
}

/**
 * The detector: every loaded rule with its own matcher; `push` runs one event through all of them. This is the
 * per-event hot path, so it allocates nothing for events that match nothing.
 */
export class RuleSet {
  readonly rules: readonly LoadedRule[];
  private readonly tested: TestedRule[] = [];
  private readonly matched: MatchedRule[] = [];
  private readonly actions: ReadonlyMap<string, RuleAction>;
  private events = 0;
  private detections = 0;

  constructor(rules: readonly LoadedRule[], options: RuleSetOptions = {}) {
    this.rules = rules;
    this.actions = options.actions ?? new Map();
    for (const rule of rules) {
      const action = this.actionFor(rule.metadata.ruleId);
      const q = rule.query;
      if (!q.isSequence && q.test && q.ast.pipes.length === 0) {
        this.tested.push({ rule, action, test: q.test, matches: 0 });
      } else {
        this.matched.push({ rule, action, matcher: q.newMatcher(), matches: 0 });
      }
    }
  }

  actionFor(ruleId: string): RuleAction {
    return this.actions.get(ruleId) ?? "report";
  }

  /** rule_ids given an action that no loaded rule has (a typo in configuration, worth a warning). */
  unknownActionIds(): string[] {
    const ids = new Set(this.rules.map((r) => r.metadata.ruleId));
    return [...this.actions.keys()].filter((id) => !ids.has(id));
  }

  push(event: EqlEvent): readonly Detection[] {
    this.events++;
    let out: Detection[] | undefined;
    const tested = this.tested;
    for (let i = 0; i < tested.length; i++) {
      const t = tested[i];
      if (t.test(event)) {
        t.matches++;
        (out ??= []).push({ rule: t.rule, hit: { kind: "event", event }, action: t.action });
      }
    }
    const matched = this.matched;
    for (let i = 0; i < matched.length; i++) {
      const m = matched[i];
      const hits = m.matcher.push(event);
      if (hits.length > 0) {
        m.matches += hits.length;
        out ??= [];
        for (const hit of hits) out.push({ rule: m.rule, hit, action: m.action });
      }
    }
    if (out === undefined) return NO_DETECTIONS;
    this.detections += out.length;
    return out;
  }

  /** End of the stream: what only the end decides (`tail`, trailing missing-event stages). */
  finish(): readonly Detection[] {
    const out: Detection[] = [];
    for (const m of this.matched) {
      const hits = m.matcher.finish();
      m.matches += hits.length;
      for (const hit of hits) out.push({ rule: m.rule, hit, action: m.action });
    }
    this.detections += out.length;
    return out;
  }

  stats(): RuleSetStats {
    const matches: Record<string, number> = {};
    for (const t of this.tested) matches[t.rule.metadata.ruleId] = t.matches;
    for (const m of this.matched) matches[m.rule.metadata.ruleId] = m.matches;
    return { events: this.events, detections: this.detections, matches };
  }
}

/** Parses `RULE_ID=ACTION` (the `--action` flag). */
export function parseActionAssignment(text: string): [string, RuleAction] {
  const eq = text.lastIndexOf("=");
  const id = eq > 0 ? text.slice(0, eq).trim() : "";
  const action = eq > 0 ? text.slice(eq + 1).trim() : "";
  if (!id || (action !== "report" && action !== "block" && action !== "kill")) {
    throw new MacsensorError(`--action: expected RULE_ID=report|block|kill, found ${JSON.stringify(text)}`);
  }
  return [id, action];
}
