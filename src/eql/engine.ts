/**
 * compileQuery(): parse, check, compile. Everything that can fail fails here, with the query position; the
 * returned matchers never throw on event data.
 */
import type { CompileOptions, CompiledQuery, EqlEvent, Hit, Matcher, MatcherStats } from "./api.js";
import type { EventQuery, Expr, Query, SequenceQuery, SequenceStage } from "./ast.js";
import { checkCondition, checkExpression, checkQuery } from "./checker.js";
import { allOfPredicates, compileCategoryTest, compilePredicate, compileValue, type Predicate } from "./compiler.js";
import { compileFieldGetter } from "./fieldAccess.js";
import { generatePredicate, generatePredicateSet } from "./codegen.js";
import { parseExpression, parseQuery } from "./parser.js";
import type { Value } from "./values.js";
import { normalizeExpr } from "./normalize.js";
import { pipeChain } from "./pipes.js";
import { sortPrefix } from "./sortPrefix.js";
import { SequenceMatcher, type KeySpec, type SequencePlan, type StagePlan } from "./sequence.js";

export const DEFAULT_CATEGORY_FIELD = "event.category";
export const DEFAULT_TIMESTAMP_FIELD = "@timestamp";
export const DEFAULT_MAX_PENDING_SEQUENCES = 100_000;
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

const NO_HITS: Hit[] = Object.freeze([]) as unknown as Hit[];

function eventTest(q: EventQuery, categoryField: string): Predicate {
  return generatePredicate(normalizeExpr(q.condition), q.category === null ? undefined : { field: categoryField, value: q.category });
}

/** The closure-composed reference implementation of an event query's test (tests compare it with the generated one). */
export function referenceEventTest(q: EventQuery, categoryField = DEFAULT_CATEGORY_FIELD): Predicate {
  return allOfPredicates([compileCategoryTest(categoryField, q.category), compilePredicate(normalizeExpr(q.condition))]);
}

function keySpec(e: Expr): KeySpec {
  return { value: compileValue(normalizeExpr(e)), optional: e.kind === "field" && e.optional };
}

type FilterFactory = (q: EventQuery) => Predicate;

function stagePlan(s: SequenceStage, sequenceKeys: readonly Expr[], filter: FilterFactory): StagePlan {
  return {
    filter: filter(s.query),
    keys: [...sequenceKeys, ...s.joinKeys].map(keySpec),
    missing: s.missing,
  };
}

function sequencePlan(q: SequenceQuery, options: Required<Omit<CompileOptions, "tiebreakerField">>, filter: FilterFactory): SequencePlan {
  const stages: StagePlan[] = [];
  for (const s of q.stages) {
    const plan = stagePlan(s, q.joinKeys, filter);
    for (let i = 0; i < Math.max(1, s.runs); i++) stages.push(plan);
  }
  return {
    stages,
    until: q.until ? stagePlan(q.until, q.joinKeys, filter) : null,
    maxspanMs: q.maxspan ? q.maxspan.millis : null,
    timestamp: compileFieldGetter(options.timestampField.split(".")),
    maxPending: options.maxPendingSequences,
    maxPendingBytes: options.maxPendingBytes,
  };
}

/** Wraps a raw hit source with the query's pipes. */
function piped(query: Query, source: { push(e: EqlEvent): Hit[]; finish(): Hit[]; stats(): MatcherStats }): Matcher {
  const chain = pipeChain(query.pipes);
  if (!chain) return source;
  return {
    push: (event) => (chain.closed() ? NO_HITS : chain.push(source.push(event))),
    finish: () => {
      const last = source.finish();
      const out = chain.closed() ? [] : chain.push(last);
      return [...out, ...chain.finish()];
    },
    stats: () => source.stats(),
  };
}

const NO_STATS: MatcherStats = Object.freeze({ pendingSequences: 0, pendingBytes: 0, evictedSequences: 0, evictedMissingEvents: 0, expiredSequences: 0 });

