// The sequence state machine: one pending sequence per stage and key (newest wins), events offered from the
// last stage down, join keys (fan-out, optional), maxspan, until, runs, missing-event stages, bounded state.
import { describe, expect, it } from "vitest";
import { compileQuery, compileQuerySet, type CompileOptions, type EqlEvent, type Hit, type SequenceHit } from "../../src/eql/index.js";

let clock = 0;
/** An event `id` of category `cat` at time `t` seconds (default: one second after the previous one). */
function e(id: string, cat: string, fields: Record<string, unknown> = {}, t?: number): EqlEvent {
  clock = t ?? clock + 1;
  return { id, "@timestamp": new Date(Date.UTC(2026, 0, 1) + clock * 1000).toISOString(), event: { category: [cat] }, ...fields };
}

function run(query: string, events: EqlEvent[], options?: CompileOptions): { hits: SequenceHit[]; stats: ReturnType<ReturnType<ReturnType<typeof compileQuery>["newMatcher"]>["stats"]> } {
  const m = compileQuery(query, options).newMatcher();
  const hits: Hit[] = [];
  for (const ev of events) hits.push(...m.push(ev));
  const stats = m.stats();
  hits.push(...m.finish());
  return { hits: hits as SequenceHit[], stats };
}

const ids = (hits: SequenceHit[]) => hits.map((h) => h.events.map((x) => (x ? (x.id as string) : "-")).join(","));

describe("stage matching", () => {
  it("a newer sequence at a stage overwrites the older one for the same key", () => {
    clock = 0;
    const { hits } = run('sequence [a where true] [b where true]', [e("a1", "a"), e("a2", "a"), e("b1", "b")]);
    expect(ids(hits)).toEqual(["a2,b1"]);
  });

  it("an event can complete one sequence and start another, never fill two stages of one", () => {
    clock = 0;
    const { hits } = run("sequence [x where true] [x where true]", [e("1", "x"), e("2", "x"), e("3", "x")]);
    expect(ids(hits)).toEqual(["1,2", "2,3"]);
  });

  it("three stages advance independently", () => {
    clock = 0;
    const { hits } = run("sequence [a where true] [b where true] [c where true]", [
      e("a1", "a"), e("b1", "b"), e("a2", "a"), e("c1", "c"), e("b2", "b"), e("c2", "c"),
    ]);
    expect(ids(hits)).toEqual(["a1,b1,c1", "a2,b2,c2"]);
  });

  it("emits a sequence when its last stage arrives, not later", () => {
    clock = 0;
    const m = compileQuery("sequence [a where true] [b where true]").newMatcher();
    expect(m.push(e("a1", "a"))).toEqual([]);
    expect(m.stats().pendingSequences).toBe(1);
    const hits = m.push(e("b1", "b"));
    expect(hits).toHaveLength(1);
    expect(m.stats().pendingSequences).toBe(0);
    expect(m.finish()).toEqual([]);
  });
});

