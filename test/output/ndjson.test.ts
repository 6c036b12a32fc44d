import { describe, expect, it } from "vitest";
import { toNdjsonLine } from "../../src/output/ndjson.js";

function parse(line: string): Record<string, unknown> {
  expect(line).not.toMatch(/[\n\r\u2028\u2029]/);
  return JSON.parse(line) as Record<string, unknown>;
}

const fromBase64 = (b64: string): number[] => [...Buffer.from(b64, "base64")];

describe("toNdjsonLine", () => {
  it("keeps every string exactly, on one line, whatever characters it holds", () => {
    const args = ["a\nb", "nul\u0000x", "\u001b[31mred\u001b[0m", "cr\rtab\t", "del\u007f c1\u0085\u009b", "ls\u2028ps\u2029", "lone\ud800 \udc00x", "ok \u{1F600} é"];
    const line = toNdjsonLine({ process: { args } });
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(parse(line)).toEqual({ process: { args } });
  });

  it("writes bytes (a Uint8Array in an array) as U+FFFD text in place and base64 under macsensor.raw_bytes", () => {
    const bad = new Uint8Array([0x2d, 0x64, 0xff, 0xfe, 0x0a, 0x00]);
    const doc = parse(toNdjsonLine({ process: { args: ["security", "dump-keychain", bad] } }));
    expect(doc.process).toEqual({ args: ["security", "dump-keychain", "-d\ufffd\ufffd\n\u0000"] });
    const rawBytes = (doc.macsensor as { raw_bytes: { field: string; index?: number; base64: string }[] }).raw_bytes;
    expect(rawBytes).toEqual([{ field: "process.args", index: 2, base64: Buffer.from(bad).toString("base64") }]);
    expect(fromBase64(rawBytes[0].base64)).toEqual([...bad]);
  });

  it("handles a Buffer in a plain field (never {\"type\":\"Buffer\"} or {\"0\":...}) and appends to existing raw_bytes", () => {
    const existing = { field: "process.executable", base64: "L2Jpbi//" };
    const line = toNdjsonLine({ process: { working_directory: Buffer.from([0x2f, 0xc3, 0x28]) }, macsensor: { raw_bytes: [existing], other: 1 } });
    expect(line).not.toContain('"type":"Buffer"');
    expect(line).not.toContain('"0":');
    const doc = parse(line);
    expect(doc.process).toEqual({ working_directory: "/\ufffd(" });
    expect(doc.macsensor).toEqual({ other: 1, raw_bytes: [existing, { field: "process.working_directory", base64: Buffer.from([0x2f, 0xc3, 0x28]).toString("base64") }] });
  });

  it("dots array positions inside the path into field (sequence events)", () => {
    const doc = parse(toNdjsonLine({ macsensor: { sequence: { events: [{}, { process: { args: ["x", new Uint8Array([0x80])] } }] } } }));
    expect((doc.macsensor as { raw_bytes: unknown }).raw_bytes).toEqual([{ field: "macsensor.sequence.events.1.process.args", index: 1, base64: "gA==" }]);
  });

  it("does not change its input, and returns JSON.stringify's text when there is nothing to fix", () => {
    const bytes = new Uint8Array([0xff]);
    const doc = { a: [1, "x", { b: bytes }], c: { d: null } };
    toNdjsonLine(doc);
    expect(doc.a[2]).toEqual({ b: bytes });
    expect(doc).not.toHaveProperty("macsensor");
    const plain = { "@timestamp": "2026-01-01T00:00:00Z", n: 1.5, t: true, s: "é", arr: [null, 2] };
    expect(toNdjsonLine(plain)).toBe(JSON.stringify(plain));
  });

  it("writes errors, bigints, dates, maps, sets and circular references as JSON", () => {
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    const error = new TypeError("bad thing");
    const doc = parse(
      toNdjsonLine({
        error,
        big: 2n ** 70n,
        small: 12n,
        when: new Date("2026-01-02T03:04:05.000Z"),
        invalid: new Date(NaN),
        map: new Map([["k", 1]]),
        set: new Set(["a", "b"]),
        circular,
        skipped: undefined,
        fn: () => 1,
      }),
    );
    expect(doc.error).toMatchObject({ type: "TypeError", message: "bad thing" });
    expect(String((doc.error as Record<string, unknown>).stack_trace)).toContain("bad thing");
    expect(doc.big).toBe("1180591620717411303424");
    expect(doc.small).toBe(12);
    expect(doc.when).toBe("2026-01-02T03:04:05.000Z");
    expect(doc.invalid).toBeNull();
    expect(doc.map).toEqual({ k: 1 });
    expect(doc.set).toEqual(["a", "b"]);
    expect(doc.circular).toEqual({ name: "loop", self: "[Circular]" });
    expect(doc).not.toHaveProperty("skipped");
    expect(doc).not.toHaveProperty("fn");
  });

  it("keeps a shared (non-circular) object in both places", () => {
    const shared = { pid: 1 };
    expect(parse(toNdjsonLine({ a: shared, b: [shared, shared] }))).toEqual({ a: { pid: 1 }, b: [{ pid: 1 }, { pid: 1 }] });
  });

  it("keeps 100 levels of nesting and cuts the 101st, noting the field; shared and circular objects as before", () => {
    const nest = (levels: number): unknown => {
      let v: unknown = "leaf";
      for (let i = 0; i < levels; i++) v = { k: v };
      return v;
    };
    const kept = parse(toNdjsonLine(nest(100)));
    expect(kept).toEqual(nest(100));
    const cut = parse(toNdjsonLine({ deep: nest(100) })) as { macsensor: { cut: unknown } };
    expect(cut.macsensor.cut).toEqual([{ field: ["deep", ...Array(99).fill("k")].join("."), reason: "nested deeper than 100 levels" }]);
    const loop: Record<string, unknown> = { name: "loop" };
    loop.self = loop;
    expect(parse(toNdjsonLine({ loop, deep: nest(200) }))).toMatchObject({ loop: { name: "loop", self: "[Circular]" }, macsensor: { cut: [{ reason: "nested deeper than 100 levels" }] } });
  });
});
