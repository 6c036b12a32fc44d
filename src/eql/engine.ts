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
  push(event: EqlEvent): QuerySetHit[];
  finish(): QuerySetHit[];
  /** Per query, in order. */
  stats(): MatcherStats[];
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
 * Compiles queries that run together on every event (a rule set). Same hits as one matcher per query, but the
 * conditions are generated as one unit: a test shared by many rules (the category, `host.os.type == "macos"`)
 * runs once per event, and a sequence whose stages all fail and which has nothing pending is skipped.
 * Throws on the first bad query, as compileQuery does.
 */
export function compileQuerySet(sources: readonly string[], options: CompileOptions = {}): QuerySet {
  const resolved = resolveOptions(options);
  const queries = sources.map((s) => compileQuery(s, options));
  const conditions: { condition: Expr; category?: { field: string; value: string } }[] = [];
  /** The query each condition belongs to. */
  const conditionQuery: number[] = [];
  let current = 0;
  const slot = (q: EventQuery): number => {
    conditionQuery.push(current);
    conditions.push({
      condition: normalizeExpr(q.condition),
      category: q.category === null ? undefined : { field: resolved.categoryField, value: q.category },
    });
    return conditions.length - 1;
  };
  type Entry =
    | { kind: "event"; slot: number }
    | { kind: "sequence"; slots: number[]; plan: (flags: Uint8Array) => SequencePlan };
  const entries: Entry[] = queries.map((q, i) => {
    current = i;
    const body = q.ast.body;
    if (body.kind === "event") return { kind: "event", slot: slot(body) };
    const stageSlots = new Map<EventQuery, number>();
    const all = body.until ? [...body.stages, body.until] : body.stages;
    for (const st of all) stageSlots.set(st.query, slot(st.query));
    return {
      kind: "sequence",
      slots: [...stageSlots.values()],
      plan: (flags) =>
        sequencePlan(body, resolved, (stage) => {
          const i = stageSlots.get(stage) as number;
          return () => flags[i] === 1;
        }),
    };
  });
  const generated = generatePredicateSet(conditions);
  return {
    queries,
    profile(event, now) {
      const ms = new Map<number, number>();
      for (const c of generated.candidates(event)) {
        const start = now();
        generated.testAlone(c, event);
        const query = conditionQuery[c];
        ms.set(query, (ms.get(query) ?? 0) + (now() - start));
      }
      return [...ms].map(([query, t]) => ({ query, ms: t })).sort((a, b) => b.ms - a.ms);
    },
    newMatcher: () => {
      const flags = new Uint8Array(Math.max(1, conditions.length));
      // Event queries without pipes only need their flag read; the others go through a matcher.
      const plainEvents: { query: number; slot: number }[] = [];
      const parts: { query: number; slots: Int32Array; sequence: SequenceMatcher | null; matcher: Matcher }[] = [];
      entries.forEach((entry, i) => {
        if (entry.kind === "event") {
          const s = entry.slot;
          if (queries[i].ast.pipes.length === 0) {
            plainEvents.push({ query: i, slot: s });
            return;
          }
          parts.push({
            query: i,
            slots: Int32Array.of(s),
            sequence: null,
            matcher: piped(queries[i].ast, {
              push: (event) => (flags[s] === 1 ? [{ kind: "event", event }] : NO_HITS),
              finish: () => [],
              stats: () => NO_STATS,
            }),
          });
          return;
        }
        const sm = new SequenceMatcher(entry.plan(flags));
        parts.push({ query: i, slots: Int32Array.from(entry.slots), sequence: sm, matcher: piped(queries[i].ast, sm) });
      });
      const eventSlots = Int32Array.from(plainEvents.map((p) => p.slot));
      const eventQueries = Int32Array.from(plainEvents.map((p) => p.query));
      const stats: (() => MatcherStats)[] = queries.map(() => () => NO_STATS);
      for (const p of parts) stats[p.query] = () => p.matcher.stats();
      return {
        push(event) {
          generated.evaluate(event, flags);
          let out: QuerySetHit[] | undefined;
          for (let i = 0; i < eventSlots.length; i++) {
            if (flags[eventSlots[i]] === 1) (out ??= []).push({ query: eventQueries[i], hit: { kind: "event", event } });
          }
          for (let i = 0; i < parts.length; i++) {
            const p = parts[i];
            let relevant = p.sequence !== null && !p.sequence.canSkipUnmatched();
            for (let j = 0; !relevant && j < p.slots.length; j++) if (flags[p.slots[j]] === 1) relevant = true;
            if (!relevant) continue;
            const hits = p.matcher.push(event);
            for (let j = 0; j < hits.length; j++) (out ??= []).push({ query: p.query, hit: hits[j] });
          }
          return out ?? (NO_HITS as unknown as QuerySetHit[]);
        },
        finish() {
          const out: QuerySetHit[] = [];
          for (const p of parts) for (const hit of p.matcher.finish()) out.push({ query: p.query, hit });
          return out;
        },
        stats: () => stats.map((f) => f()),
      };
    },
  };
}
