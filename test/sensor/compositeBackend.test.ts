import { describe, expect, it } from "vitest";
import type { BackendStats, EventRelevanceSpec, SensorBackend } from "../../src/sensor/backend.js";
import { CompositeBackend } from "../../src/sensor/compositeBackend.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

/** A source driven by the test: emit() hands a batch on, respond() answers are recorded. */
class FakeSource implements SensorBackend {
  readonly name = "linux" as const;
  onEvents: ((events: RawEvent[]) => void) | undefined;
  answers: [number, boolean][] = [];
  relevance: EventRelevanceSpec | undefined;
  stopped = false;
  respond?: (id: number, allow: boolean) => string;
  constructor(
    private readonly counters: BackendStats,
    options: { auth?: boolean; failStart?: boolean } = {},
    readonly authKinds?: RawEvent["kind"][],
  ) {
    if (options.auth) this.respond = (id, allow) => (this.answers.push([id, allow]), "answered");
    this.failStart = options.failStart ?? false;
  }
  private readonly failStart: boolean;
  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.failStart) throw new Error("no fanotify here");
    this.onEvents = onEvents;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  stats(): BackendStats {
    return this.counters;
  }
  setRelevance(relevance: EventRelevanceSpec): void {
    this.relevance = relevance;
  }
  emit(...seqs: number[]): void {
    this.onEvents?.(seqs.map((seq) => ({ source: "linux", kind: "exec", seq, time: 0, pid: 1 })));
  }
}

const stats = (n: number): BackendStats => ({ received: n, delivered: n, dropped: 0, queueHighWater: n, authRequests: n });

describe("CompositeBackend", () => {
  it("merges the sources into one increasing sequence that keeps each source's gaps", async () => {
    const procs = new FakeSource(stats(1));
    const files = new FakeSource(stats(2));
    const seen: number[] = [];
    const c = new CompositeBackend("linux", [procs, files]);
    await c.start((events) => seen.push(...events.map((e) => e.seq)));
    procs.emit(1, 2);
    files.emit(1);
    procs.emit(3);
    files.emit(4, 5); // two file events dropped before these: a gap of two
    expect(seen).toEqual([1, 2, 3, 4, 7, 8]);
    expect(c.stats()).toMatchObject({ received: 3, delivered: 3, queueHighWater: 3, authRequests: 3, lastSeq: 8 });
  });

  it("routes each answer to the source that asked, by an id of its own", async () => {
    const a = new FakeSource(stats(0), { auth: true }, ["exec"]);
    const b = new FakeSource(stats(0), { auth: true }, ["open"]);
    const c = new CompositeBackend("linux", [a, b]);
    expect(c.authKinds).toEqual(["exec", "open"]);
    const auths: number[] = [];
    await c.start((events) => auths.push(...events.map((e) => e.auth!.id)));
    const ask = (src: FakeSource, id: number) =>
      src.onEvents!([{ source: "linux", kind: "open", seq: 1, time: 0, pid: 1, auth: { id, deadlineMs: 0 } }]);
    ask(a, 7);
    ask(b, 7);
    expect(new Set(auths).size).toBe(2);
    expect(c.respond?.(auths[1]!, false)).toBe("answered");
    expect(c.respond?.(auths[0]!, true)).toBe("answered");
    expect(c.respond?.(auths[0]!, true)).toBe("unknown");
    expect([a.answers, b.answers]).toEqual([[[7, true]], [[7, false]]]);
  });

  it("has no respond when no source can answer, and hands relevance to every source", () => {
    const a = new FakeSource(stats(0));
    const b = new FakeSource(stats(0));
    const c = new CompositeBackend("linux", [a, b]);
    expect(c.respond).toBeUndefined();
    const spec: EventRelevanceSpec = { kinds: ["exec", "open"], execPrefilter: null };
    c.setRelevance(spec);
    expect([a.relevance, b.relevance]).toEqual([spec, spec]);
  });

  it("runs without an optional source that cannot start, and fails on a required one", async () => {
    const procs = new FakeSource(stats(0));
    const files = new FakeSource(stats(0), { failStart: true });
    const skipped: string[] = [];
    const c = new CompositeBackend("linux", [procs, files], { optional: [files], onSkipped: (_p, e) => skipped.push(String(e)) });
    await c.start(() => {});
    expect(skipped).toEqual(["Error: no fanotify here"]);
    await c.stop();
    expect(procs.stopped).toBe(true);

    const required = new CompositeBackend("linux", [new FakeSource(stats(0)), new FakeSource(stats(0), { failStart: true })]);
    await expect(required.start(() => {})).rejects.toThrow("no fanotify here");
  });
});
