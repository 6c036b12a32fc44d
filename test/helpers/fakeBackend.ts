import type { BackendStats, EventRelevanceSpec, SensorBackend } from "../../src/sensor/backend.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

/** A backend the test feeds by hand, recording what the agent told it about relevance. */
export class FakeBackend implements SensorBackend {
  readonly name = "linux" as const;
  readonly relevance: EventRelevanceSpec[] = [];
  /** Backend-specific counts stats() adds to the four every backend has (e.g. pathFiltered, watchdogAnswers). */
  extraStats: Record<string, number> = {};
  private onEvents: ((events: RawEvent[]) => void) | undefined;
  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    this.onEvents = onEvents;
  }
  async stop(): Promise<void> {}
  stats(): BackendStats {
    return { received: 0, delivered: 0, dropped: 0, queueHighWater: 0, ...this.extraStats };
  }
  setRelevance(relevance: EventRelevanceSpec): void {
    this.relevance.push(relevance);
  }
  deliver(events: RawEvent[]): void {
    this.onEvents!(events);
  }
}