/** Parses, checks and compiles a query. Throws EqlSyntaxError / EqlSemanticError; never at event time. */
function resolveOptions(options: CompileOptions): Required<Omit<CompileOptions, "tiebreakerField">> {
  return {
    categoryField: options.categoryField ?? DEFAULT_CATEGORY_FIELD,
    timestampField: options.timestampField ?? DEFAULT_TIMESTAMP_FIELD,
    maxPendingSequences: Math.max(1, options.maxPendingSequences ?? DEFAULT_MAX_PENDING_SEQUENCES),
    maxPendingBytes: Math.max(1, options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES),
  };
}

export function compileQuery(source: string, options: CompileOptions = {}): CompiledQuery {
  const resolved = resolveOptions(options);
  const ast = parseQuery(source);
  checkQuery(ast);
  const body = ast.body;
  if (body.kind === "event") {
    const test = eventTest(body, resolved.categoryField);
    return {
      source,
      ast,
      isSequence: false,
      test,
      newMatcher: () =>
        piped(ast, {
          push: (event) => (test(event) ? [{ kind: "event", event }] : NO_HITS),
          finish: () => [],
          stats: () => NO_STATS,
        }),
    };
  }
  const plan = sequencePlan(body, resolved, (stage) => eventTest(stage, resolved.categoryField));
  return {
    source,
    ast,
    isSequence: true,
    newMatcher: () => piped(ast, new SequenceMatcher(plan)),
  };
}

/** Runs a query over events already in EQL order; returns every hit (pipes applied), as a search would. */
export function runQuery(query: CompiledQuery, orderedEvents: Iterable<EqlEvent>): Hit[] {
  const matcher = query.newMatcher();
  const hits: Hit[] = [];
  for (const event of orderedEvents) for (const h of matcher.push(event)) hits.push(h);
  for (const h of matcher.finish()) hits.push(h);
  return hits;
}

/**
 * Evaluates one expression against an event with script semantics (three-valued; null for null). For tests
 * and tools; checked like a query condition, so errors carry positions in `source`.
 */
export function evaluateExpression(source: string, event: EqlEvent = {}): Value {
  const expr = parseExpression(source);
  checkExpression(expr, source);
  return compileValue(normalizeExpr(expr))(event);
}

/** Compiles a lone condition both ways: the generated predicate and the closure reference. */
export function compileCondition(source: string): { generated: Predicate; reference: Predicate } {
  const expr = parseExpression(source);
  checkCondition(expr, source);
  const normalized = normalizeExpr(expr);
  return { generated: generatePredicate(normalized), reference: compilePredicate(normalized) };
}

export interface QuerySetHit {
  /** Index of the query in the list given to compileQuerySet. */
  query: number;
  hit: Hit;
}

export interface QuerySetMatcher {
  /**
   * `retain`: what pending sequences keep of the event for their hits instead of the event itself, asked for only
   * when one keeps it (a replay keeps the line's text, far less for the garbage collector to move than the parsed
   * objects). Event queries' hits always give the event.
   */
  push(event: EqlEvent, retain?: () => EqlEvent): QuerySetHit[];
  finish(): QuerySetHit[];
  /** Per query, in order. */
  stats(): MatcherStats[];
  /** Whether the sequence query holds pending sequences (false for an event query). */
  sequenceHoldsState(query: number): boolean;
  /** Whether the sequence query holds a pending sequence with this join key id (SequenceMatcher.holdsKey); false for an event query. */
  sequenceHoldsKey(query: number, keyId: unknown): boolean;
  /**
   * Told when a sequence query starts or stops holding pending sequences, after the push (or finish) that did it.
   * Only queries an event was pushed to are checked: one that is not pushed keeps its state (expiry waits too).
   */
  onSequenceState(listener: ((query: number, holds: boolean) => void) | undefined): void;
}

/** What one query's conditions cost on one event (QuerySet.profile). */
export interface QueryCost {
  query: number;
  ms: number;
}

export interface QuerySet {
  readonly queries: readonly CompiledQuery[];
  newMatcher(): QuerySetMatcher;
  /**
   * Times, one query at a time, the conditions a matcher's push would test on the event (an event query's
   * condition, a sequence's stage filters), each with nothing shared from another query already computed; slowest
   * first, queries not tested left out. Touches no matcher: no sequence, pipe or count state is read or changed.
   * Sequence bookkeeping (join keys, pending sequences) is not timed.
   */
  profile(event: EqlEvent, now: () => number): QueryCost[];
}

