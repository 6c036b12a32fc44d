/**
 * The one serializer for everything macsensor writes as NDJSON (alert log, stdout sink, agent log, replay).
 *
 * A record is always exactly one line of valid JSON, whatever it holds:
 * - JSON escapes control characters (newline, NUL, ESC...) and lone surrogates; we also escape DEL, the C1
 *   controls and U+2028/U+2029, which some readers treat as line breaks.
 * - A Uint8Array/Buffer (text that was not valid UTF-8, per the raw-text contract) anywhere in the document is
 *   written as its U+FFFD-decoded string in place, and its exact bytes go to `macsensor.raw_bytes`
 *   ({"field", "index"?, "base64"}; see `src/ecs/ecsEvent.ts`) — never as `{"0":12,...}`. Array positions inside
 *   the path are dotted into `field` ("macsensor.sequence.events.1.process.args"); the last one is `index`.
 * - Errors become ECS-like `{"type", "message", "stack_trace"}`; bigints become numbers (strings when too large);
 *   Maps become objects, Sets arrays; a circular reference becomes the string "[Circular]".
 * - A record is never replaced for being too deep or too large; only the offending values are cut, and each cut
 *   is noted in `macsensor.cut` ({"field", "reason"}, at most 100 notes). A value nested deeper than MAX_DEPTH
 *   (100) levels becomes the string "[cut: nested deeper than 100 levels]". A record whose text would exceed
 *   MAX_RECORD_CHARS (64 Mi characters) is brought under it by cutting its biggest values first: every value
 *   smaller than its fair share of the space is kept whole, so `rule.*`, `event.*` and `process.name`/`pid`
 *   survive a giant `process.args`. Both limits are far above any real event: one exec carries at most a few MB
 *   of arguments (Linux ARG_MAX, macOS 1 MiB), and 10,000 arguments or a 1 MB command line are written intact.
 * The input is never modified; parts that need no change are not copied.
 */
import type { RawBytesEntry } from "../ecs/ecsEvent.js";

/** Values nested deeper than this are cut (JSON.stringify and every reader recurse; 100,000 levels overflow). */
export const MAX_DEPTH = 100;
/** A record's text is kept under this many characters (V8 strings end at 2^29; escapes can grow text 6×). */
export const MAX_RECORD_CHARS = 64 * 1024 * 1024;
const MAX_CUT_NOTES = 100;

/** One note in `macsensor.cut`: which field was cut, and why. */
export interface CutEntry {
  field: string;
  reason: string;
}

const LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/g;
const HAS_LINE_BREAKER = /[\u007f-\u009f\u2028\u2029]/;
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

interface Walk {
  path: (string | number)[];
  /** Objects on the current path, tracked only on the careful second pass (see toNdjsonLine). */
  ancestors: Set<object> | undefined;
  depth: number;
  rawBytes: RawBytesEntry[];
  /** An upper estimate of the JSON text's length before escapes (numbers count 24). */
  size: number;
  cuts: Cuts;
}

/** Notes of what was cut: the first MAX_CUT_NOTES, and how many more. */
class Cuts {
  readonly notes: CutEntry[] = [];
  more = 0;
  add(path: readonly (string | number)[], reason: string): void {
    if (this.notes.length < MAX_CUT_NOTES) this.notes.push({ field: path.join("."), reason });
    else this.more++;
  }
  entries(): CutEntry[] {
    return this.more === 0 ? this.notes : [...this.notes, { field: "*", reason: `${this.more} more fields cut` }];
  }
}

const newWalk = (careful: boolean): Walk => ({ path: [], ancestors: careful ? new Set() : undefined, depth: 0, rawBytes: [], size: 0, cuts: new Cuts() });
const TOO_DEEP_TEXT = `[cut: nested deeper than ${MAX_DEPTH} levels]`;
const NUMBER_SIZE = 24;

/** Nesting beyond this on the fast pass means a cycle is likely: the document is walked again, carefully. */
const FAST_DEPTH_LIMIT = 64;
const TOO_DEEP = Symbol("too deep");

