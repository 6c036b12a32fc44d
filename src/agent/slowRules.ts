/**
 * Names the rule behind an event whose rule evaluation overran the budget: it times each rule the event was
 * tested against, alone and without touching rule state (PipelineDetector.profile), logs a warning with the
 * slowest rule and the event, and keeps that rule for the heartbeat. Profiling costs about what evaluating the
 * event did, so it is rate-limited: an attacker sending slow events one after another gets them counted
 * (Pipeline.counts.evalOverruns), not profiled each time.
 */
import type { EcsEvent } from "../ecs/ecsEvent.js";
import type { EvalOverrun } from "./pipeline.js";

/** The slowest rule of the last profiled overrun, as the heartbeat carries it (`macsensor.slow_rule`). */
export interface SlowRule {
  id: string;
  name: string;
  /** The rule's conditions alone on the event. */
  ms: number;
  /** All rules on the event, as measured when it was evaluated. */
  event_ms: number;
  budget_ms: number;
  "@timestamp": string;
}

export interface SlowRuleReporterOptions {
  ops: { warn(message: string, fields: Record<string, unknown>): unknown };
  /** The clock (ms) the budget is measured with. */
  now: () => number;
  /** Least time between two profiles; overruns in between are only counted. Default 10 s. */
  minIntervalMs?: number;
  /** Wall clock for the record's time; default Date.now. */
  wallClock?: () => number;
}

export const DEFAULT_PROFILE_INTERVAL_MS = 10_000;
/** After a profile that took t ms, the next waits at least this many times t (profiling stays ≤ 1% of the time). */
const PROFILE_COST_FACTOR = 100;

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export class SlowRuleReporter {
  private last: SlowRule | undefined;
  private nextProfileAt = Number.NEGATIVE_INFINITY;
  /** Overruns since the last one profiled, that one included. */
  private overrunsSinceReport = 0;
  private readonly minIntervalMs: number;

  constructor(private readonly options: SlowRuleReporterOptions) {
    this.minIntervalMs = options.minIntervalMs ?? DEFAULT_PROFILE_INTERVAL_MS;
  }

  /** The slowest rule of the last profiled overrun, if any overrun was profiled and named a rule. */
  lastSlowRule(): SlowRule | undefined {
    return this.last;
  }

  report(overrun: EvalOverrun): void {
    this.overrunsSinceReport++;
    const { now } = this.options;
    const start = now();
    if (start < this.nextProfileAt) return;
    const costs = overrun.detector.profile?.(overrun.event, now) ?? [];
    const end = now();
    this.nextProfileAt = end + Math.max(this.minIntervalMs, PROFILE_COST_FACTOR * (end - start));

    const slowest = costs[0];
    const bytes = commandLineBytes(overrun.event);
    const time = new Date((this.options.wallClock ?? Date.now)()).toISOString();
    if (slowest) {
      this.last = {
        id: slowest.rule.ruleId,
        name: slowest.rule.name,
        ms: round(slowest.ms),
        event_ms: round(overrun.ms),
        budget_ms: overrun.budgetMs,
        "@timestamp": time,
      };
    }
    this.options.ops.warn("event over the rule evaluation budget", {
      ...(slowest ? { rule: { id: slowest.rule.ruleId, name: slowest.rule.name } } : {}),
      process: processOf(overrun),
      macsensor: {
        eval: {
          event_ms: round(overrun.ms),
          budget_ms: overrun.budgetMs,
          ...(slowest ? { rule_ms: round(slowest.ms) } : {}),
          rules_timed: costs.length,
          // Far below event_ms: the time went elsewhere (sequence bookkeeping, a GC pause, no CPU to run on).
          rules_ms_total: round(costs.reduce((sum, c) => sum + c.ms, 0)),
          // The next few, so a cost spread over several rules shows.
          next_slowest: costs.slice(1, 4).map((c) => ({ id: c.rule.ruleId, ms: round(c.ms) })),
          overruns_since_last_report: this.overrunsSinceReport,
        },
        kind: overrun.raw.kind,
        ...(bytes !== undefined ? { command_line_bytes: bytes } : {}),
      },
    });
    this.overrunsSinceReport = 0;
  }
}

/** pid, executable and argument count (ECS), from the event the rules saw, falling back to the raw event's pid. */
function processOf({ raw, event }: EvalOverrun): Record<string, unknown> {
  const proc = processFields(event);
  return {
    pid: typeof proc.pid === "number" ? proc.pid : raw.pid,
    ...(typeof proc.executable === "string" ? { executable: proc.executable } : {}),
    ...(Array.isArray(proc.args) ? { args_count: proc.args.length } : {}),
  };
}

/** The command line's size in bytes: the line itself may be the megabyte that was slow. */
function commandLineBytes(event: EcsEvent): number | undefined {
  const line = processFields(event).command_line;
  return typeof line === "string" ? Buffer.byteLength(line) : undefined;
}

function processFields(event: EcsEvent): Record<string, unknown> {
  const proc = event.process;
  return proc !== null && typeof proc === "object" && !Array.isArray(proc) ? (proc as Record<string, unknown>) : {};
}
