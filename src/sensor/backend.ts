/** What every event source implements: the Linux process connector, Endpoint Security, eslogger, replay. */
import type { RawEvent } from "./rawEvent.js";

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
}
