// Elasticsearch's decisions at the ends of a sequence, from our reading of its EQL sequence matcher and QA data:
// missing-event stages before and after the positive ones (only the pair rejects when both are there), and an
// `until` event that is also a stage's event.
import { describe, expect, it } from "vitest";
import { compileQuery, type CompileOptions, type EqlEvent, type Hit, type SequenceHit } from "../../src/eql/index.js";

/** An event `id` of category `cat` at minute `min`. */
function e(id: string, cat: string, min: number, fields: Record<string, unknown> = {}): EqlEvent {
  return { id, "@timestamp": new Date(Date.UTC(2026, 0, 1) + min * 60_000).toISOString(), event: { category: [cat] }, ...fields };
}

function run(query: string, events: EqlEvent[], options?: CompileOptions): string[] {
  const m = compileQuery(query, options).newMatcher();
  const hits: Hit[] = [];
  for (const ev of events) hits.push(...m.push(ev));
  hits.push(...m.finish());
  return (hits as SequenceHit[]).map((h) => h.events.map((x) => (x ? (x.id as string) : "-")).join(","));
}

// A missing event at 0, a normal one at 10, a missing one at 20, normal ones at 21, 29 and 31 (minutes).
const timeline = [e("m0", "m", 0), e("n10", "n", 10), e("m20", "m", 20), e("n21", "n", 21), e("n29", "n", 29), e("n31", "n", 31)];

describe("leading and trailing missing-event stages", () => {
  it("leading only: the latest missing event within maxspan before the sequence rejects it", () => {
    expect(run("sequence with maxspan=3m ![m where true] [n where true]", timeline)).toEqual(["-,n10", "-,n29", "-,n31"]);
  });

  it("both: a leading and a trailing event each within maxspan of the sequence do not reject it when the pair spans more", () => {
    // n10 has m0 ten minutes before and m20 ten minutes after, but m0..m20 is 20 minutes: more than 19.
    expect(run("sequence with maxspan=19m ![m where true] [n where true] ![m where true]", timeline)).toEqual([
      "-,n10,-",
      "-,n21,-",
      "-,n29,-",
      "-,n31,-",
    ]);
  });

  it("both: the pair within one maxspan rejects the sequence", () => {
    expect(run("sequence with maxspan=21m ![m where true] [n where true] ![m where true]", timeline)).toEqual([
      "-,n21,-",
      "-,n29,-",
      "-,n31,-",
    ]);
  });

  it("both: a leading event alone does not reject, nor does a trailing one alone", () => {
    // n21, n29, n31 have m20 before them and no missing event after; a sequence with nothing before it is kept at once.
    const m = compileQuery("sequence with maxspan=21m ![m where true] [n where true] ![m where true]").newMatcher();
    const first = m.push(e("n0", "n", 0));
    expect(first.map((h) => (h as SequenceHit).events[1]?.id)).toEqual(["n0"]);
    expect(m.push(e("m1", "m", 1))).toEqual([]);
  });

  it("both, without maxspan: any leading event and any trailing one reject the sequence", () => {
    expect(run("sequence ![m where true] [n where true] ![m where true]", timeline)).toEqual(["-,n21,-", "-,n29,-", "-,n31,-"]);
  });

  it("both: a trailing event after the pair's window has closed releases the sequence instead of rejecting it", () => {
    // Leading at 0, sequence at 15, window from the leading event: closes at 21; m22 is outside it.
    const events = [e("m0", "m", 0), e("n15", "n", 15), e("m22", "m", 22)];
    expect(run("sequence with maxspan=21m ![m where true] [n where true] ![m where true]", events)).toEqual(["-,n15,-"]);
    const inside = [e("m0", "m", 0), e("n15", "n", 15), e("m20", "m", 20)];
    expect(run("sequence with maxspan=21m ![m where true] [n where true] ![m where true]", inside)).toEqual([]);
  });

  it("by key: only events of the same key count at either end", () => {
    const q = "sequence by k with maxspan=21m ![m where true] [n where true] ![m where true]";
    const events = [e("m0", "m", 0, { k: 1 }), e("n10", "n", 10, { k: 1 }), e("m20", "m", 20, { k: 2 }), e("n11", "n", 11, { k: 2 })];
    // n10 (key 1) has a leading event but no trailing one of its key; n11 (key 2) a trailing one but no leading.
    expect(run(q, [...events].sort((a, b) => String(a["@timestamp"]).localeCompare(String(b["@timestamp"]))))).toEqual(["-,n11,-", "-,n10,-"]);
  });
});

