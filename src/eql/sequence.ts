/**
 * The sequence state machine, streaming form of Elasticsearch's SequenceMatcher. Events arrive in order.
 * For every stage but the last there is at most one pending sequence per join key: a newer one overwrites
 * (Elasticsearch keeps only the latest candidate before the next stage's event). An event is offered to the
 * stages from last to first, so it can complete or advance one sequence and start another, but never fill
 * two stages of the same sequence.
 *
 * Missing-event stages `![...]`: between two positive stages, a matching event with the same key in between
 * rejects the sequence; before the first positive stage, one within maxspan before the sequence's last event
 * (any, without maxspan) rejects it; after the last, the sequence waits until its maxspan window has passed
 * (or the stream ends) and is dropped if one arrives. `until`: a matching event drops the key's pending
 * sequences. Pending state is bounded: maxspan expiry, plus a cap that evicts the oldest.
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
  maxPending: number;
}

interface JoinKey {
  /** Map key: the value itself for one join key (Map tells 10 from "10"), an encoded string for several. */
  id: unknown;
  values: Scalar[];
}

interface Pending {
  keyId: unknown;
  keyValues: Scalar[];
  events: (EqlEvent | null)[];
  /** Stage index this sequence waits after (its last filled stage), or -1 once complete and waiting. */
  stage: number;
  startTs: number;
  lastOrdinal: number;
  /** Timestamp of the latest leading missing-stage event seen before the sequence started (NaN: none). */
  leadingMissingTs: number;
  alive: boolean;
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

