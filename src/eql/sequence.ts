/**
 * The sequence state machine, streaming form of Elasticsearch's SequenceMatcher. Events arrive in order.
 * For every stage but the last there is at most one pending sequence per join key: a newer one overwrites
 * (Elasticsearch keeps only the latest candidate before the next stage's event). An event is offered to the
 * stages from last to first, so it can complete or advance one sequence and start another, but never fill
 * two stages of the same sequence.
 *
 * Missing-event stages `![...]`, as Elasticsearch decides them: between two positive stages, a matching event
 * with the same key in between rejects the sequence. Leading only (before the first positive stage): the
 * latest one before the sequence rejects it if it lies within maxspan of the sequence's last event (any,
 * without maxspan). Trailing only: the sequence waits until maxspan from its start has passed (or the stream
 * ends) and is dropped if one arrives. Leading and trailing: only the pair rejects — the latest leading event
 * and a trailing one within one maxspan of each other; a sequence with no leading event is kept at once.
 *
 * `until`: a matching event drops the key's pending sequences, after the stages have seen it: like
 * Elasticsearch, which rejects a sequence when an until event lies between its last event and the next
 * stage's, an event that completes a sequence completes it even if it also matches `until`.
 *
 * Pending state is bounded: maxspan expiry, a cap on the count, and a cap on its estimated bytes (the pending
 * sequences with the events they hold, and the last missing-stage event seen per key). Over a cap the oldest
 * state goes, counted. Every operation is O(1) in the amount of state held: intrusive linked lists in age
 * order, and Maps that are only ever looked up, never scanned.
 */
import type { EqlEvent, Hit, MatcherStats, SequenceHit } from "./api.js";
import type { Predicate, ValueFn } from "./compiler.js";
import type { FieldGetter } from "./fieldAccess.js";
import { timestampMillis } from "./eventOrder.js";
import type { Scalar, Value } from "./values.js";

export interface KeySpec {
  value: ValueFn;
  /** `?field`: a null value is a key value, not a reason to skip the event. */
  optional: boolean;
}

export interface StagePlan {
  filter: Predicate;
  keys: KeySpec[];
  missing: boolean;
}

export interface SequencePlan {
  /** Stages with `runs` expanded. */
  stages: StagePlan[];
  until: StagePlan | null;
  maxspanMs: number | null;
  timestamp: FieldGetter;
  /** Cap on pending sequences (and, separately, on remembered missing-stage events per missing stage). */
  maxPending: number;
  /** Cap on the estimated bytes of all pending state. */
  maxPendingBytes: number;
}

interface JoinKey {
  /** Map key: the value itself for one join key (Map tells 10 from "10"), an encoded string for several. */
  id: unknown;
  values: Scalar[];
}

interface Pending {
  keyId: unknown;
  /** The join key values when there are several; null for one (keyId is its value) or none. */
  keyValues: Scalar[] | null;
  events: (EqlEvent | null)[];
  /** Stage index this sequence waits after (its last filled stage), or -1 once complete and waiting. */
  stage: number;
  startTs: number;
  startOrdinal: number;
  lastOrdinal: number;
  bytes: number;
  alive: boolean;
  /** Age order (oldest first) over all pending sequences. */
  older: Pending | null;
  newer: Pending | null;
  /** Only for a sequence with missing-event stages at its ends (null otherwise: most have none). */
  ends: PendingEnds | null;
}

interface PendingEnds {
  /** Timestamp of the latest leading missing-stage event seen before the sequence started (NaN: none). */
  leadingMissingTs: number;
  /** Waiting only: a trailing missing-stage event within maxspan of this time rejects the sequence. */
  windowFromTs: number;
  /** Waiting only: the other waiting sequences of the same key. */
  waitPrev: Pending | null;
  waitNext: Pending | null;
}

/** The last event of a missing stage seen for a key. */
interface MissingRecord {
  stage: number;
  keyId: unknown;
  ordinal: number;
  ts: number;
  bytes: number;
  older: MissingRecord | null;
  newer: MissingRecord | null;
}

interface WaitList {
  head: Pending;
  tail: Pending;
}

/** Rough sizes in bytes of V8 objects, for accounting, not allocation. */
const PENDING_BYTES = 200;
const RECORD_BYTES = 120;
const MAX_SIZE_DEPTH = 8;