describe("until and the sequence's own events", () => {
  it("an event that completes a sequence completes it even if it also matches until", () => {
    const q = "sequence by k [a where true] [b where true] until [b where stop == true]";
    expect(run(q, [e("a1", "a", 0, { k: 1 }), e("b1", "b", 1, { k: 1, stop: true })])).toEqual(["a1,b1"]);
  });

  it("and the sequence it would have started is dropped (the until event is not before its next stage)", () => {
    const q = "sequence by k [a where true] [b where true] until [a where stop == true]";
    expect(run(q, [e("a1", "a", 0, { k: 1, stop: true }), e("b1", "b", 1, { k: 1 })])).toEqual([]);
  });

  it("an until event that is a middle stage's event drops the sequence it advanced", () => {
    const q = "sequence by k [a where true] [b where true] [c where true] until [b where stop == true]";
    expect(run(q, [e("a1", "a", 0, { k: 1 }), e("b1", "b", 1, { k: 1, stop: true }), e("c1", "c", 2, { k: 1 })])).toEqual([]);
    expect(run(q, [e("a1", "a", 0, { k: 1 }), e("b1", "b", 1, { k: 1 }), e("c1", "c", 2, { k: 1 })])).toEqual(["a1,b1,c1"]);
  });

  it("an until event that also completes one sequence still drops the key's other pending ones", () => {
    const q = "sequence by k [a where true] [b where true] [c where true] until [c where stop == true]";
    const events = [e("a1", "a", 0, { k: 1 }), e("b1", "b", 1, { k: 1 }), e("a2", "a", 2, { k: 1 }), e("c1", "c", 3, { k: 1, stop: true }), e("b2", "b", 4, { k: 1 }), e("c2", "c", 5, { k: 1 })];
    expect(run(q, events)).toEqual(["a1,b1,c1"]);
  });
});

describe("missing stages at the ends, against Elasticsearch's rule written out directly", () => {
  // For one positive stage every `n` event is a candidate; Elasticsearch takes the latest leading event before
  // it and the first trailing event after it, and keeps the candidate unless those found lie within maxspan:
  // leading..n when only leading stages exist, n..trailing when only trailing ones, leading..trailing when both.
  function expected(events: EqlEvent[], minutes: number[], lead: boolean, trail: boolean, maxspanMin: number | null): string[] {
    const within = (from: number, to: number) => maxspanMin === null || to - from <= maxspanMin;
    const kept: string[] = [];
    events.forEach((ev, i) => {
      if ((ev.event as { category: string[] }).category[0] !== "n") return;
      const ms = events.map((x, j) => ((x.event as { category: string[] }).category[0] === "m" ? minutes[j] : NaN));
      const before = ms.filter((t) => t < minutes[i]);
      const after = ms.filter((t) => t > minutes[i]);
      const leading = before.length > 0 ? Math.max(...before) : null;
      const trailing = after.length > 0 ? Math.min(...after) : null;
      let reject: boolean;
      if (lead && trail) reject = leading !== null && trailing !== null && within(leading, trailing);
      else if (lead) reject = leading !== null && within(leading, minutes[i]);
      else reject = trailing !== null && within(minutes[i], trailing);
      if (!reject) kept.push(ev.id as string);
    });
    return kept.sort();
  }

  it("agrees on 300 random timelines, for leading, trailing and both, with and without maxspan", () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 300; round++) {
      const minutes: number[] = [];
      let t = 0;
      for (let i = 0; i < 12; i++) minutes.push((t += 1 + Math.floor(rand() * 8)));
      const events = minutes.map((m, i) => (rand() < 0.4 ? e(`m${i}`, "m", m) : e(`n${i}`, "n", m)));
      for (const [lead, trail] of [[true, false], [false, true], [true, true]] as const) {
        for (const maxspan of [null, 5, 12]) {
          const q = `sequence${maxspan === null ? "" : ` with maxspan=${maxspan}m`} ${lead ? "![m where true]" : ""} [n where true] ${trail ? "![m where true]" : ""}`;
          const got = run(q, events).map((h) => h.split(",").find((x) => x !== "-") as string).sort();
          expect(got, `${q} over ${events.map((x, i) => `${x.id}@${minutes[i]}`).join(" ")}`).toEqual(expected(events, minutes, lead, trail, maxspan));
        }
      }
    }
  });
});
