import { MacsensorError } from "../errors.js";
import { compileQuerySet } from "../eql/index.js";
import type { CompileOptions, EqlEvent, Hit, QuerySet, QuerySetHit, QuerySetMatcher } from "../eql/index.js";
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
  /** The options the rules were compiled with (loadRules' `compile`); default none. */
  compile?: CompileOptions;
}

/** What one rule's conditions cost on one event (RuleSet.profile). */
export interface RuleCost {
  rule: LoadedRule;
  ms: number;
}

export interface RuleSetStats {
  events: number;
  detections: number;
  /** Matches per rule_id (rules that never matched are listed with 0). */
  matches: Record<string, number>;
}

export interface SequenceStateStats {
  pending: number;
  /** Estimated bytes of pending sequence state. */
  pendingBytes: number;
  /** Pending sequences and remembered missing-stage events dropped by a cap. */
  evicted: number;
}

const NO_DETECTIONS: readonly Detection[] = Object.freeze([]);

/**
 * The detector: every loaded rule, compiled together as one query set (a test many rules share, such as the
 * category or `host.os.type == "macos"`, runs once per event; rules are indexed by the values they require), with
 * one streaming matcher. `push` runs one event through all of them. This is the per-event hot path, so it
 * allocates nothing for events that match nothing.
 */
export class RuleSet {
  readonly rules: readonly LoadedRule[];
  /** The options the rules were compiled with (the replay pre-filter needs their category field). */
  readonly compileOptions: Readonly<CompileOptions>;
  private readonly actions: ReadonlyMap<string, RuleAction>;
  private readonly ruleActions: RuleAction[];
  private readonly querySet: QuerySet;
  /** Per compiled query (one per distinct query text): the rules (by index) that have it. */
  private readonly rulesOfQuery: number[][];
  /** Per rule: its compiled query. */
  private readonly queryOfRule: number[] = [];
  private readonly matcher: QuerySetMatcher;
  private readonly matchCounts: number[];
  private events = 0;
  private detections = 0;

  constructor(rules: readonly LoadedRule[], options: RuleSetOptions = {}) {
    this.rules = rules;
    this.compileOptions = options.compile ?? {};
    this.actions = options.actions ?? new Map();
    this.ruleActions = rules.map((rule) => this.actionFor(rule.metadata.ruleId));
    this.matchCounts = rules.map(() => 0);
    // Rules with the same query text (one rule under several ids or actions) share one compiled query: the same
    // events match it, so it is tested once per event and its hits go to each of them.
    const queryOf = new Map<string, number>();
    this.rulesOfQuery = [];
    rules.forEach((rule, i) => {
      let q = queryOf.get(rule.query.source);
      if (q === undefined) {
        q = this.rulesOfQuery.length;
        queryOf.set(rule.query.source, q);
        this.rulesOfQuery.push([]);
      }
      this.rulesOfQuery[q].push(i);
      this.queryOfRule.push(q);
    });
    // The rules compiled one by one already, with the same options, so this cannot fail on a query.
    this.querySet = compileQuerySet([...queryOf.keys()], options.compile ?? {});
    this.matcher = this.querySet.newMatcher();
  }

  actionFor(ruleId: string): RuleAction {
    return this.actions.get(ruleId) ?? "report";
  }

  /** rule_ids given an action that no loaded rule has (a typo in configuration, worth a warning). */
  unknownActionIds(): string[] {
    const ids = new Set(this.rules.map((r) => r.metadata.ruleId));
    return [...this.actions.keys()].filter((id) => !ids.has(id));
  }

  /** `retain`: what pending sequences keep of the event instead of it (see QuerySetMatcher.push). */
  push(event: EqlEvent, retain?: () => EqlEvent): readonly Detection[] {
    this.events++;
    return this.detected(this.matcher.push(event, retain));
  }

  /**
   * Times each rule push would test on the event, alone (slowest first), to name the rule behind a slow event.
   * Side-effect free: sequence state, pipes and the match counts are untouched, so later pushes match the same.
   */
  profile(event: EqlEvent, now: () => number): RuleCost[] {
    return this.querySet.profile(event, now).flatMap(({ query, ms }) => this.rulesOfQuery[query].map((r) => ({ rule: this.rules[r], ms })));
  }

  /** Whether rule i (by index in `rules`) is a sequence holding pending sequences. */
  sequenceHoldsState(rule: number): boolean {
    return this.matcher.sequenceHoldsState(this.queryOfRule[rule]);
  }

  /**
   * Whether rule i (by index in `rules`) is a sequence with a pending sequence for this join key id: for a
   * sequence `by` one field, the field's value (a later-stage event with another value can advance nothing).
   * False for a rule that is not a sequence. A few Map lookups.
   */
  sequenceHoldsKey(rule: number, keyId: unknown): boolean {
    return this.matcher.sequenceHoldsKey(this.queryOfRule[rule], keyId);
  }

  /**
   * Told, per rule, when a sequence rule starts or stops holding pending sequences (see QuerySetMatcher's
   * onSequenceState); undefined stops telling.
   */
  watchSequenceState(listener: ((rule: number, holds: boolean) => void) | undefined): void {
    this.matcher.onSequenceState(
      listener === undefined
        ? undefined
        : (query, holds) => {
            for (const r of this.rulesOfQuery[query]) listener(r, holds);
          },
    );
  }

  /** End of the stream: what only the end decides (`tail`, trailing missing-event stages). */
  finish(): readonly Detection[] {
    return this.detected(this.matcher.finish());
  }

  private detected(hits: readonly QuerySetHit[]): readonly Detection[] {
    if (hits.length === 0) return NO_DETECTIONS;
    const out: Detection[] = [];
    for (const { query, hit } of hits) {
      for (const r of this.rulesOfQuery[query]) {
        this.matchCounts[r]++;
        out.push({ rule: this.rules[r], hit, action: this.ruleActions[r] });
      }
    }
    this.detections += out.length;
    return out;
  }

  /** Pending sequence state of all sequence rules together (for the heartbeat). */
  sequenceStats(): SequenceStateStats {
    const total: SequenceStateStats = { pending: 0, pendingBytes: 0, evicted: 0 };
    for (const s of this.matcher.stats()) {
      total.pending += s.pendingSequences;
      total.pendingBytes += s.pendingBytes;
      total.evicted += s.evictedSequences + s.evictedMissingEvents;
    }
    return total;
  }

  stats(): RuleSetStats {
    const matches: Record<string, number> = {};
    this.rules.forEach((rule, i) => (matches[rule.metadata.ruleId] = this.matchCounts[i]));
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
