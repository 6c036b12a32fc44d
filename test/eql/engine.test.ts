// compileQuery's contract: what it returns for event and sequence queries, options, pipes, streaming.
import { describe, expect, it } from "vitest";
import { compileQuery, compileQuerySet, EqlSemanticError, EqlSyntaxError, runQuery, type EqlEvent, type Hit } from "../../src/eql/index.js";

const proc = (name: string, extra: Record<string, unknown> = {}): EqlEvent => ({
  "@timestamp": "2026-01-01T00:00:00Z",
  event: { category: ["process"], type: ["start"] },
  process: { name },
  ...extra,
});

describe("event queries", () => {
  it("exposes source, ast, isSequence and a test that includes the category", () => {
    const q = compileQuery('process where process.name == "ls"');
    expect(q.source).toBe('process where process.name == "ls"');
    expect(q.isSequence).toBe(false);
    expect(q.ast.body.kind).toBe("event");
    expect(q.test?.(proc("ls"))).toBe(true);
    expect(q.test?.(proc("cat"))).toBe(false);
    expect(q.test?.({ event: { category: ["file"] }, process: { name: "ls" } })).toBe(false);
    expect(q.test?.({ process: { name: "ls" } })).toBe(false);
  });

  it("matches the category as a string or any element of an array", () => {
    const q = compileQuery("file where true");
    expect(q.test?.({ event: { category: "file" } })).toBe(true);
    expect(q.test?.({ event: { category: ["process", "file"] } })).toBe(true);
    expect(q.test?.({ event: { category: ["File"] } })).toBe(false);
    expect(q.test?.({ "event.category": "file" })).toBe(true);
  });

  it("any matches every event, with or without a category", () => {
    const q = compileQuery("any where true");
    expect(q.test?.({})).toBe(true);
    expect(q.test?.(proc("x"))).toBe(true);
  });

  it("honours categoryField", () => {
    const q = compileQuery("process where true", { categoryField: "event_type" });
    expect(q.test?.({ event_type: "process" })).toBe(true);
    expect(q.test?.(proc("x"))).toBe(false);
  });

  it("a matcher returns event hits at once", () => {
    const m = compileQuery('process where process.name : "L*"').newMatcher();
    const ev = proc("ls");
    expect(m.push(ev)).toEqual([{ kind: "event", event: ev }]);
    expect(m.push(proc("cat"))).toEqual([]);
    expect(m.finish()).toEqual([]);
    expect(m.stats()).toEqual({ pendingSequences: 0, pendingBytes: 0, evictedSequences: 0, evictedMissingEvents: 0, expiredSequences: 0 });
  });

  it("head N passes the first N hits; tail N releases the last N at finish", () => {
    const events = ["a", "b", "c", "d"].map((n) => proc(n));
    const names = (q: string) => runQuery(compileQuery(q), events).map((h) => (h.kind === "event" ? (h.event.process as { name: string }).name : "?"));
    expect(names("process where true | head 2")).toEqual(["a", "b"]);
    expect(names("process where true | tail 2")).toEqual(["c", "d"]);
    expect(names("process where true | head 3 | tail 2")).toEqual(["b", "c"]);
    expect(names("process where true | tail 3 | head 1")).toEqual(["b"]);
    expect(names("process where true | head 0")).toEqual([]);
    const m = compileQuery("process where true | tail 1").newMatcher();
    expect(m.push(events[0])).toEqual([]);
    expect(m.finish()).toHaveLength(1);
  });

  it("each matcher has its own pipe state", () => {
    const q = compileQuery("process where true | head 1");
    const m1 = q.newMatcher();
    const m2 = q.newMatcher();
    expect(m1.push(proc("a"))).toHaveLength(1);
    expect(m1.push(proc("b"))).toHaveLength(0);
    expect(m2.push(proc("c"))).toHaveLength(1);
  });
});

describe("sequence queries", () => {
  it("have no test and report isSequence", () => {
    const q = compileQuery("sequence [process where true] [file where true]");
    expect(q.isSequence).toBe(true);
    expect(q.test).toBeUndefined();
    expect(q.ast.body.kind).toBe("sequence");
  });
});

describe("errors", () => {
  it("syntax errors are EqlSyntaxError, semantic ones EqlSemanticError, both at compile time", () => {
    expect(() => compileQuery("process where")).toThrow(EqlSyntaxError);
    expect(() => compileQuery("process where nope(1)")).toThrow(EqlSemanticError);
  });

  it("matchers never throw on odd event data", () => {
    const q = compileQuery('process where length(process.name) > 1 and process.pid / process.zero == 1 or process.args : "x*" or cidrMatch(ip, "10.0.0.0/8")');
    const m = q.newMatcher();
    const odd: EqlEvent[] = [
      {},
      { event: { category: "process" }, process: null },
      { event: { category: ["process"] }, process: { name: 5, pid: "x", args: [null, [1, ["x1"]], { a: 1 }] }, ip: 7 },
      { event: { category: [null, "process"] }, process: { name: ["a", "bb"], args: "x" }, ip: ["10.1.1.1", null] },
    ];
    for (const ev of odd) expect(() => m.push(ev)).not.toThrow();
  });
});