describe("join keys", () => {
  it("sequence-level and stage-level keys, with different fields per stage; join_keys carries the values", () => {
    clock = 0;
    const { hits } = run("sequence by host [a where true] by pid [b where true] by ppid", [
      e("a1", "a", { host: "h1", pid: 10 }),
      e("a2", "a", { host: "h2", pid: 10 }),
      e("b1", "b", { host: "h1", ppid: 11 }),
      e("b2", "b", { host: "h1", ppid: 10 }),
      e("b3", "b", { host: "h2", ppid: 10 }),
    ]);
    expect(ids(hits)).toEqual(["a1,b2", "a2,b3"]);
    expect(hits.map((h) => h.joinKeys)).toEqual([["h1", 10], ["h2", 10]]);
  });

  it("join_keys of one key, of none: each hit its own values, whatever came after", () => {
    clock = 0;
    const { hits } = run("sequence by host [a where true] [b where true]", [
      e("a1", "a", { host: "h1" }),
      e("a2", "a", { host: "h2" }),
      e("b1", "b", { host: "h1" }),
      e("b2", "b", { host: "h2" }),
      e("a3", "a", { host: "h3" }),
    ]);
    expect(hits.map((h) => h.joinKeys)).toEqual([["h1"], ["h2"]]);
    expect(hits[0].joinKeys).not.toBe(hits[1].joinKeys);
    const keyless = run("sequence [a where true] [b where true]", [e("a4", "a"), e("b3", "b"), e("a5", "a"), e("b4", "b")]).hits;
    expect(keyless.map((h) => h.joinKeys)).toEqual([[], []]);
    expect(keyless[0].joinKeys).not.toBe(keyless[1].joinKeys);
  });

  it("keys of different types do not join (10 vs \"10\")", () => {
    clock = 0;
    const { hits } = run("sequence by k [a where true] [b where true]", [e("a1", "a", { k: 10 }), e("b1", "b", { k: "10" })]);
    expect(hits).toEqual([]);
  });

  it("an event whose required key is missing takes no part", () => {
    clock = 0;
    const { hits } = run("sequence by k [a where true] [b where true]", [e("a1", "a"), e("b1", "b")]);
    expect(hits).toEqual([]);
  });

  it("an optional ?key joins on null", () => {
    clock = 0;
    const { hits } = run("sequence by ?k [a where true] [b where true]", [e("a1", "a"), e("b1", "b"), e("a2", "a", { k: 1 }), e("b2", "b")]);
    expect(ids(hits)).toEqual(["a1,b1"]);
    expect(hits[0].joinKeys).toEqual([null]);
  });

  it("a stage condition comparing two ?optional fields joins where both are absent (Elasticsearch's QA case)", () => {
    clock = 0;
    const q = "sequence by tid [req where tid == 1234] by ?z [err where ?x == ?y] by ?y [stat where true] by ?x";
    const { hits } = run(q, [e("1", "req", { tid: 1234 }), e("2", "err", { tid: 1234 }), e("3", "stat", { tid: 1234 })]);
    expect(ids(hits)).toEqual(["1,2,3"]);
    expect(hits[0].joinKeys).toEqual([1234, null]);
    expect(run(q, [e("1", "req", { tid: 1234 }), e("2", "err", { tid: 1234, x: 1 }), e("3", "stat", { tid: 1234 })]).hits).toEqual([]);
  });

  it("a multi-valued key fans out: one sequence per value", () => {
    clock = 0;
    const { hits } = run("sequence by user [a where true] [b where true]", [
      e("a1", "a", { user: ["alice", "bob"] }),
      e("b1", "b", { user: "bob" }),
      e("b2", "b", { user: "alice" }),
    ]);
    expect(ids(hits)).toEqual(["a1,b1", "a1,b2"]);
    expect(hits.map((h) => h.joinKeys)).toEqual([["bob"], ["alice"]]);
  });
});

describe("events that can change nothing", () => {
  it("with nothing pending, a later stage's event is not looked at further, not even its timestamp", () => {
    let reads = 0;
    const at = (id: string, cat: string, sec: number): EqlEvent => ({
      id,
      k: 1,
      event: { category: [cat] },
      get "@timestamp"() {
        reads++;
        return new Date(Date.UTC(2026, 0, 1) + sec * 1000).toISOString();
      },
    });
    const m = compileQuery("sequence by k with maxspan=1m [a where true] [b where true]").newMatcher();
    expect(m.push(at("b1", "b", 0))).toEqual([]);
    expect(m.push(at("b2", "b", 1))).toEqual([]);
    expect(reads).toBe(0);
    m.push(at("a1", "a", 2));
    expect(reads).toBeGreaterThan(0);
    expect(ids(m.push(at("b3", "b", 3)) as SequenceHit[])).toEqual(["a1,b3"]);
  });
});

