/** What every event source implements: the Linux process connector, Endpoint Security, eslogger, replay. */
import type { FilePrefilterSpec, PrefilterSpec } from "./esPrefilter.js";
import type { RawEvent, RawEventKind } from "./rawEvent.js";

/**
 * The events the loaded rules could match (a necessary condition, src/agent/eventRelevance.ts): the kinds, and
 * for execs the pre-filter over name and arguments (null: every exec of a listed kind). A backend with file
 * events subscribes only the file kinds listed here; `filePrefilter`, when given, narrows file events of a
 * listed kind to those whose path (or, for a rename, original path) passes it (absent or null: every one).
 */
export interface EventRelevanceSpec {
  kinds: RawEventKind[];
  execPrefilter: PrefilterSpec | null;
  filePrefilter?: FilePrefilterSpec | null;
}

export interface BackendStats {
  /** Events the source produced (before muting and queueing). */
  received: number;
  /** Events handed to onEvents. */
  delivered: number;
  /** Events lost (queue full, kernel buffer overflow); equals the gaps in RawEvent.seq. */
  dropped: number;
  /** Largest number of events waiting for JavaScript at once. */
  queueHighWater: number;
  [k: string]: number;
}

export interface SensorBackend {
  readonly name: "linux" | "es" | "eslogger" | "replay";
  /** Starts the source; onEvents then receives batches of events in order. Rejects with a MacsensorError saying what is needed. */
  start(onEvents: (events: RawEvent[]) => void): Promise<void>;
  /** Stops the source, drains what is queued to onEvents, then resolves. */
  stop(): Promise<void>;
  stats(): BackendStats;
  /** AUTH backends only: answer an auth request. */
  respond?(authId: number, allow: boolean): void;
  /**
   * With respond: the kinds whose events this backend can hold for an answer. Absent: exec (Endpoint Security).
   * The Linux file backend holds opens only, so an exec block rule there falls back as without AUTH.
   */
  readonly authKinds?: readonly RawEventKind[];
  /**
   * Which events the rules need at once. A backend may hold the others back briefly to deliver them in fewer
   * batches (never out of order, never dropping them). Can be called before start and again at any time.
   */
  setRelevance?(relevance: EventRelevanceSpec): void;
}