describe("query sets", () => {
  it("give each query the hits its own matcher gives, tagged with the query's index", () => {
    const sources = [
      'process where process.name == "a"',
      'process where process.name == "a" and host == "h1"',
      "process where true | head 2",
      'sequence by host [process where process.name == "a"] [process where process.name == "b"]',
      'sequence by host with maxspan=10s [process where process.name == "a"] ![process where process.name == "x"]',
    ];
    const events: EqlEvent[] = [
      { "@timestamp": 0, event: { category: "process" }, process: { name: "a" }, host: "h1" },
      { "@timestamp": 1000, event: { category: "process" }, process: { name: "c" }, host: "h1" },
      { "@timestamp": 2000, event: { category: "process" }, process: { name: "b" }, host: "h1" },
      { "@timestamp": 3000, event: { category: "process" }, process: { name: "a" }, host: "h2" },
      { "@timestamp": 4000, event: { category: "process" }, process: { name: "x" }, host: "h2" },
      { "@timestamp": 30000, event: { category: "file" } },
    ];
    const set = compileQuerySet(sources, { timestampField: "@timestamp" });
    expect(set.queries.map((q) => q.source)).toEqual(sources);
    const m = set.newMatcher();
    const got: Hit[][] = sources.map(() => []);
    for (const ev of events) for (const h of m.push(ev)) got[h.query].push(h.hit);
    for (const h of m.finish()) got[h.query].push(h.hit);
    const alone = sources.map((src) => runQuery(compileQuery(src), events));
    expect(got).toEqual(alone);
    expect(got.map((h) => h.length)).toEqual([2, 1, 2, 1, 1]);
  });

  it("the value index (rules requiring exact values of one field) loses no hit", () => {
    const sources = [
      'process where process.name == "curl"',
      'process where process.name in ("curl", "wget") and process.pid > 1',
      'process where process.name : "OSASCRIPT"',
      'process where process.name like~ ("bash", "ZSH") and not process.args : "-c"',
      'process where process.name in~ ("Security")',
      'process where process.name == "5"',
      "process where process.pid == 7",
      'sequence by process.pid [process where process.name == "curl"] [process where process.name == "chmod"]',
    ];
    const names: unknown[] = ["curl", "CURL", "wget", "osascript", "Bash", "zsh", "security", "chmod", 5, "5", null, ["x", "curl"], ["chmod", null], [1, "wget"], [["curl"]], { a: 1 }];
    const events: EqlEvent[] = [];
    names.forEach((name, i) => {
      events.push({ "@timestamp": i * 1000, event: { category: "process" }, process: { name, pid: 7, args: i % 2 ? ["-c"] : ["x"] } });
      events.push({ "@timestamp": i * 1000 + 1, event: { category: "process" }, process: { pid: 7 } });
    });
    const m = compileQuerySet(sources).newMatcher();
    const got: Hit[][] = sources.map(() => []);
    for (const ev of events) for (const h of m.push(ev)) got[h.query].push(h.hit);
    for (const h of m.finish()) got[h.query].push(h.hit);
    const alone = sources.map((src) => runQuery(compileQuery(src), events));
    expect(got).toEqual(alone);
    expect(got.map((h) => h.length)).toEqual([3, 5, 1, 1, 1, 2, 32, 2]);
  });

  it("a condition several queries share is one slot: each query still gets its hits, in query order", () => {
    const network = 'network where not cidrMatch(destination.ip, "10.0.0.0/8")';
    const sources = [
      network,
      'process where process.name == "a"',
      `sequence by process.entity_id [process where process.name == "a"] [${network}]`,
      `sequence by process.entity_id with maxspan=1m [process where process.name : "a"] [${network}]`,
      `sequence by process.entity_id [process where process.name == "b"] [${network}]`,
      `any where not cidrMatch(destination.ip, "10.0.0.0/8")`,
    ];
    const networkEvent = (id: string, ip: string): EqlEvent => ({
      "@timestamp": 2000,
      event: { category: "network" },
      process: { entity_id: id },
      destination: { ip },
    });
    const events: EqlEvent[] = [
      { "@timestamp": 1000, event: { category: "process" }, process: { name: "a", entity_id: "p1" } },
      networkEvent("p1", "8.8.8.8"),
      networkEvent("p1", "10.1.1.1"),
      networkEvent("p2", "8.8.4.4"),
    ];
    const m = compileQuerySet(sources).newMatcher();
    const order: number[] = [];
    const got: Hit[][] = sources.map(() => []);
    for (const ev of events) {
      for (const h of m.push(ev)) {
        got[h.query].push(h.hit);
        order.push(h.query);
      }
    }
    for (const h of m.finish()) got[h.query].push(h.hit);
    expect(got).toEqual(sources.map((src) => runQuery(compileQuery(src), events)));
    expect(got.map((h) => h.length)).toEqual([2, 1, 1, 1, 0, 2]);
    expect(order).toEqual([1, 0, 2, 3, 5, 0, 5]);

    // A shared slot's later owner comes after a query between its owners that the event also matches.
    const interleaved = compileQuerySet([network, 'network where destination.ip : "8.*"', network]).newMatcher();
    expect(interleaved.push(networkEvent("p1", "8.8.8.8")).map((h) => h.query)).toEqual([0, 1, 2]);
  });

  it("a condition several queries share is tested once per event", () => {
    const network = 'network where not cidrMatch(destination.ip, "10.0.0.0/8")';
    const sources = [
      network,
      `sequence by process.entity_id [process where process.name == "a"] [${network}]`,
      `sequence by process.entity_id [process where process.name == "b"] [ ${network}]`,
      `any where not cidrMatch(destination.ip, "10.0.0.0/8")`,
    ];
    let reads = 0;
    const m = compileQuerySet(sources).newMatcher();
    for (let i = 0; i < 3; i++) {
      m.push({
        event: { category: "network" },
        process: { entity_id: "p1" },
        destination: {
          get ip() {
            reads++;
            return "8.8.8.8";
          },
        },
      });
    }
    // Per event: one read for the three network conditions, one for the `any where` one (another category).
    expect(reads).toBe(2 * 3);
  });

  it("conditions that differ in more than source offsets stay apart", () => {
    const sources = [
      "process where process.pid / 2 == 1",
      "process where process.pid / 2.0 == 1",
      "any where process.pid / 2 == 1",
      "process where process.pid > -0.0",
      "process where process.pid > 0.0",
      "process where ?process.pid == null",
      "process where process.pid == null",
    ];
    const events: EqlEvent[] = [
      { event: { category: "process" }, process: { pid: 3 } },
      { event: { category: "file" }, process: { pid: 2 } },
      { event: { category: "process" }, process: { pid: 0 } },
      { event: { category: "process" } },
    ];
    const m = compileQuerySet(sources).newMatcher();
    const got: Hit[][] = sources.map(() => []);
    for (const ev of events) for (const h of m.push(ev)) got[h.query].push(h.hit);
    expect(got).toEqual(sources.map((src) => runQuery(compileQuery(src), events)));
    expect(got.map((h) => h.length)).toEqual([1, 0, 2, 1, 1, 1, 1]);
  });

  it("reports the first bad query as compileQuery does", () => {
    expect(() => compileQuerySet(["process where true", "process where nope()"])).toThrow(EqlSemanticError);
  });
});

