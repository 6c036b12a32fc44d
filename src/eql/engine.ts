/**
 * compileQuery(): parse, check, compile. Everything that can fail fails here, with the query position; the
 * returned matchers never throw on event data.
 */
import type { CompileOptions, CompiledQuery, EqlEvent, Hit, Matcher, MatcherStats } from "./api.js";
import type { EventQuery, Expr, Query, SequenceQuery, SequenceStage } from "./ast.js";
import { checkCondition, checkExpression, checkQuery } from "./checker.js";
import { allOfPredicates, compileCategoryTest, compilePredicate, compileValue, type Predicate } from "./compiler.js";
import { compileFieldGetter } from "./fieldAccess.js";
import { generatePredicate } from "./codegen.js";
import { parseExpression, parseQuery } from "./parser.js";
import type { Value } from "./values.js";
import { normalizeExpr } from "./normalize.js";
import { pipeChain } from "./pipes.js";
import { SequenceMatcher, type KeySpec, type SequencePlan, type StagePlan } from "./sequence.js";

export const DEFAULT_CATEGORY_FIELD = "event.category";
export const DEFAULT_TIMESTAMP_FIELD = "@timestamp";
export const DEFAULT_MAX_PENDING_SEQUENCES = 100_000;

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

function stagePlan(s: SequenceStage, sequenceKeys: readonly Expr[], categoryField: string): StagePlan {
  return {
    filter: eventTest(s.query, categoryField),
    keys: [...sequenceKeys, ...s.joinKeys].map(keySpec),
    missing: s.missing,
  };
}

function sequencePlan(q: SequenceQuery, options: Required<Omit<CompileOptions, "tiebreakerField">>): SequencePlan {
  const stages: StagePlan[] = [];
  for (const s of q.stages) {
    const plan = stagePlan(s, q.joinKeys, options.categoryField);
    for (let i = 0; i < Math.max(1, s.runs); i++) stages.push(plan);
  }
  return {
    stages,
    until: q.until ? stagePlan(q.until, q.joinKeys, options.categoryField) : null,
    maxspanMs: q.maxspan ? q.maxspan.millis : null,
    timestamp: compileFieldGetter(options.timestampField.split(".")),
    maxPending: options.maxPendingSequences,
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

const NO_STATS: MatcherStats = Object.freeze({ pendingSequences: 0, evictedSequences: 0, expiredSequences: 0 });

/** Parses, checks and compiles a query. Throws EqlSyntaxError / EqlSemanticError; never at event time. */
export function compileQuery(source: string, options: CompileOptions = {}): CompiledQuery {
  const resolved = {
    categoryField: options.categoryField ?? DEFAULT_CATEGORY_FIELD,
    timestampField: options.timestampField ?? DEFAULT_TIMESTAMP_FIELD,
    maxPendingSequences: Math.max(1, options.maxPendingSequences ?? DEFAULT_MAX_PENDING_SEQUENCES),
  };
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
  const plan = sequencePlan(body, resolved);
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
