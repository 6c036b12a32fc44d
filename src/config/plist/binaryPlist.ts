/**
 * Reads binary property lists (`bplist00`), the form macOS often stores managed preferences in.
 *
 * Layout: an 8-byte header, the objects, an offset table (one offset per object, `offsetSize` bytes each, big
 * endian) and a 32-byte trailer: 6 unused bytes, offsetSize, refSize, object count, top object, offset-table
 * offset (three 8-byte big-endian integers). Each object starts with a marker byte: high nibble type, low nibble
 * size or count (0xF: the count follows as an integer object). Containers hold `refSize`-byte object numbers.
 *
 * Every read is bounds-checked; reference cycles, out-of-range references and non-string dict keys are errors.
 */
import { PlistError } from "./plistError.js";
import type { PlistDict, PlistValue } from "./plistValue.js";

const HEADER = "bplist00";
const TRAILER_SIZE = 32;
/** Seconds from the Unix epoch to Apple's reference date, 2001-01-01T00:00:00Z. */
const APPLE_EPOCH_SECONDS = 978307200;
const MAX_DEPTH = 512;

const IN_PROGRESS = Symbol("in progress");

class BinaryPlistReader {
  private readonly view: DataView;
  private offsetSize = 0;
  private refSize = 0;
  private objectCount = 0;
  private offsetTableOffset = 0;
  private readonly decoded = new Map<number, PlistValue | typeof IN_PROGRESS>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(reason: string, offset: number): never {
    throw new PlistError(`binary plist: ${reason}`, this.file, offset);
  }

  read(): PlistValue {
    const size = this.bytes.length;
    if (size < HEADER.length + TRAILER_SIZE) this.fail(`too short (${size} bytes) for a header and trailer`, 0);
    const header = Buffer.from(this.bytes.subarray(0, 8)).toString("latin1");
    if (header !== HEADER) this.fail(`header is '${header}', expected '${HEADER}'`, 0);
    const t = size - TRAILER_SIZE;
    this.offsetSize = this.bytes[t + 6];
    this.refSize = this.bytes[t + 7];
    const objectCount = this.view.getBigUint64(t + 8);
    const topObject = this.view.getBigUint64(t + 16);
    const tableOffset = this.view.getBigUint64(t + 24);
    if (this.offsetSize < 1 || this.offsetSize > 8) this.fail(`offset size ${this.offsetSize} is not 1..8`, t + 6);
    if (this.refSize < 1 || this.refSize > 8) this.fail(`object reference size ${this.refSize} is not 1..8`, t + 7);
    if (objectCount < 1n) this.fail("no objects", t + 8);
    if (tableOffset < 8n || tableOffset + objectCount * BigInt(this.offsetSize) > BigInt(t)) {
      this.fail(`offset table (at ${tableOffset}, ${objectCount} entries) does not fit before the trailer`, t + 24);
    }
    if (topObject >= objectCount) this.fail(`top object ${topObject} is not below the object count ${objectCount}`, t + 16);
    this.objectCount = Number(objectCount);
    this.offsetTableOffset = Number(tableOffset);
    return this.object(Number(topObject), 0);
  }