/** An estimate of the heap bytes a value holds (object keys are shared between events, so not counted). */
export function approximateBytes(v: unknown, depth = 0): number {
  return typeof v === "object" && v !== null ? containerBytes(v, depth) : scalarBytes(v);
}

function scalarBytes(v: unknown): number {
  switch (typeof v) {
    case "string":
      return 16 + v.length;
    case "boolean":
    case "undefined":
    case "object": // null
      return 8;
    default:
      return 16;
  }
}

/**
 * An object or array and what it holds. Members that are strings or numbers (most of an event) are sized here
 * rather than by a call each: the walk runs once for every event a sequence keeps.
 */
function containerBytes(v: object, depth: number): number {
  if (depth >= MAX_SIZE_DEPTH) return 32;
  if (Array.isArray(v)) {
    let n = 16 + 8 * v.length;
    for (let i = 0; i < v.length; i++) n += memberBytes(v[i], depth + 1);
    return n;
  }
  let n = 24;
  for (const key in v) n += 8 + memberBytes((v as Record<string, unknown>)[key], depth + 1);
  return n;
}

function memberBytes(x: unknown, depth: number): number {
  if (typeof x === "string") return 16 + x.length;
  if (typeof x === "number") return 16;
  if (typeof x === "object") return x === null ? 8 : containerBytes(x, depth);
  return scalarBytes(x);
}

/**
 * The estimated size of an event, remembered for the last event asked about: the matchers of a rule set see
 * the same event one after the other, so it is walked once, not once per sequence rule that keeps it. (Events
 * are not changed once pushed: pending sequences hold them.)
 */
let sizedEvent: EqlEvent | null = null;
let sizedBytes = 0;
function eventBytes(event: EqlEvent): number {
  if (event !== sizedEvent) {
    sizedBytes = approximateBytes(event);
    sizedEvent = event;
  }
  return sizedBytes;
}

function keyBytes(id: unknown, values: readonly Scalar[]): number {
  let n = typeof id === "string" && values.length > 1 ? 16 + id.length : 0;
  for (let i = 0; i < values.length; i++) n += approximateBytes(values[i]);
  return n;
}

const NO_KEYS: JoinKey[] = [{ id: "", values: [] }];
const SCRATCH_VALUES: Scalar[] = [null];
const SCRATCH_KEY: JoinKey = { id: null, values: SCRATCH_VALUES };
const SCRATCH: JoinKey[] = [SCRATCH_KEY];
const MAX_KEY_FANOUT = 64;
const EMPTY: Hit[] = [];

function encodeScalar(v: Scalar): string {
  switch (typeof v) {
    case "string":
      return "s" + v;
    case "number":
      return "n" + v;
    case "boolean":
      return v ? "T" : "F";
    default:
      return "z";
  }
}

/**
 * The join keys of an event for a stage: none when a required key is null; fan-out over multi-valued keys.
 * The result may be a shared scratch array: use it before the next call, copy what you keep.
 */
export function joinKeys(specs: readonly KeySpec[], event: EqlEvent): JoinKey[] {
  if (specs.length === 0) return NO_KEYS;
  if (specs.length === 1) {
    const v = specs[0].value(event);
    if (v === null && !specs[0].optional) return EMPTY as unknown as JoinKey[];
    if (!Array.isArray(v)) {
      SCRATCH_KEY.id = v;
      SCRATCH_VALUES[0] = v as Scalar;
      return SCRATCH;
    }
  }
  const values: Value[] = new Array<Value>(specs.length);
  let multi = false;
  for (let i = 0; i < specs.length; i++) {
    const v = specs[i].value(event);
    if (v === null && !specs[i].optional) return EMPTY as unknown as JoinKey[];
    if (Array.isArray(v)) multi = true;
    values[i] = v;
  }
  if (!multi) {
    const scalars = values as Scalar[];
    if (scalars.length === 1) {
      // One key, one value: the common case, answered without allocating (callers copy what they keep).
      SCRATCH_KEY.id = scalars[0];
      SCRATCH_VALUES[0] = scalars[0];
      return SCRATCH;
    }
    let id = encodeScalar(scalars[0]);
    for (let i = 1; i < scalars.length; i++) id += "\u0000" + encodeScalar(scalars[i]);
    return [{ id, values: scalars }];
  }
  let combos: Scalar[][] = [[]];
  for (const v of values) {
    const options: Scalar[] = Array.isArray(v) ? (v as Value[]).filter((x): x is Scalar => !Array.isArray(x)) : [v as Scalar];
    const next: Scalar[][] = [];
    for (const c of combos) for (const o of options) if (next.length < MAX_KEY_FANOUT) next.push([...c, o]);
    combos = next;
  }
  return combos.map((c) => ({ id: c.length === 1 ? c[0] : c.map(encodeScalar).join("\u0000"), values: c }));
}

