import { describe, expect, it } from "vitest";
import { closestName, editDistance } from "../../src/closestName.js";
import { createFieldSchema, typeFamily } from "../../src/eql/fieldSchema.js";

describe("edit distance", () => {
  it("counts insertions, deletions, substitutions and neighbour swaps as one edit each", () => {
    expect(editDistance("process.name", "process.name")).toBe(0);
    expect(editDistance("process.nmae", "process.name")).toBe(1);
    expect(editDistance("proces.name", "process.name")).toBe(1);
    expect(editDistance("process.namex", "process.name")).toBe(1);
    expect(editDistance("process.mame", "process.name")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("stops at the cap", () => {
    expect(editDistance("aaaaaaaa", "bbbbbbbb", 3)).toBe(3);
    expect(editDistance("abcdef", "abc", 2)).toBe(2);
  });
});

describe("closest name", () => {
  const names = ["process.name", "process.parent.name", "process.pid", "process.ppid", "user.name"];

  it("the nearest candidate within a quarter of the name's length (2 to 4 edits)", () => {
    expect(closestName("process.nmae", names)).toBe("process.name");
    expect(closestName("process.pib", names)).toBe("process.pid");
    expect(closestName("process.parnet.name", names)).toBe("process.parent.name");
    expect(closestName("host.name", names)).toBeUndefined();
    expect(closestName("a", ["b"])).toBe("b");
  });
});

describe("schema from a flat type map", () => {
  const schema = createFieldSchema({ "a.b.c": "long", "a.t": "text", "f": "flattened", "n": "nested", "n.x": "keyword", "o": "object" }, { o: "ip" });

  it("lookups, implicit parent objects, free sub-fields, nested ancestry", () => {
    expect(schema.lookup("a.b.c")).toEqual({ type: "long", family: "numeric" });
    expect(schema.lookup("a.b")).toEqual({ type: "object", family: "object" });
    expect(schema.lookup("a.t")?.family).toBe("text");
    expect(schema.lookup("f.any.thing")).toEqual({ type: "keyword", family: "string" });
    expect(schema.lookup("o.addr")).toEqual({ type: "ip", family: "ip" });
    expect(schema.lookup("n.x")).toEqual({ type: "keyword", family: "string", nestedIn: "n" });
    expect(schema.lookup("a.b.d")).toBeUndefined();
  });

  it("type families", () => {
    expect(["keyword", "constant_keyword", "wildcard"].map(typeFamily)).toEqual(["string", "string", "string"]);
    expect(["long", "scaled_float", "unsigned_long"].map(typeFamily)).toEqual(["numeric", "numeric", "numeric"]);
    expect(["geo_point", "nested", "binary", "integer_range"].map(typeFamily)).toEqual(["unsupported", "unsupported", "unsupported", "unsupported"]);
  });
});
