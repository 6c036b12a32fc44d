import { readFileSync } from "node:fs";
import plist from "plist";
import { describe, expect, it } from "vitest";
import { parseBinaryPlist, parsePlist, parseXmlPlist, PlistError, type PlistValue } from "../../src/config/plist/index.js";
import { seededRandom } from "../helpers/seededRandom.js";

// The binary fixtures were written by Python's plistlib (an implementation independent of ours) from the same
// values as their XML twins; the XML twins are also checked against the npm `plist` package.
const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/config/${name}`, import.meta.url));

/** The `plist` package refuses `__proto__` keys (CVE-2022-22912); ours keeps them as data, checked separately. */
const parseWithPackage = (text: string): unknown =>
  plist.parse(text.replace(/<key>__proto__<\/key>\s*<string>[^<]*<\/string>/, ""));

/** Plain JSON-like form for comparing with the `plist` package (which returns Buffers and loses big integers). */
function normalize(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return `date:${v.toISOString()}`;
  if (v instanceof Uint8Array) return `data:${Buffer.from(v).toString("base64")}`;
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) if (k !== "__proto__") out[k] = normalize((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

describe("XML plists", () => {
  for (const name of ["managed.plist", "types.plist", "large.plist"]) {
    it(`reads ${name} as the plist package does`, () => {
      const text = fixture(name).toString("utf8");
      expect(normalize(parseXmlPlist(text, name))).toEqual(normalize(parseWithPackage(text)));
    });
  }

  it("keeps 64-bit integers exact and every type's value", () => {
    const v = parseXmlPlist(fixture("types.plist").toString("utf8")) as Record<string, PlistValue>;
    expect(v.int_big).toBe(2n ** 53n + 1n);
    expect(v.int_max_signed).toBe(2n ** 63n - 1n);
    expect(v.int_min).toBe(-(2n ** 63n));
    expect(v.int_u64).toBe(2n ** 64n - 1n);
    expect(v.int_neg).toBe(-5);
    expect(v.string_unicode).toBe("Grüße — 日本語 🍎");
    expect(v.escapes).toBe(`<a & b> "q" 'a'`);
    expect(v.date).toEqual(new Date("2026-11-26T23:45:03Z"));
    expect(Buffer.from(v.data as Uint8Array)).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v, "__proto__")?.value).toBe("not a prototype");
  });

  it("reads self-closing elements, comments, CDATA and character references", () => {
    const v = parseXmlPlist(
      `<?xml version="1.0"?><plist version="1.0"><!-- c --><dict><key>a</key><string/><key>b</key><true/>` +
        `<key>c</key><string><![CDATA[<x&y>]]>&#65;&#x42;</string><key>d</key><array/><key>e</key><dict/>` +
        `<key>f</key><real>nan</real><key>g</key><real>-infinity</real><key>h</key><integer>0x1F</integer></dict></plist>`,
    ) as Record<string, unknown>;
    expect(v.a).toBe("");
    expect(v.b).toBe(true);
    expect(v.c).toBe("<x&y>AB");
    expect(v.d).toEqual([]);
    expect(v.e).toEqual({});
    expect(v.f).toBeNaN();
    expect(v.g).toBe(-Infinity);
    expect(v.h).toBe(31);
  });

  const bad: Array<[string, string, RegExp, number, number]> = [
    ["not a plist root", `<dict></dict>`, /expected <plist>/, 1, 1],
    ["unknown element", `<plist>\n  <foo/></plist>`, /unknown plist element <foo>/, 2, 3],
    ["key without value", `<plist><dict><key>a</key></dict></plist>`, /<key>a<\/key> has no value/, 1, 26],
    ["value without key", `<plist><dict><string>a</string></dict></plist>`, /expected <key> in <dict>/, 1, 14],
    ["mismatched close", `<plist><array></dict></plist>`, /expected <\/array>, found <\/dict>/, 1, 15],
    ["bad integer", `<plist><integer>12a</integer></plist>`, /bad <integer> '12a'/, 1, 17],
    ["integer too large", `<plist><integer>18446744073709551616</integer></plist>`, /does not fit in 64 bits/, 1, 17],
    ["bad real", `<plist><real>1.2.3</real></plist>`, /bad <real>/, 1, 14],
    ["bad date", `<plist><date>yesterday</date></plist>`, /bad <date>/, 1, 14],
    ["bad base64", `<plist><data>!!!</data></plist>`, /bad base64/, 1, 14],
    ["bare ampersand", `<plist><string>a & b</string></plist>`, /entity reference/, 1, 18],
    ["unknown entity", `<plist><string>&nbsp;</string></plist>`, /unknown entity &nbsp;/, 1, 16],
    ["truncated", `<plist><dict><key>a</key><string>x`, /unexpected end of file/, 1, 34],
    ["trailing content", `<plist><true/></plist><x/>`, /after <\/plist>/, 1, 23],
    ["attributes on a value", `<plist><string a="1">x</string></plist>`, /unexpected attributes on <string>/, 1, 8],
  ];
  for (const [what, text, message, line, column] of bad) {
    it(`rejects ${what} with file, line and column`, () => {
      let error: unknown;
      try {
        parseXmlPlist(text, "bad.plist");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PlistError);
      const e = error as PlistError;
      expect(e.message).toMatch(message);
      expect(e.message.startsWith(`bad.plist:${line}:${column}: `)).toBe(true);
      expect([e.line, e.column]).toEqual([line, column]);
    });
  }
});

