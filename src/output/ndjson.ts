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
 * The input is never modified; parts that need no change are not copied.
 */
import type { RawBytesEntry } from "../ecs/ecsEvent.js";

const LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/g;
const HAS_LINE_BREAKER = /[\u007f-\u009f\u2028\u2029]/;
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

interface Walk {
  path: (string | number)[];
  /** Objects on the current path, tracked only on the careful second pass (see toNdjsonLine). */
  ancestors: Set<object> | undefined;
  depth: number;
  rawBytes: RawBytesEntry[];
}

/** Nesting beyond this on the fast pass means a cycle is likely: the document is walked again, carefully. */
const FAST_DEPTH_LIMIT = 64;
const TOO_DEEP = Symbol("too deep");

/** One JSON line, without the trailing newline. */
export function toNdjsonLine(doc: unknown): string {
  let walk: Walk = { path: [], ancestors: undefined, depth: 0, rawBytes: [] };
  let prepared: unknown;
  try {
    prepared = prepare(doc, walk);
  } catch (error) {
    if (error !== TOO_DEEP) throw error;
    walk = { path: [], ancestors: new Set(), depth: 0, rawBytes: [] };
    prepared = prepare(doc, walk);
  }
  if (walk.rawBytes.length > 0) prepared = withRawBytes(prepared, walk.rawBytes);
  const json = JSON.stringify(prepared) ?? "null";
  return HAS_LINE_BREAKER.test(json) ? json.replace(LINE_BREAKERS, unicodeEscape) : json;
}

function unicodeEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function prepare(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value;
    case "bigint":
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
  ancestors.add(object);
  try {
    return inside();
  } finally {
    ancestors.delete(object);
  }
}

function prepareArray(array: readonly unknown[], walk: Walk): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") {
      if (copy !== undefined) copy.push(item);
      continue;
    }
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
    if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") {
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
  const last = walk.path[walk.path.length - 1];
  if (typeof last === "number") {
    walk.rawBytes.push({ field: walk.path.slice(0, -1).join("."), index: last, base64 });
  } else {
    walk.rawBytes.push({ field: walk.path.join("."), base64 });
  }
  return lenientUtf8.decode(bytes);
}

/** The document with `entries` appended to its `macsensor.raw_bytes` (created if absent). */
function withRawBytes(prepared: unknown, entries: RawBytesEntry[]): unknown {
  if (prepared === null || typeof prepared !== "object" || Array.isArray(prepared)) {
    return { value: prepared, macsensor: { raw_bytes: entries } };
  }
  const doc = prepared as Record<string, unknown>;
  const macsensor = doc.macsensor;
  const base = macsensor !== null && typeof macsensor === "object" && !Array.isArray(macsensor) ? (macsensor as Record<string, unknown>) : {};
  const existing = base.raw_bytes;
  const rawBytes = Array.isArray(existing) ? [...existing, ...entries] : existing === undefined ? entries : [existing, ...entries];
  const merged: Record<string, unknown> = { ...base, raw_bytes: rawBytes };
  if (macsensor !== undefined && base !== macsensor) merged.value = macsensor;
  return { ...doc, macsensor: merged };
}