export class SequenceMatcher {
  private readonly stages: StagePlan[];
  private readonly positive: number[];
  private readonly firstPositive: number;
  private readonly lastPositive: number;
  /** previousPositive[s]: the positive stage before s (-1 for the first). */
  private readonly previousPositive: number[];
  private readonly leadingMissing: number[];
  private readonly trailingMissing: number[];
  /** Missing stages strictly between two positive stages, and leading ones: their last matching event per key. */
  private readonly recordedMissing: number[];
  private readonly maxRecords: number;
  /** A pending sequence's events before any stage is filled, copied for each sequence started. */
  private readonly noEvents: (EqlEvent | null)[];

  private slots: Map<unknown, Pending>[];
  /** Complete sequences waiting for their trailing missing-event window to close, per key. */
  private waiting = new Map<unknown, WaitList>();
  private waitingCount = 0;
  private lastMissing: Map<unknown, MissingRecord>[];
  private oldest: Pending | null = null;
  private newest: Pending | null = null;
  private oldestRecord: MissingRecord | null = null;
  private newestRecord: MissingRecord | null = null;
  private records = 0;
  private ordinal = 0;
  private pending = 0;
  private bytes = 0;
  private evicted = 0;
  private evictedRecords = 0;
  private expired = 0;
  /** Hits of the event being pushed. */
  private out: Hit[] = EMPTY;
  private readonly emit = (p: Pending): void => {
    if (this.out === EMPTY) this.out = [];
    this.out.push(this.hit(p));
  };

  constructor(private readonly plan: SequencePlan) {
    this.stages = plan.stages;
    this.positive = this.stages.flatMap((s, i) => (s.missing ? [] : [i]));
    this.firstPositive = this.positive[0];
    this.lastPositive = this.positive[this.positive.length - 1];
    this.previousPositive = this.stages.map((_, i) => {
      for (let j = i - 1; j >= 0; j--) if (!this.stages[j].missing) return j;
      return -1;
    });
    const missing = this.stages.flatMap((s, i) => (s.missing ? [i] : []));
    this.leadingMissing = missing.filter((i) => i < this.firstPositive);
    this.trailingMissing = missing.filter((i) => i > this.lastPositive);
    this.recordedMissing = missing.filter((i) => i < this.lastPositive);
    this.maxRecords = plan.maxPending * Math.max(1, this.recordedMissing.length);
    this.slots = this.stages.map(() => new Map());
    this.lastMissing = this.stages.map(() => new Map());
    this.noEvents = this.stages.map(() => null);
  }

  /**
   * Whether an event that matches none of the stages (nor until, nor a missing stage) may be skipped: it can
   * change nothing but the passing of time, and expiry can wait for the next relevant event (the caps still
   * bound memory). Not so while sequences wait for a trailing missing-event window to close.
   */
  canSkipUnmatched(): boolean {
    return this.waitingCount === 0;
  }

  /** Whether any sequence is pending (started, or complete and waiting): else a later stage's event changes nothing. */
  holdsSequences(): boolean {
    return this.pending > 0;
  }

  /**
   * Whether a pending sequence (waiting after any stage, or complete and waiting for its trailing window)
   * has this join key id: for one join key, the key's value as the event gave it (a string, number, boolean
   * or null; 10 is not "10"); for several, joinKeys' encoded string. A later stage's event whose key this
   * is not can advance nothing. One Map lookup per stage.
   */
  holdsKey(keyId: unknown): boolean {
    if (this.pending === 0) return false;
    for (let s = 0; s < this.slots.length; s++) if (this.slots[s].has(keyId)) return true;
    return this.waiting.has(keyId);
  }

  stats(): MatcherStats {
    return {
      pendingSequences: this.pending,
      pendingBytes: this.bytes,
      evictedSequences: this.evicted,
      evictedMissingEvents: this.evictedRecords,
      expiredSequences: this.expired,
    };
  }

  /**
   * What a pending sequence keeps of the event being pushed, made when first needed (QuerySetMatcher.push sets it
   * per event); undefined keeps the event itself. Hits hand back what was kept.
   */
  retainer: (() => EqlEvent) | undefined = undefined;

