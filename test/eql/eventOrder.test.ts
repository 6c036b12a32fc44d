import { describe, expect, it } from "vitest";
import { compareTiebreakers, sortEvents, timestampMillis } from "../../src/eql/eventOrder.js";

describe("timestampMillis", () => {
  it("reads ISO-8601 strings (with or without fraction, with offsets) and epoch milliseconds", () => {
    expect(timestampMillis("2017-08-30T20:47:31.000Z")).toBe(Date.UTC(2017, 7, 30, 20, 47, 31));
    expect(timestampMillis("2017-08-30T20:47:31Z")).toBe(Date.UTC(2017, 7, 30, 20, 47, 31));
    expect(timestampMillis("2017-08-30T20:47:31.5Z")).toBe(Date.UTC(2017, 7, 30, 20, 47, 31, 500));
    expect(timestampMillis("2017-08-30T20:47:31.123456Z")).toBeCloseTo(Date.UTC(2017, 7, 30, 20, 47, 31, 123) + 0.456, 6);
    expect(timestampMillis("2017-08-30T22:47:31+02:00")).toBe(Date.UTC(2017, 7, 30, 20, 47, 31));
    expect(timestampMillis(1503175651000)).toBe(1503175651000);
    expect(timestampMillis("1503175651000")).toBe(1503175651000);
  });

  it("reads every date of the common form as Date.UTC does, days past a month's end and years before 100 included", () => {
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    const years = [0, 1, 50, 99, 100, 101, 399, 400, 1600, 1899, 1900, 1969, 1970, 1971, 2000, 2024, 2025, 2100, 2400, 9999];
    for (let y = 1960; y <= 2040; y++) years.push(y);
    for (const y of years) {
      for (let m = 1; m <= 12; m++) {
        for (let d = 1; d <= 31; d++) {
          const text = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad((y + d) % 24, 2)}:${pad((m * 7) % 60, 2)}:${pad(d + 20, 2)}.125Z`;
          const want = Date.UTC(y, m - 1, d, (y + d) % 24, (m * 7) % 60, d + 20) + 125;
          if (timestampMillis(text) !== want) expect(timestampMillis(text), text).toBe(want);
        }
      }
    }
  });

  it("is NaN for anything else", () => {
    for (const v of ["yesterday", "", null, undefined, {}, [], true, Infinity]) expect(timestampMillis(v)).toBeNaN();
  });
});

describe("sortEvents", () => {
  it("orders by timestamp, then tiebreaker, then input order; timeless events last", () => {
    const events = [
      { id: 1, t: "2026-01-01T00:00:02Z", s: 1 },
      { id: 2, t: "2026-01-01T00:00:01Z", s: 9 },
      { id: 3, t: "2026-01-01T00:00:01Z", s: 3 },
      { id: 4, s: 0 },
      { id: 5, t: 1767225601000, s: 3 },
    ];
    const sorted = sortEvents(events, { timestampField: "t", tiebreakerField: "s" }).map((e) => e.id);
    expect(sorted).toEqual([3, 5, 2, 1, 4]);
    expect(sortEvents(events, { timestampField: "t" }).map((e) => e.id)).toEqual([2, 3, 5, 1, 4]);
  });

  it("defaults to @timestamp and does not mutate its input", () => {
    const events = [{ "@timestamp": "2026-01-02T00:00:00Z", n: 1 }, { "@timestamp": "2026-01-01T00:00:00Z", n: 2 }];
    expect(sortEvents(events).map((e) => e.n)).toEqual([2, 1]);
    expect(events[0].n).toBe(1);
  });

  it("compares tiebreakers: numbers, then strings, absent last", () => {
    expect(compareTiebreakers(1, 2)).toBeLessThan(0);
    expect(compareTiebreakers("b", "a")).toBeGreaterThan(0);
    expect(compareTiebreakers(5, "a")).toBeLessThan(0);
    expect(compareTiebreakers(undefined, 1)).toBeGreaterThan(0);
    expect(compareTiebreakers(null, undefined)).toBe(0);
  });
});