/** One JSON line, without the trailing newline. */
export function toNdjsonLine(doc: unknown): string {
  let walk = newWalk(false);
  let prepared: unknown;
  try {
    prepared = prepare(doc, walk);
  } catch (error) {
    if (error !== TOO_DEEP) throw error;
    walk = newWalk(true);
    prepared = prepare(doc, walk);
  }
  if (walk.rawBytes.length > 0) prepared = withMacsensorList(prepared, "raw_bytes", walk.rawBytes);
  if (walk.size > MAX_RECORD_CHARS) prepared = fitToSize(prepared, MAX_RECORD_CHARS, [], walk.cuts, new Map());
  if (walk.cuts.notes.length > 0) prepared = withMacsensorList(prepared, "cut", walk.cuts.entries());
  const json = JSON.stringify(prepared) ?? "null";
  return HAS_LINE_BREAKER.test(json) ? json.replace(LINE_BREAKERS, unicodeEscape) : json;
}

function unicodeEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function prepare(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case "string":
      walk.size += value.length + 2;
      return value;
    case "number":
    case "boolean":
      walk.size += NUMBER_SIZE;
      return value;
    case "bigint":
      walk.size += NUMBER_SIZE;
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  // Plain objects and arrays are nearly everything; check them first.
  const plain = proto === Object.prototype || proto === null;
  if ((plain || Array.isArray(object)) && walk.ancestors === undefined) {
    if (++walk.depth > FAST_DEPTH_LIMIT) throw TOO_DEEP;
    const result = plain ? prepareObject(object as Record<string, unknown>, walk) : prepareArray(object as unknown[], walk);
    walk.depth--;
    return result;
  }
  if (plain) return enter(object, walk, () => prepareObject(object as Record<string, unknown>, walk));
  if (Array.isArray(object)) return enter(object, walk, () => prepareArray(object, walk));
  if (object instanceof Uint8Array) return bytesInPlace(object, walk);
  if (ArrayBuffer.isView(object)) return bytesInPlace(new Uint8Array(object.buffer, object.byteOffset, object.byteLength), walk);
  if (object instanceof ArrayBuffer) return bytesInPlace(new Uint8Array(object), walk);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  return enter(object, walk, () => {
    if (object instanceof Error) return prepareObject(errorFields(object), walk);
    if (object instanceof Map) return prepareObject(Object.fromEntries([...object].map(([k, v]) => [String(k), v])), walk);
    if (object instanceof Set) return prepareArray([...object], walk);
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return prepare(toJSON.call(object), walk);
    return prepareObject(object as Record<string, unknown>, walk);
  });
}

/** Runs `inside` one level deeper; guards against cycles (careful pass) or suspiciously deep nesting (fast pass). */
function enter(object: object, walk: Walk, inside: () => unknown): unknown {
  const ancestors = walk.ancestors;
  if (ancestors === undefined) {
    if (++walk.depth > FAST_DEPTH_LIMIT) throw TOO_DEEP;
    const result = inside();
    walk.depth--;
    return result;
  }
  if (ancestors.has(object)) return "[Circular]";
  if (walk.depth >= MAX_DEPTH) {
    walk.cuts.add(walk.path, `nested deeper than ${MAX_DEPTH} levels`);
    walk.size += TOO_DEEP_TEXT.length + 2;
    return TOO_DEEP_TEXT;
  }
  ancestors.add(object);
  walk.depth++;
  try {
    return inside();
  } finally {
    walk.depth--;
    ancestors.delete(object);
  }
}

function prepareArray(array: readonly unknown[], walk: Walk): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") {
      walk.size += typeof item === "string" ? item.length + 3 : NUMBER_SIZE;
      if (copy !== undefined) copy.push(item);
      continue;
    }
    walk.size += 1;
    walk.path.push(i);
    const prepared = prepare(item, walk);
    walk.path.pop();
    if (prepared !== item && copy === undefined) copy = array.slice(0, i);
    if (copy !== undefined) copy.push(prepared);
  }
  return copy ?? (array as unknown[]);
}

function prepareObject(object: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const item = object[key];
    walk.size += key.length + 4;
    if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") {
      walk.size += typeof item === "string" ? item.length + 2 : NUMBER_SIZE;
      if (copy !== undefined) copy[key] = item;
      continue;
    }
    walk.path.push(key);
    const prepared = prepare(item, walk);
    walk.path.pop();
    if (prepared !== item && copy === undefined) {
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]] = object[keys[j]];
    }
    if (copy !== undefined) copy[key] = prepared;
  }
  return copy ?? object;
}

function errorFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = { type: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) fields.code = code;
  if (error.stack !== undefined) fields.stack_trace = error.stack;
  if (error.cause !== undefined) fields.cause = error.cause;
  return fields;
}

function bytesInPlace(bytes: Uint8Array, walk: Walk): string {
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  walk.size += base64.length + bytes.byteLength + 64; // the entry, and the decoded text in place
  const last = walk.path[walk.path.length - 1];
  if (typeof last === "number") {
    walk.rawBytes.push({ field: walk.path.slice(0, -1).join("."), index: last, base64 });
  } else {
    walk.rawBytes.push({ field: walk.path.join("."), base64 });
  }
  return lenientUtf8.decode(bytes);
}

/** The document with `entries` appended to its `macsensor.<key>` list (created if absent). */
function withMacsensorList(prepared: unknown, key: string, entries: readonly unknown[]): unknown {
  if (prepared === null || typeof prepared !== "object" || Array.isArray(prepared)) {
    return { value: prepared, macsensor: { [key]: entries } };
  }
  const doc = prepared as Record<string, unknown>;
  const macsensor = doc.macsensor;
  const base = macsensor !== null && typeof macsensor === "object" && !Array.isArray(macsensor) ? (macsensor as Record<string, unknown>) : {};
  const existing = base[key];
  const list = Array.isArray(existing) ? [...existing, ...entries] : existing === undefined ? entries : [existing, ...entries];
  const merged: Record<string, unknown> = { ...base, [key]: list };
  if (macsensor !== undefined && base !== macsensor) merged.value = macsensor;
  return { ...doc, macsensor: merged };
}

/** The JSON length of a prepared value before escapes (numbers count NUMBER_SIZE), memoized per container. */
function sizeOf(value: unknown, sizes: Map<object, number>): number {
  if (typeof value === "string") return value.length + 2;
  if (value === null || typeof value !== "object") return NUMBER_SIZE;
  const known = sizes.get(value);
  if (known !== undefined) return known;
  let size = 2;
  if (Array.isArray(value)) {
    for (const item of value) size += sizeOf(item, sizes) + 1;
  } else {
    for (const [key, item] of Object.entries(value)) size += key.length + 4 + sizeOf(item, sizes);
  }
  sizes.set(value, size);
  return size;
}

/**
 * `value` (prepared: plain objects, arrays, strings, numbers) cut to about `budget` characters. The space is
 * shared out smallest first (water-filling): a child smaller than an equal share of what is left is kept whole,
 * and the biggest children share the rest, cut recursively. Strings keep their start.
 */
function fitToSize(value: unknown, budget: number, path: (string | number)[], cuts: Cuts, sizes: Map<object, number>): unknown {
  const size = sizeOf(value, sizes);
  if (size <= budget) return value;
  if (typeof value === "string") {
    let keep = Math.max(0, budget - 2);
    if (keep > 0 && isHighSurrogate(value.charCodeAt(keep - 1))) keep--;
    cuts.add(path, `cut to ${keep} of ${value.length} characters: the record exceeded ${MAX_RECORD_CHARS} characters`);
    return value.slice(0, keep);
  }
  if (value === null || typeof value !== "object") return value;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
  const overhead = 2 + entries.reduce((sum, [key]) => sum + (typeof key === "string" ? key.length + 4 : 1), 0);
  if (overhead > budget) {
    const kind = Array.isArray(value) ? `${entries.length} items` : `${entries.length} keys`;
    cuts.add(path, `${kind} dropped: the record exceeded ${MAX_RECORD_CHARS} characters`);
    return Array.isArray(value) ? [] : {};
  }
  const bySize = entries.map(([, item], index) => ({ index, size: sizeOf(item, sizes) })).sort((a, b) => a.size - b.size);
  const shares = new Array<number>(entries.length);
  let left = budget - overhead;
  bySize.forEach(({ index, size: itemSize }, rank) => {
    const share = Math.min(itemSize, Math.floor(left / (bySize.length - rank)));
    shares[index] = share;
    left -= share;
  });
  const fitted = entries.map(([key, item], index) => {
    path.push(key);
    const result = fitToSize(item, shares[index], path, cuts, sizes);
    path.pop();
    return [key, result] as const;
  });
  return Array.isArray(value) ? fitted.map(([, item]) => item) : Object.fromEntries(fitted);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
