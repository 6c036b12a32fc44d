/**
 * The public types of the EQL engine. Kept apart from the implementation so that other parts of the agent
 * (rules loader, ES pre-filter) can compile against them without pulling in the compiler.
 */
import type { Query } from "./ast.js";

export interface CompileOptions {
  /** Field holding the event category; default "event.category" (ECS: an array; matches if any element equals). */
  categoryField?: string;
  /** Field holding the event time; default "@timestamp": ISO-8601 string, or epoch ms as number/numeric string. */
  timestampField?: string;
  /** Optional field breaking timestamp ties (sequences: an event after another in the same millisecond). */
  tiebreakerField?: string;
  /** Cap on pending sequence state per query (default 100_000); overflow evicts the oldest, counted in stats(). */
  maxPendingSequences?: number;
  /** Cap on the estimated bytes of pending sequence state per query (default 64 MiB); overflow evicts the oldest. */
  maxPendingBytes?: number;
}

export type EqlEvent = Record<string, unknown>;

export interface EventHit {
  kind: "event";
  event: EqlEvent;
}

export interface SequenceHit {
  kind: "sequence";
  /** The join key values, sequence-level keys first. */
  joinKeys: unknown[];
  /** One entry per stage (runs expanded); null for a missing-event stage. */
  events: (EqlEvent | null)[];
}

export type Hit = EventHit | SequenceHit;

export interface MatcherStats {
  /** Sequences waiting for their next stage (or, with a trailing missing stage, for their window to close). */
  pendingSequences: number;
  /**
   * Estimated heap bytes of the pending state: the pending sequences with the events they hold (each held
   * event counted in full, though the caller may share it), their keys, and the remembered missing-stage events.
   */
  pendingBytes: number;
  /** Pending sequences dropped because a cap (count or bytes) was reached (oldest first). */
  evictedSequences: number;
  /** Remembered missing-stage events dropped because a cap was reached (a sequence they would reject may match). */
  evictedMissingEvents: number;
  /** Pending sequences dropped because their maxspan ran out. */
  expiredSequences: number;
}

export interface Matcher {
  /**
   * Feeds one event (events must come in timestamp order); returns the hits it completes. The returned array
   * is read-only (the common "no hit" answer is one shared frozen array).
   */
  push(event: EqlEvent): Hit[];
  /** Ends the stream: returns what only the end can decide (`tail N`, trailing missing-event stages). */
  finish(): Hit[];
  stats(): MatcherStats;
}

export interface CompiledQuery {
  readonly source: string;
  readonly ast: Query;
  readonly isSequence: boolean;
  /** Event queries only: the compiled condition including the category test. */
  readonly test?: (event: EqlEvent) => boolean;
  /** A fresh, independent matcher (its own pipe counters and sequence state). */
  newMatcher(): Matcher;
}