  private slots: Map<unknown, Pending>[];
  private waiting = new Map<unknown, Pending[]>();
  private lastMissing: Map<unknown, { ordinal: number; ts: number }>[];
  private fifo: Pending[] = [];
  private fifoHead = 0;
  private ordinal = 0;
  private pending = 0;
  private evicted = 0;
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
    this.slots = this.stages.map(() => new Map());
    this.lastMissing = this.stages.map(() => new Map());
  }

  /**
   * Whether an event that matches none of the stages (nor until, nor a missing stage) may be skipped: it can
   * change nothing but the passing of time, and expiry can wait for the next relevant event (the cap still
   * bounds memory). Not so while sequences wait for a trailing missing-event window to close.
   */
  canSkipUnmatched(): boolean {
    return this.waiting.size === 0;
  }

  stats(): MatcherStats {
    return { pendingSequences: this.pending, evictedSequences: this.evicted, expiredSequences: this.expired };
  }

  push(event: EqlEvent): Hit[] {
    const ordinal = ++this.ordinal;
    const maxspan = this.plan.maxspanMs;
    const ts = timestampMillis(this.plan.timestamp(event));
    this.out = EMPTY;
    const emit = this.emit;

    if (maxspan !== null && !Number.isNaN(ts)) this.expire(ts, maxspan, emit);

    if (this.trailingMissing.length > 0 && this.waiting.size > 0) {
      for (const m of this.trailingMissing) {
        const stage = this.stages[m];
        if (!stage.filter(event)) continue;
        for (const key of joinKeys(stage.keys, event)) {
          const list = this.waiting.get(key.id);
          if (!list) continue;
          for (const p of list) this.kill(p);
          this.waiting.delete(key.id);
        }
      }
    }

    const until = this.plan.until;
    if (until && this.pending > 0 && until.filter(event)) {
      for (const key of joinKeys(until.keys, event)) {
        for (let s = 0; s < this.slots.length; s++) {
          const p = this.slots[s].get(key.id);
          if (p) {
            this.slots[s].delete(key.id);
            this.kill(p);
          }
        }
      }
    }

    for (let k = this.positive.length - 1; k >= 0; k--) {
      const s = this.positive[k];
      const stage = this.stages[s];
      if (!stage.filter(event)) continue;
      const keys = joinKeys(stage.keys, event);
      for (const key of keys) {
        if (s === this.firstPositive) this.start(key, event, ordinal, ts, emit);
        else this.advance(s, key, event, ordinal, ts, emit);
      }
    }

    for (const m of this.recordedMissing) {
      const stage = this.stages[m];
      if (!stage.filter(event)) continue;
      const seen = this.lastMissing[m];
      for (const key of joinKeys(stage.keys, event)) {
        seen.delete(key.id);
        seen.set(key.id, { ordinal, ts });
        if (seen.size > this.plan.maxPending) {
          const oldest = seen.keys().next();
          if (!oldest.done) seen.delete(oldest.value);
        }
      }
    }
    const out = this.out;
    this.out = EMPTY;
    return out;
  }

  finish(): Hit[] {
    const out: Hit[] = [];
    for (let i = this.fifoHead; i < this.fifo.length; i++) {
      const p = this.fifo[i];
      if (p.alive && p.stage === -1) {
        out.push(this.hit(p));
      }
    }
    this.slots = this.stages.map(() => new Map());
    this.lastMissing = this.stages.map(() => new Map());
    this.waiting.clear();
    this.fifo = [];
    this.fifoHead = 0;
    this.pending = 0;
    return out;
  }

  private hit(p: Pending): SequenceHit {
    return { kind: "sequence", joinKeys: p.keyValues, events: p.events };
  }

  private start(key: JoinKey, event: EqlEvent, ordinal: number, ts: number, emit: (p: Pending) => void): void {
    let leadingMissingTs = NaN;
    for (const m of this.leadingMissing) {
      const seen = this.lastMissing[m].get(key.id);
      if (seen && !(seen.ts <= leadingMissingTs)) leadingMissingTs = Number.isNaN(seen.ts) ? -Infinity : seen.ts;
    }
    const events: (EqlEvent | null)[] = new Array<EqlEvent | null>(this.stages.length).fill(null);
    events[this.firstPositive] = event;
    const p: Pending = { keyId: key.id, keyValues: key.values.slice(), events, stage: this.firstPositive, startTs: ts, lastOrdinal: ordinal, leadingMissingTs, alive: true };
    this.pending++;
    this.fifo.push(p);
    if (this.firstPositive === this.lastPositive) this.complete(p, ts, emit);
    else this.place(p);
    this.enforceCap();
  }

  private advance(s: number, key: JoinKey, event: EqlEvent, ordinal: number, ts: number, emit: (p: Pending) => void): void {
    const prev = this.previousPositive[s];
    const slot = this.slots[prev];
    const p = slot.get(key.id);
    if (!p) return;
    slot.delete(key.id);
    const maxspan = this.plan.maxspanMs;
    if (maxspan !== null && ts - p.startTs > maxspan) {
      this.kill(p);
      this.expired++;
      return;
    }
    for (let m = prev + 1; m < s; m++) {
      const seen = this.lastMissing[m].get(key.id);
      if (seen && seen.ordinal > p.lastOrdinal) {
        this.kill(p);
        return;
      }
    }
    p.events[s] = event;
    p.lastOrdinal = ordinal;
    p.stage = s;
    if (s === this.lastPositive) this.complete(p, ts, emit);
    else this.place(p);
  }

  private place(p: Pending): void {
    const slot = this.slots[p.stage];
    const old = slot.get(p.keyId);
    if (old && old !== p) this.kill(old);
    slot.set(p.keyId, p);
  }

  private complete(p: Pending, ts: number, emit: (p: Pending) => void): void {
    if (this.leadingMissing.length > 0 && !Number.isNaN(p.leadingMissingTs)) {
      const maxspan = this.plan.maxspanMs;
      if (maxspan === null || Number.isNaN(ts) || p.leadingMissingTs >= ts - maxspan) {
        this.kill(p);
        return;
      }
    }
    if (this.trailingMissing.length > 0) {
      p.stage = -1;
      const list = this.waiting.get(p.keyId);
      if (list) list.push(p);
      else this.waiting.set(p.keyId, [p]);
      return;
    }
    this.kill(p);
    emit(p);
  }

  private kill(p: Pending): void {
    if (!p.alive) return;
    p.alive = false;
    this.pending--;
  }

  /** Drops what maxspan rules out; releases waiting sequences whose trailing window has closed. */
  private expire(ts: number, maxspan: number, emit: (p: Pending) => void): void {
    while (this.fifoHead < this.fifo.length) {
      const p = this.fifo[this.fifoHead];
      if (p.alive) {
        if (!(ts - p.startTs > maxspan)) break;
        this.remove(p);
        if (p.stage === -1) emit(p);
        else this.expired++;
      }
      this.fifoHead++;
    }
    this.compactFifo();
  }

  private enforceCap(): void {
    while (this.pending > this.plan.maxPending && this.fifoHead < this.fifo.length) {
      const p = this.fifo[this.fifoHead++];
      if (!p.alive) continue;
      this.remove(p);
      this.evicted++;
    }
    this.compactFifo();
  }

  private remove(p: Pending): void {
    if (p.stage >= 0) {
      const slot = this.slots[p.stage];
      if (slot.get(p.keyId) === p) slot.delete(p.keyId);
    } else {
      const list = this.waiting.get(p.keyId);
      if (list) {
        const rest = list.filter((x) => x !== p);
        if (rest.length === 0) this.waiting.delete(p.keyId);
        else this.waiting.set(p.keyId, rest);
      }
    }
    this.kill(p);
  }

  private compactFifo(): void {
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    // Dead entries behind live ones accumulate without maxspan; squeeze them out now and then.
    if (this.fifo.length - this.fifoHead > 4 * (this.pending + 256)) {
      this.fifo = this.fifo.slice(this.fifoHead).filter((p) => p.alive);
      this.fifoHead = 0;
    }
  }
}
