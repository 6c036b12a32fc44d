import { describe, expect, it } from "vitest";
import { compileQuery } from "../../src/eql/index.js";

// Elastic ships single-stage sequences such as `sequence by host.id with maxspan=1m [process where ...] with runs=5`
// (credential_access_high_volume_of_pbpaste.toml); Elasticsearch counts the repeated events as stages.
describe("a single stage repeated with runs", () => {
  const query = 'sequence by host.id with maxspan=1m [process where process.name == "pbpaste"] with runs=3';
  const event = (t: number, host = "h1") => ({ "@timestamp": t, event: { category: ["process"] }, host: { id: host }, process: { name: "pbpaste" } });

  it("compiles and matches three events of one key within the span", () => {
    const m = compileQuery(query).newMatcher();
    expect(m.push(event(0))).toEqual([]);
    expect(m.push(event(1000, "h2"))).toEqual([]);
    expect(m.push(event(2000))).toEqual([]);
    const hits = m.push(event(3000));
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ kind: "sequence", joinKeys: ["h1"] });
    expect(hits[0].kind === "sequence" && hits[0].events.map((e) => e?.["@timestamp"])).toEqual([0, 2000, 3000]);
  });

  it("does not match when the span is exceeded", () => {
    const m = compileQuery(query).newMatcher();
    m.push(event(0));
    m.push(event(30_000));
    expect(m.push(event(61_000))).toEqual([]);
  });

  it("still refuses one event", () => {
    expect(() => compileQuery('sequence [process where true]')).toThrow(/at least 2 stages \(counting 'with runs'\), found 1/);
  });
});