  private retained(event: EqlEvent): EqlEvent {
    return this.retainer === undefined ? event : this.retainer();
  }

  push(event: EqlEvent): Hit[] {
    // Nothing pending: an event that starts nothing and is no missing-stage event changes nothing (expiry of
    // remembered missing-stage events can wait, as for skipped events). A rule set pushes every event one of
    // the stages matched: most are later stages' events, for sequences nobody started.
    if (this.pending === 0 && !this.startsOrRecords(event)) return EMPTY;
    const ordinal = ++this.ordinal;
    const maxspan = this.plan.maxspanMs;
    const ts = timestampMillis(this.plan.timestamp(event));
    this.out = EMPTY;
    const emit = this.emit;

    if (maxspan !== null && !Number.isNaN(ts)) this.expire(ts, maxspan, emit);

    if (this.waitingCount > 0) {
      for (const m of this.trailingMissing) {
        const stage = this.stages[m];
        if (!stage.filter(event)) continue;
        for (const key of joinKeys(stage.keys, event)) this.trailingEvent(key.id, ts, emit);
      }
    }

    for (let k = this.positive.length - 1; k >= 0; k--) {
      const s = this.positive[k];
      const stage = this.stages[s];
      if (!stage.filter(event)) continue;
      // Indexed loops on this path: an unoptimized for-of allocates an iterator per loop.
      const keys = joinKeys(stage.keys, event);
      for (let i = 0; i < keys.length; i++) {
        if (s === this.firstPositive) this.start(keys[i], event, ordinal, ts, emit);
        else this.advance(s, keys[i], event, ordinal, ts, emit);
      }
    }

    // After the stages: the sequence this event completes stands; those it started or advanced do not.
    const until = this.plan.until;
    if (until && this.pending > this.waitingCount && until.filter(event)) {
      for (const key of joinKeys(until.keys, event)) {
        for (let s = 0; s < this.slots.length; s++) {
          const p = this.slots[s].get(key.id);
          if (p) this.remove(p);
        }
      }
    }

    for (let i = 0; i < this.recordedMissing.length; i++) {
      const m = this.recordedMissing[i];
      const stage = this.stages[m];
      if (!stage.filter(event)) continue;
      for (const key of joinKeys(stage.keys, event)) this.record(m, key, ordinal, ts);
    }
    this.enforceCaps();
    const out = this.out;
    this.out = EMPTY;
    return out;
  }

  /** Whether the event matches the first positive stage, or a missing stage that is remembered. */
  private startsOrRecords(event: EqlEvent): boolean {
    if (this.stages[this.firstPositive].filter(event)) return true;
    for (let i = 0; i < this.recordedMissing.length; i++) if (this.stages[this.recordedMissing[i]].filter(event)) return true;
    return false;
  }

  finish(): Hit[] {
    const out: Hit[] = [];
    for (let p = this.oldest; p !== null; p = p.newer) if (p.stage === -1) out.push(this.hit(p));
    this.slots = this.stages.map(() => new Map());
    this.lastMissing = this.stages.map(() => new Map());
    this.waiting.clear();
    this.waitingCount = 0;
    for (let p = this.oldest; p !== null; p = p.newer) p.alive = false;
    this.oldest = this.newest = null;
    this.oldestRecord = this.newestRecord = null;
    this.records = 0;
    this.pending = 0;
    this.bytes = 0;
    return out;
  }

  private hit(p: Pending): SequenceHit {
    const joinKeys = p.keyValues ?? (this.stages[this.firstPositive].keys.length === 0 ? [] : [p.keyId as Scalar]);
    return { kind: "sequence", joinKeys, events: p.events };
  }