describe("robustness", () => {
  it("no query of the conformance suite throws on randomly mangled events, alone or as a set", async () => {
    const { readFileSync } = await import("node:fs");
    const { parse } = await import("smol-toml");
    const dir = new URL("../../../shared/eql-conformance/", import.meta.url);
    const suite = parse(readFileSync(new URL("queries.toml", dir), "utf8")) as unknown as { queries: { query: string }[] };
    const base = readFileSync(new URL("events.ndjson", dir), "utf8").trim().split("\n").map((l) => JSON.parse(l) as EqlEvent);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const oddValues: unknown[] = [null, "", "x", -1, 0, 1.5, NaN, true, [], [null], ["a", 2, [3, ["b"]]], { a: 1 }, [{ b: 2 }], "2017-08-30T20:47:31.000Z", "10.0.0.1", "::1"];
    const mangled = base.flatMap((e) =>
      Array.from({ length: 3 }, () => {
        const copy: EqlEvent = structuredClone(e);
        for (const key of Object.keys(copy)) if (rand() < 0.3) copy[key] = oddValues[Math.floor(rand() * oddValues.length)];
        return copy;
      }),
    );
    const sources = suite.queries.map((q) => q.query);
    for (const src of sources) {
      const m = compileQuery(src, { tiebreakerField: "serial_event_id" }).newMatcher();
      for (const ev of mangled) expect(() => m.push(ev), src).not.toThrow();
      expect(() => m.finish()).not.toThrow();
    }
    const set = compileQuerySet(sources).newMatcher();
    for (const ev of mangled) set.push(ev);
    expect(() => set.finish()).not.toThrow();
  });
});