describe("holdsKey: which join keys pending sequences wait with", () => {
  const holds = (query: string) => {
    const m = compileQuerySet([query]).newMatcher();
    return { push: (ev: EqlEvent) => m.push(ev).map((h) => h.hit as SequenceHit), holds: (key: unknown) => m.sequenceHoldsKey(0, key) };
  };

  it("in any stage's slot, by the key's own value (10 is not \"10\"), until the sequence completes", () => {
    clock = 0;
    const m = holds("sequence by k [a where true] [b where true] [c where true]");
    expect(m.holds(10)).toBe(false);
    m.push(e("a1", "a", { k: 10 }));
    expect([m.holds(10), m.holds("10"), m.holds(11)]).toEqual([true, false, false]);
    m.push(e("b1", "b", { k: 10 }));
    expect(m.holds(10)).toBe(true);
    m.push(e("a2", "a", { k: null }));
    expect(m.holds(null)).toBe(false);
    expect(ids(m.push(e("c1", "c", { k: 10 })))).toEqual(["a1,b1,c1"]);
    expect(m.holds(10)).toBe(false);
  });

  it("an optional key's null is a key like any other", () => {
    clock = 0;
    const m = holds("sequence by ?k [a where true] [b where true]");
    m.push(e("a1", "a"));
    expect(m.holds(null)).toBe(true);
  });

  it("while complete and waiting for a trailing missing-event window, not once it is released", () => {
    clock = 0;
    const m = holds("sequence by k with maxspan=10s [a where true] [b where true] ![c where true]");
    m.push(e("a1", "a", { k: "x" }, 0));
    m.push(e("b1", "b", { k: "x" }, 1));
    expect(m.holds("x")).toBe(true);
    expect(ids(m.push(e("z1", "z", { k: "y" }, 30)))).toEqual(["a1,b1,-"]);
    expect(m.holds("x")).toBe(false);
  });

  it("not after maxspan expiry or an until event dropped the sequence", () => {
    clock = 0;
    const expiring = holds("sequence by k with maxspan=5s [a where true] [b where true]");
    expiring.push(e("a1", "a", { k: 1 }, 0));
    expiring.push(e("a2", "a", { k: 2 }, 10));
    expect([expiring.holds(1), expiring.holds(2)]).toEqual([false, true]);
    const until = holds("sequence by k [a where true] [b where true] until [u where true]");
    until.push(e("a3", "a", { k: 1 }));
    until.push(e("u1", "u", { k: 1 }));
    expect(until.holds(1)).toBe(false);
  });

  it("is false for an event query", () => {
    const m = compileQuerySet(["a where true"]).newMatcher();
    m.push(e("a1", "a", { k: 1 }));
    expect(m.sequenceHoldsKey(0, 1)).toBe(false);
  });
});

describe("maxspan", () => {
  it("accepts a sequence spanning exactly maxspan, rejects a longer one and counts it", () => {
    clock = 0;
    const ok = run("sequence with maxspan=5s [a where true] [b where true]", [e("a1", "a", {}, 0), e("b1", "b", {}, 5)]);
    expect(ids(ok.hits)).toEqual(["a1,b1"]);
    const late = run("sequence with maxspan=5s [a where true] [b where true]", [e("a1", "a", {}, 0), e("b1", "b", {}, 6)]);
    expect(late.hits).toEqual([]);
    expect(late.stats.expiredSequences).toBe(1);
    expect(late.stats.pendingSequences).toBe(0);
  });

  it("expires pending sequences as time passes, without their next stage arriving", () => {
    clock = 0;
    const m = compileQuery("sequence with maxspan=2s [a where true] [b where true]").newMatcher();
    m.push(e("a1", "a", {}, 0));
    m.push(e("x", "x", {}, 1));
    expect(m.stats()).toMatchObject({ pendingSequences: 1, evictedSequences: 0, expiredSequences: 0 });
    m.push(e("x", "x", {}, 3));
    expect(m.stats()).toEqual({ pendingSequences: 0, pendingBytes: 0, evictedMissingEvents: 0, evictedSequences: 0, expiredSequences: 1 });
  });

  it("takes epoch-millisecond timestamps and another timestamp field", () => {
    const evs = [
      { id: "a1", t: 1000, event: { category: "a" } },
      { id: "b1", t: "1400", event: { category: "b" } },
    ];
    const { hits } = run("sequence with maxspan=500ms [a where true] [b where true]", evs, { timestampField: "t" });
    expect(ids(hits)).toEqual(["a1,b1"]);
  });
});

