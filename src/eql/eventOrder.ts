/**
 * Event order as Elasticsearch defines it for EQL: by timestamp, then by the tiebreaker field, then (as ES's
 * implicit tiebreaker) by arrival.
 */
import { getField } from "./fieldAccess.js";

const ISO_FRACTION = /^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$/;

/** Digits at text[i..i+n) as a number, or -1. */
function digits(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (month 1-12); a day past its month's end runs on into the
 * next month, as in Date.UTC. Plain arithmetic: Date.UTC's result is a new heap number per call.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1; // from March 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The common `YYYY-MM-DDTHH:MM:SS[.fff...]Z` form without Date.parse (the hot path for every event). */
function fastIsoUtc(text: string): number {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 90 /* Z */ || text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":") {
    return NaN;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return NaN;
  }
  let fraction = 0;
  if (n > 20) {
    if (text[19] !== ".") return NaN;
    let scale = 100;
    for (let k = 20; k < n - 1; k++) {
      const c = text.charCodeAt(k) - 48;
      if (c < 0 || c > 9) return NaN;
      fraction += c * scale;
      scale /= 10;
    }
    if (n - 1 === 20) return NaN;
  }
  // Date.UTC reads years 0-99 as 1900-1999; keep its reading there.
  if (year < 100) return Date.UTC(year, month - 1, day, hour, minute, second) + fraction;
  return (daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + fraction;
}

let memoValue: unknown;
/** The memo's milliseconds, in a typed array: a number variable would hold a new heap number per parse. */
const memoMillis = new Float64Array([NaN]);

/**
 * Milliseconds since the epoch for a timestamp value: a number (epoch ms), a numeric string (epoch ms), or an
 * ISO-8601 string (sub-millisecond digits kept as a fraction). NaN when it is none of these.
 */
export function timestampMillis(value: unknown): number {
  if (typeof value === "number") return Number.isFinite(value) ? value : NaN;
  if (typeof value !== "string") return NaN;
  // Many matchers see the same event one after the other: parse its timestamp once.
  if (value === memoValue) return memoMillis[0];
  const ms = parseTimestamp(value);
  memoValue = value;
  memoMillis[0] = ms;
  return ms;
}

function parseTimestamp(value: string): number {
  const fast = fastIsoUtc(value);
  if (!Number.isNaN(fast)) return fast;
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
