// Pending sequence state: accounted in estimated bytes as well as counted, capped both ways, the oldest state
// evicted first and counted; remembered missing-stage events bounded the same way and expired by maxspan.
import { describe, expect, it } from "vitest";
import { compileQuery, type CompileOptions, type EqlEvent, type Hit, type SequenceHit } from "../../src/eql/index.js";
import { approximateBytes } from "../../src/eql/sequence.js";

function e(id: string, cat: string, sec: number, fields: Record<string, unknown> = {}): EqlEvent {
  return { id, "@timestamp": new Date(Date.UTC(2026, 0, 1) + sec * 1000).toISOString(), event: { category: [cat] }, ...fields };
}

function matcher(query: string, options?: CompileOptions) {
  const m = compileQuery(query, options).newMatcher();
  const hits: string[] = [];
  const push = (ev: EqlEvent) => {
    for (const h of m.push(ev) as Hit[]) hits.push((h as SequenceHit).events.map((x) => (x ? (x.id as string) : "-")).join(","));
  };
  return { m, hits, push };
}

describe("estimated bytes", () => {
  it("grows with the events a pending sequence holds and returns to zero when it completes", () => {
    const { m, push } = matcher("sequence by k [a where true] [b where true] [c where true]");
    expect(m.stats().pendingBytes).toBe(0);
    push(e("a1", "a", 0, { k: 1 }));
    const one = m.stats().pendingBytes;
    expect(one).toBeGreaterThan(0);
    push(e("b1", "b", 1, { k: 1, blob: "x".repeat(10_000) }));
    expect(m.stats().pendingBytes).toBeGreaterThan(one + 10_000);
    push(e("c1", "c", 2, { k: 1 }));
    expect(m.stats()).toMatchObject({ pendingSequences: 0, pendingBytes: 0 });
  });

  it("counts a multi-field key and each sequence that holds an event", () => {
    const { m, push } = matcher("sequence by k, j [a where true] [b where true]");
    push(e("a1", "a", 0, { k: 1, j: "x" }));
    const one = m.stats().pendingBytes;
    push(e("a2", "a", 1, { k: 2, j: "x" }));
    expect(m.stats().pendingBytes).toBe(2 * one);
  });

  it("approximateBytes: strings by length, objects and arrays by their members, deep nesting bounded", () => {
    expect(approximateBytes("x".repeat(1000))).toBeGreaterThanOrEqual(1000);
    expect(approximateBytes({ a: "x".repeat(1000), b: ["y".repeat(500)] })).toBeGreaterThanOrEqual(1500);
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 1000; i++) cur = (cur.next = {}) as Record<string, unknown>;
    expect(approximateBytes(deep)).toBeLessThan(1000);
  });

  it("is back to zero after finish()", () => {
    const { m, push } = matcher("sequence by k [a where true] ![m where true] [b where true]");
    push(e("a1", "a", 0, { k: 1 }));
    push(e("m1", "m", 1, { k: 2 }));
    expect(m.stats().pendingBytes).toBeGreaterThan(0);
    m.finish();
    expect(m.stats().pendingBytes).toBe(0);
  });
});