  private start(key: JoinKey, event: EqlEvent, ordinal: number, ts: number, emit: (p: Pending) => void): void {
    let ends: PendingEnds | null = null;
    if (this.leadingMissing.length > 0 || this.trailingMissing.length > 0) {
      let leadingMissingTs = NaN;
      for (let i = 0; i < this.leadingMissing.length; i++) {
        const seen = this.lastMissing[this.leadingMissing[i]].get(key.id);
        if (seen && !(seen.ts <= leadingMissingTs)) leadingMissingTs = Number.isNaN(seen.ts) ? -Infinity : seen.ts;
      }
      ends = { leadingMissingTs, windowFromTs: ts, waitPrev: null, waitNext: null };
    }
    const events = this.noEvents.slice();
    events[this.firstPositive] = event;
    // Several keys: joinKeys made their array for this key; one (its value is the id) or none: the hit makes it.
    const keyValues = key.values.length > 1 ? key.values : null;
    const p: Pending = {
      keyId: key.id,
      keyValues,
      events,
      stage: this.firstPositive,
      startTs: ts,
      startOrdinal: ordinal,
      lastOrdinal: ordinal,
      bytes: 0,
      alive: true,
      older: null,
      newer: null,
      ends,
    };
    if (this.firstPositive === this.lastPositive && this.trailingMissing.length === 0) {
      // Decided at once: never held.
      if (this.keep(p, ts)) emit(p);
      return;
    }
    const kept = this.retained(event);
    events[this.firstPositive] = kept;
    p.bytes = PENDING_BYTES + keyBytes(key.id, key.values) + eventBytes(kept);
    this.link(p);
    if (this.firstPositive === this.lastPositive) this.complete(p, ts, emit);
    else this.place(p);
  }

  private advance(s: number, key: JoinKey, event: EqlEvent, ordinal: number, ts: number, emit: (p: Pending) => void): void {
    const prev = this.previousPositive[s];
    const slot = this.slots[prev];
    const p = slot.get(key.id);
    if (!p) return;
    const maxspan = this.plan.maxspanMs;
    if (maxspan !== null && ts - p.startTs > maxspan) {
      this.remove(p);
      this.expired++;
      return;
    }
    for (let m = prev + 1; m < s; m++) {
      const seen = this.lastMissing[m].get(key.id);
      if (seen && seen.ordinal > p.lastOrdinal) {
        this.remove(p);
        return;
      }
    }
    slot.delete(key.id);
    const kept = this.retained(event);
    p.events[s] = kept;
    p.lastOrdinal = ordinal;
    p.stage = s;
    const added = eventBytes(kept);
    p.bytes += added;
    this.bytes += added;
    if (s === this.lastPositive) this.complete(p, ts, emit);
    else this.place(p);
  }

  private place(p: Pending): void {
    const slot = this.slots[p.stage];
    const old = slot.get(p.keyId);
    if (old && old !== p) this.remove(old);
    slot.set(p.keyId, p);
  }

  /** Missing stages at the ends, for a sequence whose positive stages are all filled: keep it now? */
  private keep(p: Pending, ts: number): boolean {
    if (this.leadingMissing.length === 0) return true;
    const leading = (p.ends as PendingEnds).leadingMissingTs;
    if (Number.isNaN(leading)) return true;
    const maxspan = this.plan.maxspanMs;
    return maxspan !== null && !Number.isNaN(ts) && ts - leading > maxspan;
  }

  private complete(p: Pending, ts: number, emit: (p: Pending) => void): void {
    const leadingFound = this.leadingMissing.length > 0 && !Number.isNaN((p.ends as PendingEnds).leadingMissingTs);
    if (this.trailingMissing.length === 0 || (this.leadingMissing.length > 0 && !leadingFound)) {
      // No trailing stage, or leading and trailing stages but no leading event: the ends are decided now.
      this.remove(p);
      if (this.keep(p, ts)) emit(p);
      return;
    }
    if (leadingFound && this.keep(p, ts)) {
      // The leading event is more than maxspan before the end, so no trailing event can be within maxspan of it.
      this.remove(p);
      emit(p);
      return;
    }
    // Waiting: there are trailing missing stages, so the sequence has its ends.
    const ends = p.ends as PendingEnds;
    p.stage = -1;
    ends.windowFromTs = leadingFound ? ends.leadingMissingTs : p.startTs;
    const list = this.waiting.get(p.keyId);
    if (list) {
      ends.waitPrev = list.tail;
      (list.tail.ends as PendingEnds).waitNext = p;
      list.tail = p;
    } else {
      this.waiting.set(p.keyId, { head: p, tail: p });
    }
    this.waitingCount++;
  }

  /** A trailing missing-stage event for a key: rejects the waiting sequences whose window it falls in. */
  private trailingEvent(keyId: unknown, ts: number, emit: (p: Pending) => void): void {
    const list = this.waiting.get(keyId);
    if (!list) return;
    const maxspan = this.plan.maxspanMs;
    for (let p: Pending | null = list.head; p !== null; ) {
      const ends = p.ends as PendingEnds;
      const next: Pending | null = ends.waitNext;
      const inWindow = maxspan === null || Number.isNaN(ts) || !(ts - ends.windowFromTs > maxspan);
      this.remove(p);
      if (!inWindow) emit(p);
      p = next;
    }
  }