describe("until", () => {
  it("drops the pending sequences of the until event's key", () => {
    clock = 0;
    const { hits } = run("sequence by k [a where true] [b where true] until [stop where true]", [
      e("a1", "a", { k: 1 }),
      e("a2", "a", { k: 2 }),
      e("s", "stop", { k: 1 }),
      e("b1", "b", { k: 1 }),
      e("b2", "b", { k: 2 }),
    ]);
    expect(ids(hits)).toEqual(["a2,b2"]);
  });

  it("a sequence started after the until event is unaffected", () => {
    clock = 0;
    const { hits } = run("sequence [a where true] [b where true] until [stop where true]", [e("s", "stop"), e("a1", "a"), e("b1", "b")]);
    expect(ids(hits)).toEqual(["a1,b1"]);
  });
});

describe("runs", () => {
  it("with runs=N repeats a stage N times", () => {
    clock = 0;
    const { hits } = run("sequence [a where true] with runs=3 [b where true]", [e("a1", "a"), e("a2", "a"), e("b0", "b"), e("a3", "a"), e("b1", "b")]);
    expect(ids(hits)).toEqual(["a1,a2,a3,b1"]);
  });
});

describe("missing-event stages", () => {
  it("between two stages: an event with the same key in between rejects the sequence", () => {
    clock = 0;
    const q = "sequence by k [a where true] ![m where true] [b where true]";
    expect(ids(run(q, [e("a1", "a", { k: 1 }), e("b1", "b", { k: 1 })]).hits)).toEqual(["a1,-,b1"]);
    expect(run(q, [e("a1", "a", { k: 1 }), e("m", "m", { k: 1 }), e("b1", "b", { k: 1 })]).hits).toEqual([]);
    expect(ids(run(q, [e("a1", "a", { k: 1 }), e("m", "m", { k: 2 }), e("b1", "b", { k: 1 })]).hits)).toEqual(["a1,-,b1"]);
    expect(ids(run(q, [e("m", "m", { k: 1 }), e("a1", "a", { k: 1 }), e("b1", "b", { k: 1 })]).hits)).toEqual(["a1,-,b1"]);
  });

  it("missing events are null in the hit's events", () => {
    clock = 0;
    const { hits } = run("sequence [a where true] ![m where true] [b where true]", [e("a1", "a"), e("b1", "b")]);
    expect(hits[0].events[1]).toBeNull();
  });

  it("leading: one within maxspan before the sequence's end rejects it; an older one does not", () => {
    const q = "sequence with maxspan=10s ![m where true] [a where true] [b where true]";
    expect(run(q, [e("m", "m", {}, 0), e("a1", "a", {}, 5), e("b1", "b", {}, 8)]).hits).toEqual([]);
    expect(ids(run(q, [e("m", "m", {}, 0), e("a1", "a", {}, 20), e("b1", "b", {}, 25)]).hits)).toEqual(["-,a1,b1"]);
  });

  it("trailing: the sequence waits for its window to close and is dropped if the event comes", () => {
    const q = "sequence with maxspan=10s [a where true] [b where true] ![m where true]";
    const m = compileQuery(q).newMatcher();
    m.push(e("a1", "a", {}, 0));
    expect(m.push(e("b1", "b", {}, 2))).toEqual([]);
    expect(m.stats().pendingSequences).toBe(1);
    const released = m.push(e("x", "x", {}, 11));
    expect(ids(released as SequenceHit[])).toEqual(["a1,b1,-"]);
    expect(run(q, [e("a1", "a", {}, 0), e("b1", "b", {}, 2), e("m", "m", {}, 5), e("x", "x", {}, 20)]).hits).toEqual([]);
    expect(ids(run(q, [e("a1", "a", {}, 0), e("b1", "b", {}, 2)]).hits)).toEqual(["a1,b1,-"]);
  });
});