describe("the byte cap", () => {
  it("evicts the oldest pending sequences to stay under maxPendingBytes, and counts them", () => {
    const probe = matcher("sequence by k [a where true] [b where true]");
    probe.push(e("a0", "a", 0, { k: 0 }));
    const each = probe.m.stats().pendingBytes;

    const { m, hits, push } = matcher("sequence by k [a where true] [b where true]", { maxPendingBytes: 3 * each + 1 });
    for (let k = 0; k < 10; k++) push(e(`a${k}`, "a", k, { k }));
    expect(m.stats()).toMatchObject({ pendingSequences: 3, evictedSequences: 7 });
    expect(m.stats().pendingBytes).toBeLessThanOrEqual(3 * each + 1);
    for (let k = 0; k < 10; k++) push(e(`b${k}`, "b", 10 + k, { k }));
    expect(hits).toEqual(["a7,b7", "a8,b8", "a9,b9"]);
  });

  it("evicts a sequence that grows past the cap by holding a large event", () => {
    const { m, hits, push } = matcher("sequence by k [a where true] [b where true] [c where true]", { maxPendingBytes: 5_000 });
    push(e("a1", "a", 0, { k: 1 }));
    push(e("b1", "b", 1, { k: 1, blob: "x".repeat(10_000) }));
    expect(m.stats()).toMatchObject({ pendingSequences: 0, pendingBytes: 0, evictedSequences: 1 });
    push(e("c1", "c", 2, { k: 1 }));
    expect(hits).toEqual([]);
  });

  it("evicts remembered missing-stage events too, oldest first, and counts them", () => {
    // One positive stage: its sequences are decided at once and hold no state, so only the records count.
    const q = "sequence by k ![m where true] [a where true]";
    const probe = matcher(q);
    probe.push(e("m0", "m", 0, { k: 0 }));
    const each = probe.m.stats().pendingBytes;

    const { m, hits, push } = matcher(q, { maxPendingBytes: 2 * each + 1 });
    push(e("m1", "m", 0, { k: 1 }));
    push(e("m2", "m", 1, { k: 2 }));
    push(e("m3", "m", 2, { k: 3 }));
    expect(m.stats()).toMatchObject({ pendingBytes: 2 * each, evictedMissingEvents: 1, evictedSequences: 0 });
    // The evicted one (key 1) no longer rejects its sequence; key 3's still does.
    for (const k of [1, 3]) push(e(`a${k}`, "a", 3 + k, { k }));
    expect(hits).toEqual(["-,a1"]);
  });
});

describe("the count cap and expiry of remembered missing-stage events", () => {
  it("without maxspan, a leading missing stage remembers at most maxPendingSequences keys (oldest evicted)", () => {
    const { m, hits, push } = matcher("sequence by k ![m where true] [a where true] [b where true]", { maxPendingSequences: 100 });
    for (let k = 0; k < 1000; k++) push(e(`m${k}`, "m", k, { k }));
    expect(m.stats().evictedMissingEvents).toBe(900);
    push(e("a0", "a", 1000, { k: 0 }));
    push(e("b0", "b", 1001, { k: 0 }));
    push(e("a999", "a", 1002, { k: 999 }));
    push(e("b999", "b", 1003, { k: 999 }));
    expect(hits).toEqual(["-,a0,b0"]);
  });

  it("a remembered missing-stage event older than maxspan is dropped: it can reject nothing", () => {
    const { m, push } = matcher("sequence by k with maxspan=10s [a where true] ![m where true] [b where true]");
    push(e("m1", "m", 0, { k: 1 }));
    expect(m.stats().pendingBytes).toBeGreaterThan(0);
    push(e("x", "a", 11, { k: 2 }));
    push(e("y", "a", 30, { k: 3 }));
    // Only the pending sequence of key 3 is left (key 2's expired): the record of m1 went with time.
    const alone = matcher("sequence by k with maxspan=10s [a where true] ![m where true] [b where true]");
    alone.push(e("y", "a", 30, { k: 3 }));
    expect(m.stats().pendingBytes).toBe(alone.m.stats().pendingBytes);
    expect(m.stats().evictedMissingEvents).toBe(0);
  });

  it("the count cap still evicts the oldest pending sequence, whatever order keys were touched in", () => {
    const { m, hits, push } = matcher("sequence by k [a where true] [b where true]", { maxPendingSequences: 2 });
    push(e("a1", "a", 0, { k: 1 }));
    push(e("a2", "a", 1, { k: 2 }));
    push(e("a1b", "a", 2, { k: 1 })); // replaces key 1's sequence: now the newest
    push(e("a3", "a", 3, { k: 3 })); // evicts key 2's, the oldest
    expect(m.stats()).toMatchObject({ pendingSequences: 2, evictedSequences: 1 });
    for (const k of [1, 2, 3]) push(e(`b${k}`, "b", 4 + k, { k }));
    expect(hits).toEqual(["a1b,b1", "a3,b3"]);
  });
});
