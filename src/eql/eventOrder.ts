/**
 * Event order as Elasticsearch defines it for EQL: by timestamp, then by the tiebreaker field, then (as ES's
 * implicit tiebreaker) by arrival.
 */
import { getField } from "./fieldAccess.js";

const ISO_FRACTION = /^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$/;

/**
 * Milliseconds since the epoch for a timestamp value: a number (epoch ms), a numeric string (epoch ms), or an
 * ISO-8601 string (sub-millisecond digits kept as a fraction). NaN when it is none of these.
 */
export function timestampMillis(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : NaN;
  if (typeof value !== "string") return NaN;
  const text = value.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) return Number(text);
  const m = ISO_FRACTION.exec(text);
  if (m && m[2].length > 3) {
    const base = Date.parse(`${m[1]}.${m[2].slice(0, 3)}${m[3]}`);
    return base + Number(`0.${m[2].slice(3)}`);
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? NaN : ms;
}

/** Compares tiebreaker values: numbers before strings, absent last. */
export function compareTiebreakers(a: unknown, b: unknown): number {
  const na = a === undefined || a === null;
  const nb = b === undefined || b === null;
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export interface OrderOptions {
  timestampField?: string;
  tiebreakerField?: string;
}

/**
 * The events sorted into EQL order (a new array; the sort is stable, so arrival breaks remaining ties).
 * Events without a usable timestamp sort last.
 */
export function sortEvents<T extends Record<string, unknown>>(events: readonly T[], options: OrderOptions = {}): T[] {
  const tsField = options.timestampField ?? "@timestamp";
  const tb = options.tiebreakerField;
  const keyed = events.map((event, index) => ({
    event,
    index,
    ts: timestampMillis(getField(event, tsField)),
    tie: tb === undefined ? undefined : getField(event, tb),
  }));
  keyed.sort((x, y) => {
    const xn = Number.isNaN(x.ts);
    const yn = Number.isNaN(y.ts);
    if (xn || yn) {
      if (xn !== yn) return xn ? 1 : -1;
    } else if (x.ts !== y.ts) return x.ts - y.ts;
    if (tb !== undefined) {
      const c = compareTiebreakers(x.tie, y.tie);
      if (c !== 0) return c;
    }
    return x.index - y.index;
  });
  return keyed.map((k) => k.event);
}