  private record(stage: number, key: JoinKey, ordinal: number, ts: number): void {
    const seen = this.lastMissing[stage];
    const r = seen.get(key.id);
    if (r) {
      r.ordinal = ordinal;
      r.ts = ts;
      if (r !== this.newestRecord) {
        this.unlinkRecord(r);
        this.linkRecord(r);
      }
      return;
    }
    const fresh: MissingRecord = { stage, keyId: key.id, ordinal, ts, bytes: RECORD_BYTES + keyBytes(key.id, key.values), older: null, newer: null };
    seen.set(key.id, fresh);
    this.linkRecord(fresh);
    this.records++;
    this.bytes += fresh.bytes;
  }

  private dropRecord(r: MissingRecord): void {
    this.lastMissing[r.stage].delete(r.keyId);
    this.unlinkRecord(r);
    this.records--;
    this.bytes -= r.bytes;
  }

  private linkRecord(r: MissingRecord): void {
    r.older = this.newestRecord;
    r.newer = null;
    if (this.newestRecord) this.newestRecord.newer = r;
    else this.oldestRecord = r;
    this.newestRecord = r;
  }

  private unlinkRecord(r: MissingRecord): void {
    if (r.older) r.older.newer = r.newer;
    else this.oldestRecord = r.newer;
    if (r.newer) r.newer.older = r.older;
    else this.newestRecord = r.older;
    r.older = r.newer = null;
  }

  private link(p: Pending): void {
    p.older = this.newest;
    if (this.newest) this.newest.newer = p;
    else this.oldest = p;
    this.newest = p;
    this.pending++;
    this.bytes += p.bytes;
  }

  /** Forgets a pending sequence wherever it is held (slot or wait list). */
  private remove(p: Pending): void {
    if (!p.alive) return;
    p.alive = false;
    if (p.stage >= 0) {
      const slot = this.slots[p.stage];
      if (slot.get(p.keyId) === p) slot.delete(p.keyId);
    } else {
      const ends = p.ends as PendingEnds;
      const list = this.waiting.get(p.keyId);
      if (list) {
        if (ends.waitPrev) (ends.waitPrev.ends as PendingEnds).waitNext = ends.waitNext;
        else list.head = ends.waitNext as Pending;
        if (ends.waitNext) (ends.waitNext.ends as PendingEnds).waitPrev = ends.waitPrev;
        else list.tail = ends.waitPrev as Pending;
        if (list.head === null) this.waiting.delete(p.keyId);
      }
      ends.waitPrev = ends.waitNext = null;
      this.waitingCount--;
    }
    if (p.older) p.older.newer = p.newer;
    else if (this.oldest === p) this.oldest = p.newer;
    if (p.newer) p.newer.older = p.older;
    else if (this.newest === p) this.newest = p.older;
    p.older = p.newer = null;
    this.pending--;
    this.bytes -= p.bytes;
  }

  /** Drops what maxspan rules out; releases waiting sequences whose trailing window has closed. */
  private expire(ts: number, maxspan: number, emit: (p: Pending) => void): void {
    for (let p = this.oldest; p !== null && ts - p.startTs > maxspan; p = this.oldest) {
      this.remove(p);
      if (p.stage === -1) emit(p);
      else this.expired++;
    }
    // A missing-stage event older than maxspan can reject nothing pending now or later.
    for (let r = this.oldestRecord; r !== null && ts - r.ts > maxspan; r = this.oldestRecord) this.dropRecord(r);
  }

  /** Over a cap, the oldest state goes: pending sequences and remembered missing events, by age. */
  private enforceCaps(): void {
    const { maxPending, maxPendingBytes } = this.plan;
    while (this.pending > maxPending && this.oldest) this.evict(this.oldest);
    while (this.records > this.maxRecords && this.oldestRecord) this.evictRecord(this.oldestRecord);
    while (this.bytes > maxPendingBytes) {
      const p = this.oldest;
      const r = this.oldestRecord;
      if (p && (!r || p.startOrdinal <= r.ordinal)) this.evict(p);
      else if (r) this.evictRecord(r);
      else break;
    }
  }

  private evict(p: Pending): void {
    this.remove(p);
    this.evicted++;
  }

  private evictRecord(r: MissingRecord): void {
    this.dropRecord(r);
    this.evictedRecords++;
  }
}