describe("bounded state", () => {
  it("evicts the oldest pending sequence past maxPendingSequences and counts it", () => {
    clock = 0;
    const { hits, stats } = run(
      "sequence by k [a where true] [b where true]",
      [e("a1", "a", { k: 1 }), e("a2", "a", { k: 2 }), e("a3", "a", { k: 3 }), e("b1", "b", { k: 1 }), e("b3", "b", { k: 3 })],
      { maxPendingSequences: 2 },
    );
    expect(ids(hits)).toEqual(["a3,b3"]);
    expect(stats).toMatchObject({ pendingSequences: 1, evictedSequences: 1, expiredSequences: 0 });
  });

  it("keeps one pending sequence per key however many events arrive", () => {
    clock = 0;
    const m = compileQuery("sequence by k [a where true] [b where true]").newMatcher();
    for (let i = 0; i < 1000; i++) m.push(e(`a${i}`, "a", { k: i % 10 }));
    expect(m.stats().pendingSequences).toBe(10);
  });
});

describe("pipes on sequences", () => {
  it("head stops after N, tail keeps the last N", () => {
    clock = 0;
    const evs = [e("1", "x"), e("2", "x"), e("3", "x"), e("4", "x")];
    expect(ids(run("sequence [x where true] [x where true] | head 2", evs).hits)).toEqual(["1,2", "2,3"]);
    expect(ids(run("sequence [x where true] [x where true] | tail 1", evs).hits)).toEqual(["3,4"]);
    expect(ids(run("sequence [x where true] [x where true] | head 2 | tail 1", evs).hits)).toEqual(["2,3"]);
  });
});

describe("what pending sequences keep of an event (QuerySetMatcher.push's retain)", () => {
  it("the retained form, asked for only when a sequence keeps the event, is what hits give back", () => {
    clock = 0;
    const m = compileQuerySet(["sequence by k [a where true] [b where true] [c where true]", "b where true"]).newMatcher();
    const asked: string[] = [];
    const push = (ev: EqlEvent) =>
      m.push(ev, () => {
        asked.push(ev.id as string);
        return { id: `kept-${ev.id as string}` };
      });
    push(e("a1", "a", { k: 1 }));
    push(e("x1", "x", { k: 1 }));
    // The event query's hit gives the event itself; the sequence keeps its stage event's retained form.
    const b = push(e("b1", "b", { k: 1 }));
    expect(b.map((h) => (h.hit.kind === "event" ? h.hit.event.id : "seq"))).toEqual(["b1"]);
    const done = push(e("c1", "c", { k: 1 }));
    expect(ids(done.map((h) => h.hit as SequenceHit))).toEqual(["kept-a1,kept-b1,kept-c1"]);
    // Neither x1 (no stage) nor a later-stage event nobody waits for was asked for.
    push(e("b2", "b", { k: 2 }));
    expect(asked).toEqual(["a1", "b1", "c1"]);
    // Without it, the event itself.
    m.push(e("a3", "a", { k: 3 }));
    expect(ids(m.push(e("b3", "b", { k: 3 })).concat(m.push(e("c3", "c", { k: 3 }))).filter((h) => h.hit.kind === "sequence").map((h) => h.hit as SequenceHit))).toEqual(["a3,b3,c3"]);
  });

  it("pending bytes count the retained form, not the event", () => {
    clock = 0;
    const big = { blob: "x".repeat(10_000) };
    const m = compileQuerySet(["sequence by k [a where true] [b where true]"]).newMatcher();
    m.push(e("a1", "a", { k: 1, ...big }), () => ({ id: "small" }));
    const small = m.stats()[0].pendingBytes;
    const n = compileQuerySet(["sequence by k [a where true] [b where true]"]).newMatcher();
    n.push(e("a1", "a", { k: 1, ...big }));
    expect(small).toBeLessThan(1_000);
    expect(n.stats()[0].pendingBytes).toBeGreaterThan(10_000);
  });
});