  /** An unsigned big-endian integer of 1..8 bytes (must fit in a JS safe integer). */
  private uint(at: number, width: number): number {
    if (at + width > this.bytes.length) this.fail(`${width}-byte integer runs past the end`, at);
    let v = 0n;
    for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(this.bytes[at + i]);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`offset or reference ${v} is too large`, at);
    return Number(v);
  }

  private objectOffset(ref: number, from: number): number {
    if (ref >= this.objectCount) this.fail(`object reference ${ref} is not below the object count ${this.objectCount}`, from);
    const at = this.uint(this.offsetTableOffset + ref * this.offsetSize, this.offsetSize);
    if (at < HEADER.length || at >= this.offsetTableOffset) {
      this.fail(`object ${ref} has offset ${at}, outside the object area`, this.offsetTableOffset + ref * this.offsetSize);
    }
    return at;
  }

  private object(ref: number, depth: number, from = this.bytes.length - TRAILER_SIZE): PlistValue {
    const seen = this.decoded.get(ref);
    if (seen === IN_PROGRESS) this.fail(`object ${ref} contains itself (reference cycle)`, from);
    if (seen !== undefined) return seen;
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`, from);
    const at = this.objectOffset(ref, from);
    this.decoded.set(ref, IN_PROGRESS);
    const value = this.decode(at, depth);
    this.decoded.set(ref, value);
    return value;
  }

  /** The element count of a data/string/container: the low nibble, or an integer object after the marker. */
  private count(at: number): { count: number; next: number } {
    const low = this.bytes[at] & 0x0f;
    if (low !== 0x0f) return { count: low, next: at + 1 };
    const marker = this.need(at + 1, 1)[0];
    if (marker >> 4 !== 0x1) this.fail("a count of 15 or more must be followed by an integer object", at + 1);
    const width = 1 << (marker & 0x0f);
    if (width > 8) this.fail(`${width}-byte count`, at + 1);
    return { count: this.uint(at + 2, width), next: at + 2 + width };
  }

  /** `length` bytes at `at`, which must lie inside the object area. */
  private need(at: number, length: number): Uint8Array {
    if (at + length > this.offsetTableOffset) this.fail(`object of ${length} bytes runs past the object area`, at);
    return this.bytes.subarray(at, at + length);
  }

  private decode(at: number, depth: number): PlistValue {
    const marker = this.bytes[at];
    const type = marker >> 4;
    const low = marker & 0x0f;
    switch (type) {
      case 0x0:
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        return this.fail(`unsupported simple object 0x${marker.toString(16).padStart(2, "0")} (null and fill have no plist value)`, at);
      case 0x1:
        return this.integer(at, low);
      case 0x2: {
        if (low === 2 && this.need(at + 1, 4)) return this.view.getFloat32(at + 1);
        if (low === 3 && this.need(at + 1, 8)) return this.view.getFloat64(at + 1);
        return this.fail(`real of ${1 << low} bytes`, at);
      }
      case 0x3: {
        if (marker !== 0x33) return this.fail(`bad date marker 0x${marker.toString(16)}`, at);
        this.need(at + 1, 8);
        const seconds = this.view.getFloat64(at + 1);
        return new Date((seconds + APPLE_EPOCH_SECONDS) * 1000);
      }
      case 0x4: {
        const { count, next } = this.count(at);
        return new Uint8Array(this.need(next, count));
      }
      case 0x5: {
        const { count, next } = this.count(at);
        return Buffer.from(this.need(next, count)).toString("latin1");
      }
      case 0x6: {
        const { count, next } = this.count(at);
        const raw = this.need(next, count * 2);
        let s = "";
        for (let i = 0; i < count; i++) s += String.fromCharCode((raw[2 * i] << 8) | raw[2 * i + 1]);
        return s;
      }
      case 0x8: {
        const raw = this.need(at + 1, low + 1);
        let v = 0;
        for (const b of raw) v = v * 256 + b;
        return { "CF$UID": v };
      }
      case 0xa:
      case 0xc: {
        const { count, next } = this.count(at);
        this.need(next, count * this.refSize);
        const out: PlistValue[] = [];
        for (let i = 0; i < count; i++) {
          const refAt = next + i * this.refSize;
          out.push(this.object(this.uint(refAt, this.refSize), depth + 1, refAt));
        }
        return out;
      }
      case 0xd: {
        const { count, next } = this.count(at);
        this.need(next, 2 * count * this.refSize);
        const out: PlistDict = {};
        for (let i = 0; i < count; i++) {
          const keyAt = next + i * this.refSize;
          const valueAt = next + (count + i) * this.refSize;
          const key = this.object(this.uint(keyAt, this.refSize), depth + 1, keyAt);
          if (typeof key !== "string") this.fail("dict key is not a string", keyAt);
          const value = this.object(this.uint(valueAt, this.refSize), depth + 1, valueAt);
          Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      default:
        return this.fail(`unknown object marker 0x${marker.toString(16).padStart(2, "0")}`, at);
    }
  }

  private integer(at: number, low: number): number | bigint {
    const width = 1 << low;
    if (width > 16) this.fail(`integer of ${width} bytes`, at);
    const raw = this.need(at + 1, width);
    let v = 0n;
    for (const b of raw) v = (v << 8n) | BigInt(b);
    // 1, 2 and 4-byte integers are unsigned; 8 and 16-byte ones are two's complement.
    if (width >= 8 && raw[0] & 0x80) v -= 1n << BigInt(width * 8);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

export function isBinaryPlist(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.subarray(0, 6)).toString("latin1") === "bplist";
}

/** Parses a `bplist00` file; `file` names it in errors. */
export function parseBinaryPlist(bytes: Uint8Array, file = "<plist>"): PlistValue {
  return new BinaryPlistReader(bytes, file).read();
}