describe("binary plists", () => {
  for (const [bin, xml] of [
    ["managed.binary.plist", "managed.plist"],
    ["types.binary.plist", "types.plist"],
    ["large.binary.plist", "large.plist"],
  ]) {
    it(`reads ${bin} exactly as its XML twin`, () => {
      const fromBinary = parseBinaryPlist(fixture(bin), bin);
      expect(fromBinary).toEqual(parseXmlPlist(fixture(xml).toString("utf8")));
      expect(normalize(fromBinary)).toEqual(normalize(parseWithPackage(fixture(xml).toString("utf8"))));
    });
  }

  it("tells the forms apart by header", () => {
    expect(parsePlist(fixture("managed.binary.plist"))).toEqual(parsePlist(fixture("managed.plist")));
  });

  /**
   * Assembles a binary plist from hand-encoded objects: header, objects, offset table, trailer.
   * Widths are parameters so that the reader is tested beyond the minimal sizes writers pick.
   */
  function assemble(objects: number[][], opts: { top?: number; refSize?: number; offsetSize?: number } = {}): Uint8Array {
    const { top = 0, refSize = 1, offsetSize = 1 } = opts;
    const body: number[] = [...Buffer.from("bplist00", "latin1")];
    const offsets: number[] = [];
    for (const o of objects) {
      offsets.push(body.length);
      body.push(...o);
    }
    const tableOffset = body.length;
    for (const off of offsets) for (let i = offsetSize - 1; i >= 0; i--) body.push(Math.floor(off / 256 ** i) % 256);
    const trailer = Buffer.alloc(32);
    trailer[6] = offsetSize;
    trailer[7] = refSize;
    trailer.writeBigUInt64BE(BigInt(objects.length), 8);
    trailer.writeBigUInt64BE(BigInt(top), 16);
    trailer.writeBigUInt64BE(BigInt(tableOffset), 24);
    return new Uint8Array([...body, ...trailer]);
  }

  it("reads hand-assembled objects with wide offsets and references", () => {
    const bytes = assemble(
      [
        [0xd2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4], // dict of 2, 4-byte refs
        [0x51, 0x61], // "a"
        [0x62, 0x00, 0xe9, 0xd8, 0x3c], // UTF-16 "é" and a lone high surrogate
        [0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], // 8-byte signed -2
        [0xa3, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7], // array of 3
        [0x09],
        [0x22, 0x40, 0x49, 0x0f, 0xdb], // float32 pi
        [0x33, 0, 0, 0, 0, 0, 0, 0, 0], // 2001-01-01
      ],
      { refSize: 4, offsetSize: 3 },
    );
    // Object 1 is "a" (key), 2 "é\uD83C" (key), 3 -2, 4 the array.
    const v = parseBinaryPlist(bytes) as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(["a", "é\uD83C"]);
    expect(v.a).toBe(-2);
    const arr = v["é\uD83C"] as unknown[];
    expect(arr[0]).toBe(true);
    expect(arr[1]).toBeCloseTo(Math.PI, 6);
    expect(arr[2]).toEqual(new Date("2001-01-01T00:00:00Z"));
  });

  it("reads counts of 15 and more from the following integer object", () => {
    const data = Array.from({ length: 20 }, (_, i) => i);
    const v = parseBinaryPlist(assemble([[0x4f, 0x10, 20, ...data]]));
    expect(Array.from(v as Uint8Array)).toEqual(data);
  });

  it("reads UIDs as CF$UID objects", () => {
    expect(parseBinaryPlist(assemble([[0x81, 0x01, 0x02]]))).toEqual({ "CF$UID": 258 });
  });

  const bad: Array<[string, Uint8Array, RegExp]> = [
    ["a wrong header", new Uint8Array([...Buffer.from("bplist01"), ...new Array(40).fill(0)]), /header is 'bplist01'/],
    ["a short file", new Uint8Array(Buffer.from("bplist00")), /too short/],
    ["a reference cycle", assemble([[0xa1, 0x00]]), /reference cycle/],
    ["a reference past the object count", assemble([[0xa1, 0x05]]), /object reference 5 is not below the object count 1/],
    ["a string running past the objects", assemble([[0x5a, 0x61]]), /runs past the object area/],
    ["a non-string key", assemble([[0xd1, 1, 1], [0x10, 0x01]]), /dict key is not a string/],
    ["a null object", assemble([[0x00]]), /unsupported simple object 0x00/],
    ["an unknown marker", assemble([[0x70]]), /unknown object marker 0x70/],
    ["a top object out of range", assemble([[0x09]], { top: 3 }), /top object 3/],
    ["a zero reference size", assemble([[0x09]], { refSize: 0 }), /reference size 0 is not 1..8/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => parseBinaryPlist(bytes, "prefs.plist")).toThrow(PlistError);
      expect(() => parseBinaryPlist(bytes, "prefs.plist")).toThrow(message);
      expect(() => parseBinaryPlist(bytes, "prefs.plist")).toThrow(/^prefs\.plist \(byte \d+\): binary plist: /);
    });
  }

  it("rejects every truncation of a valid file without crashing", () => {
    const whole = fixture("types.binary.plist");
    for (let n = 0; n < whole.length; n++) {
      expect(() => parseBinaryPlist(whole.subarray(0, n))).toThrow(PlistError);
    }
  });

  it("never throws anything but PlistError on corrupted bytes", () => {
    const whole = fixture("managed.binary.plist");
    for (let i = 0; i < whole.length; i++) {
      for (const flip of [0x01, 0x10, 0x80, 0xff]) {
        const copy = Buffer.from(whole);
        copy[i] ^= flip;
        try {
          parseBinaryPlist(copy);
        } catch (e) {
          expect(e).toBeInstanceOf(PlistError);
        }
      }
    }
  });
});

describe("XML plists, corrupted", () => {
  it("never throws anything but PlistError, whatever is cut or changed", () => {
    const whole = fixture("types.plist").toString("utf8");
    const random = seededRandom(12345).int;
    const junk = ["<", ">", "&", "/", "\"", "<key>", "</dict>", "<![CDATA[", "-->", "&#x110000;", "\u0000", "é"];
    for (let i = 0; i < 1500; i++) {
      const at = random(whole.length);
      const variant =
        i % 3 === 0
          ? whole.slice(0, at)
          : i % 3 === 1
            ? whole.slice(0, at) + junk[random(junk.length)] + whole.slice(at)
            : whole.slice(0, at) + whole.slice(at + 1 + random(40));
      try {
        parseXmlPlist(variant);
      } catch (e) {
        expect(e).toBeInstanceOf(PlistError);
      }
    }
  });
});
