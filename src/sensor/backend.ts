/** What every event source implements: the Linux process connector, Endpoint Security, eslogger, replay. */
import type { SensorContext } from "../agent/eventRelevance.js";
import type { FilePrefilterSpec, PrefilterSpec } from "./esPrefilter.js";
import type { GuardedRule, GuardPlan } from "./fileGuards.js";
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
  /**
   * Backends that hold opens for a verdict by path (the Linux file backend): derive what to hold from the loaded
   * block rules, replacing what the previous call set. Returns what is held and why, and what cannot be.
   */
  setGuardRules?(rules: readonly GuardedRule[], context: SensorContext): FileGuardReport | undefined;
}

/** What a backend holds opens of, and why (src/sensor/fileGuards.ts). */
export interface FileGuardReport extends Pick<GuardPlan, "marks" | "unguarded"> {
  /** The configured paths (auth.guard_paths), held whatever the rules say. */
  configured: string[];
  /** Marks the kernel refused (that directory or filesystem is not guarded), and why. */
  problems: string[];
  /** False when the backend is not running (fanotify could not start): nothing is held. */
  active: boolean;
}
