// Elasticsearch's own EQL QA suite (queries.toml + events.ndjson): every query must return exactly the
// expected serial_event_ids, in order, with events ordered by @timestamp then serial_event_id.
import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { compileQuery, compileQuerySet, runQuery, sortEvents, type EqlEvent, type Hit } from "../../src/eql/index.js";

const dir = new URL("../../../shared/eql-conformance/", import.meta.url);

interface ConformanceQuery {
  name: string;
  query: string;
  expected_event_ids: number[];
}

const suite = parse(readFileSync(new URL("queries.toml", dir), "utf8")) as unknown as { queries: ConformanceQuery[] };
const events = readFileSync(new URL("events.ndjson", dir), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as EqlEvent);
const ordered = sortEvents(events, { timestampField: "@timestamp", tiebreakerField: "serial_event_id" });

function ids(hits: Hit[]): number[] {
  return hits.flatMap((h) =>
    h.kind === "event" ? [h.event.serial_event_id as number] : h.events.map((e) => (e ? (e.serial_event_id as number) : -1)),
  );
}

describe("Elasticsearch EQL conformance suite", () => {
  it("has all 133 queries and 102 events", () => {
    expect(suite.queries).toHaveLength(133);
    expect(events).toHaveLength(102);
  });

  for (const q of suite.queries) {
    it(q.name, () => {
      const compiled = compileQuery(q.query, { tiebreakerField: "serial_event_id" });
      expect(ids(runQuery(compiled, ordered))).toEqual(q.expected_event_ids);
    });
  }

  it("all queries at once as a query set (shared tests, skipped idle sequences) give the same hits", () => {
    const set = compileQuerySet(suite.queries.map((q) => q.query), { tiebreakerField: "serial_event_id" });
    const matcher = set.newMatcher();
    const hits: Hit[][] = suite.queries.map(() => []);
    for (const event of ordered) for (const h of matcher.push(event)) hits[h.query].push(h.hit);
    for (const h of matcher.finish()) hits[h.query].push(h.hit);
    suite.queries.forEach((q, i) => expect(ids(hits[i]), q.name).toEqual(q.expected_event_ids));
    expect(matcher.stats()).toHaveLength(suite.queries.length);
  });
});