/**
 * What makes two conditions the same test: the normalized expression without its source offsets, and the
 * category. (JSON spells every number literal faithfully: the parser rejects numbers too large to be finite.)
 */
function conditionKey(condition: Expr, category: string | null): string {
  return JSON.stringify([category, condition], (key, value: unknown) => (key === "start" || key === "end" ? undefined : value));
}

/**
 * Compiles queries that run together on every event (a rule set). Same hits as one matcher per query, but the
 * conditions are generated as one unit: a test shared by many rules (the category, `host.os.type == "macos"`)
 * runs once per event, only the conditions the candidate index finds for an event are tested, and a sequence is
 * pushed only an event one of its stages matched, or while it has something pending. Nothing per event is
 * proportional to the number of queries: state is reset with generation counters, not by clearing arrays.
 * Throws on the first bad query, as compileQuery does.
 */
export function compileQuerySet(sources: readonly string[], options: CompileOptions = {}): QuerySet {
  const resolved = resolveOptions(options);
  const queries = sources.map((s) => compileQuery(s, options));
  const conditions: { condition: Expr; category?: { field: string; value: string } }[] = [];
  /**
   * The queries each condition belongs to. The same condition in several queries (one network stage in six
   * sequences) is one slot, tested once per event.
   */
  const owners: number[][] = [];
  const slotOf = new Map<string, number>();
  const slot = (q: EventQuery, owner: number): number => {
    const condition = normalizeExpr(q.condition);
    const key = conditionKey(condition, q.category);
    let i = slotOf.get(key);
    if (i === undefined) {
      i = conditions.length;
      slotOf.set(key, i);
      conditions.push({ condition, category: q.category === null ? undefined : { field: resolved.categoryField, value: q.category } });
      owners.push([]);
    }
    if (!owners[i].includes(owner)) owners[i].push(owner);
    return i;
  };
  type Entry =
    | { kind: "event"; slot: number }
    | { kind: "sequence"; plan: (matched: (slot: number) => boolean) => SequencePlan };
  const entries: Entry[] = queries.map((q, owner) => {
    const body = q.ast.body;
    if (body.kind === "event") return { kind: "event", slot: slot(body, owner) };
    const stageSlots = new Map<EventQuery, number>();
    const all = body.until ? [...body.stages, body.until] : body.stages;
    for (const st of all) if (!stageSlots.has(st.query)) stageSlots.set(st.query, slot(st.query, owner));
    return {
      kind: "sequence",
      plan: (matched) =>
        sequencePlan(body, resolved, (stage) => {
          const i = stageSlots.get(stage) as number;
          return () => matched(i);
        }),
    };
  });
  const generated = generatePredicateSet(conditions);
  // Owners of slot s: ownerList[ownerStart[s] .. ownerStart[s + 1]), ascending.
  const ownerStart = new Int32Array(conditions.length + 1);
  owners.forEach((list, s) => (ownerStart[s + 1] = ownerStart[s] + list.length));
  const ownerList = Int32Array.from(owners.flat());
  return {
    queries,
    profile(event, now) {
      const ms = new Map<number, number>();
      for (const c of generated.candidates(event)) {
        const start = now();
        generated.testAlone(c, event);
        const took = now() - start;
        for (const query of owners[c]) ms.set(query, (ms.get(query) ?? 0) + took);
      }
      return [...ms].map(([query, t]) => ({ query, ms: t })).sort((a, b) => b.ms - a.ms);
    },
    newMatcher: () => {
      // matchedIn[slot] === event: the slot's condition holds for the current event (numbered from 1).
      const matchedIn = new Float64Array(Math.max(1, conditions.length));
      let event = 0;
      const matched = (slot: number): boolean => matchedIn[slot] === event;
      const slots = new Int32Array(Math.max(1, conditions.length));
      /** Per query: null for an event query without pipes (its hit is the event); else the matcher to push. */
      const parts: ({ matcher: Matcher; sequence: SequenceMatcher | null } | null)[] = entries.map((entry, i) => {
        if (entry.kind === "event") {
          if (queries[i].ast.pipes.length === 0) return null;
          const s = entry.slot;
          return {
            sequence: null,
            matcher: piped(queries[i].ast, {
              push: (ev) => (matched(s) ? [{ kind: "event", event: ev }] : NO_HITS),
              finish: () => [],
              stats: () => NO_STATS,
            }),
          };
        }
        const sm = new SequenceMatcher(entry.plan(matched));
        return { sequence: sm, matcher: piped(queries[i].ast, sm) };
      });
      // Queries to run for the current event (ascending, so hits come in query order), marked by event number.
      const queuedIn = new Float64Array(Math.max(1, queries.length));
      const queue = new Int32Array(Math.max(1, queries.length));
      // Sequences holding pending state: they see every event (expiry, missing-event stages), matched or not.
      const pending: number[] = [];
      const isPending = new Uint8Array(Math.max(1, queries.length));
      const holding = new Uint8Array(Math.max(1, queries.length));
      let stateListener: ((query: number, holds: boolean) => void) | undefined;
      return {
        push(ev, retain) {
          event++;
          const m = generated.matching(ev, slots);
          let q = 0;
          let sorted = true;
          for (let i = 0; i < m; i++) {
            const s = slots[i];
            matchedIn[s] = event;
            for (let k = ownerStart[s]; k < ownerStart[s + 1]; k++) {
              const owner = ownerList[k];
              if (queuedIn[owner] !== event) {
                queuedIn[owner] = event;
                if (q > 0 && queue[q - 1] > owner) sorted = false;
                queue[q++] = owner;
              }
            }
          }
          for (let i = 0; i < pending.length; i++) {
            const owner = pending[i];
            if (queuedIn[owner] !== event) {
              queuedIn[owner] = event;
              if (q > 0 && queue[q - 1] > owner) sorted = false;
              queue[q++] = owner;
            }
          }
          if (q === 0) return NO_HITS as unknown as QuerySetHit[];
          if (!sorted) sortPrefix(queue, q);
          let out: QuerySetHit[] | undefined;
          for (let i = 0; i < q; i++) {
            const query = queue[i];
            const part = parts[query];
            if (part === null) {
              (out ??= []).push({ query, hit: { kind: "event", event: ev } });
              continue;
            }
            if (part.sequence !== null) part.sequence.retainer = retain;
            const hits = part.matcher.push(ev);
            for (let j = 0; j < hits.length; j++) (out ??= []).push({ query, hit: hits[j] });
            if (stateListener !== undefined && part.sequence !== null && holding[query] !== Number(part.sequence.holdsSequences())) {
              holding[query] ^= 1;
              stateListener(query, holding[query] === 1);
            }
            if (part.sequence !== null && isPending[query] === 0 && !part.sequence.canSkipUnmatched()) {
              isPending[query] = 1;
              pending.push(query);
            }
          }
          // Drop the sequences that have nothing pending any more (order within the list does not matter).
          for (let i = pending.length - 1; i >= 0; i--) {
            const query = pending[i];
            if ((parts[query] as { sequence: SequenceMatcher }).sequence.canSkipUnmatched()) {
              isPending[query] = 0;
              pending[i] = pending[pending.length - 1];
              pending.pop();
            }
          }
          return out ?? (NO_HITS as unknown as QuerySetHit[]);
        },
        finish() {
          const out: QuerySetHit[] = [];
          parts.forEach((p, query) => {
            if (p !== null) for (const hit of p.matcher.finish()) out.push({ query, hit });
            if (holding[query] === 1) {
              holding[query] = 0;
              stateListener?.(query, false);
            }
          });
          return out;
        },
        stats: () => parts.map((p) => (p === null ? NO_STATS : p.matcher.stats())),
        sequenceHoldsState: (query) => parts[query]?.sequence?.holdsSequences() ?? false,
        sequenceHoldsKey: (query, keyId) => parts[query]?.sequence?.holdsKey(keyId) ?? false,
        onSequenceState(listener) {
          stateListener = listener;
          parts.forEach((p, query) => (holding[query] = p?.sequence?.holdsSequences() ? 1 : 0));
        },
      };
    },
  };
}
