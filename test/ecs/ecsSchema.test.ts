// The ECS field schema (generated from @elastic/ecs, plus macsensor's and Defend's own fields) and mapping files.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ecsFieldSchema, mappingFileSchema } from "../../src/ecs/ecsSchema.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { MacsensorError } from "../../src/errors.js";
import { exec, exit, fork, mapEsloggerFixture, testMapper } from "./helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("ECS field schema", () => {
  const ecs = ecsFieldSchema();

  it("has ECS's types, multi-fields and free object sub-fields", () => {
    expect(ecs.lookup("process.pid")).toEqual({ type: "long", family: "numeric" });
    expect(ecs.lookup("process.parent.name")).toEqual({ type: "keyword", family: "string" });
    expect(ecs.lookup("process.command_line")).toEqual({ type: "wildcard", family: "string" });
    expect(ecs.lookup("process.command_line.text")).toEqual({ type: "match_only_text", family: "text" });
    expect(ecs.lookup("source.ip")).toEqual({ type: "ip", family: "ip" });
    expect(ecs.lookup("@timestamp")).toEqual({ type: "date", family: "date" });
    expect(ecs.lookup("process.code_signature.trusted")).toEqual({ type: "boolean", family: "boolean" });
    expect(ecs.lookup("labels.anything")).toEqual({ type: "keyword", family: "string" });
    expect(ecs.lookup("process.parent")?.family).toBe("object");
    expect(ecs.lookup("process.nmae")).toBeUndefined();
  });

  it("has the fields macsensor and Elastic Defend add", () => {
    expect(ecs.lookup("process.Ext.ancestry")?.type).toBe("keyword");
    expect(ecs.lookup("process.Ext.effective_parent.executable")?.type).toBe("keyword");
    expect(ecs.lookup("process.Ext.effective_parent.pid")?.type).toBe("long");
    expect(ecs.lookup("user.Ext.real.id")?.type).toBe("keyword");
    expect(ecs.lookup("file.Ext.original.path")?.type).toBe("keyword");
    expect(ecs.lookup("macsensor.source")?.type).toBe("keyword");
    expect(ecs.lookup("macsensor.exit_signal")?.type).toBe("long");
  });

  it("suggests the closest known name", () => {
    expect(ecs.closest("process.nmae")).toBe("process.name");
    expect(ecs.closest("proces.parent.executable")).toBe("process.parent.executable");
    expect(ecs.closest("process.Ext.ancestory")).toBe("process.Ext.ancestry");
    expect(ecs.closest("zzzz.qqqq.wwww")).toBeUndefined();
  });

  it("knows every field the mapper writes, with a type its value fits", async () => {
    const mapper = testMapper();
    const docs: EcsEvent[] = [];
    for (const name of ["v2-exec.jsonl", "v6-session.jsonl", "v10-session.jsonl"]) docs.push(...(await mapEsloggerFixture(name)));
    docs.push(mapper.map(fork(300, 1)));
    docs.push(
      mapper.map(
        exec(300, {
          executable: "/bin/sh",
          args: ["sh", new Uint8Array([0xff, 0x41])],
          argsTruncated: true,
          executableTruncated: true,
          env: ["A=1"],
          cwd: "/tmp",
          tty: "/dev/ttys003",
          script: "/tmp/x.sh",
          pgid: 300,
          sid: 1,
          partial: "no argv",
          codeSignature: { signingId: "com.apple.sh", teamId: "", cdhash: "ab", flags: 1, platformBinary: true },
        }),
      ),
    );
    docs.push(mapper.map(exit(300, { exitStatus: 9 })));
    const seen = new Map<string, unknown>();
    const walk = (value: unknown, path: string): void => {
      if (Array.isArray(value)) return value.forEach((v) => walk(v, path));
      if (typeof value === "object" && value !== null) {
        for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
        return;
      }
      seen.set(path, value);
    };
    docs.forEach((d) => walk(d, ""));
    expect(seen.has("macsensor.raw_bytes.base64")).toBe(true);
    expect(seen.has("process.Ext.script.path")).toBe(true);
    const misfits: string[] = [];
    for (const [path, value] of seen) {
      const info = ecs.lookup(path);
      const fits =
        info !== undefined &&
        (typeof value === "number" ? info.family === "numeric" : typeof value === "boolean" ? info.family === "boolean" : ["string", "text", "date", "ip"].includes(info.family));
      if (!fits) misfits.push(`${path}=${JSON.stringify(value)} (${info?.type ?? "unknown"})`);
    }
    expect(misfits).toEqual([]);
  });

  it("is what @elastic/ecs gives (the generated file is up to date)", () => {
    const r = spawnSync(process.execPath, ["scripts/gen-ecs-field-types.mjs", "--check"], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("mapping files", () => {
  it("a flat object of field names to types", () => {
    const s = mappingFileSchema("map.json", '{"pid": "long", "process_name": "keyword"}');
    expect(s.lookup("pid")?.type).toBe("long");
    expect(s.label).toBe("map.json");
    expect(s.unknownReason).toBe("not in map.json");
    expect(s.closest("pib")).toBe("pid");
  });

  it("an Elasticsearch mapping, objects and multi-fields flattened", () => {
    const s = mappingFileSchema(
      "m.json",
      JSON.stringify({ mappings: { properties: { process: { properties: { pid: { type: "long" }, name: { type: "text", fields: { keyword: { type: "keyword" } } } } } } } }),
    );
    expect(s.lookup("process.pid")?.type).toBe("long");
    expect(s.lookup("process.name")?.type).toBe("text");
    expect(s.lookup("process.name.keyword")?.type).toBe("keyword");
    expect(s.lookup("process")?.family).toBe("object");
    expect(mappingFileSchema("p.json", '{"properties": {"a": {"type": "ip"}}}').lookup("a")?.type).toBe("ip");
  });

  it("bad files name the file and the field", () => {
    expect(() => mappingFileSchema("bad.json", "{")).toThrow(MacsensorError);
    expect(() => mappingFileSchema("bad.json", "{")).toThrow(/^bad\.json: not valid JSON/);
    expect(() => mappingFileSchema("bad.json", '{"pid": 3}')).toThrow("bad.json: the type of 'pid' must be a string, found 3");
    expect(() => mappingFileSchema("bad.json", '{"properties": {"a": {"index": false}}}')).toThrow("bad.json: mapping of 'a' has neither \"type\" nor \"properties\"");
    expect(() => mappingFileSchema("bad.json", "[]")).toThrow(/bad\.json: expected a JSON object/);
  });
});
