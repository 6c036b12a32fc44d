import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { compileQuery, type EqlEvent } from "../../src/eql/index.js";
import { buildPrefilter } from "../../src/rules/prefilter.js";
import { replayEvents } from "../../src/rules/replay.js";
import { RuleSet } from "../../src/rules/ruleSet.js";
import { parseRuleFile, type LoadedRule } from "../../src/rules/ruleFile.js";
import { seededRandom, type SeededRandom } from "../helpers/seededRandom.js";

function rule(query: string, id: string): LoadedRule {
  const r = parseRuleFile(
    `[rule]\nauthor = ["t"]\ndescription = "d"\nname = "R ${id}"\nrisk_score = 1\nrule_id = "${id}"\nseverity = "low"\ntype = "eql"\nquery = '''${query}'''\n`,
    "r.toml",
  );
  if (r.status !== "loaded") throw new Error(`${query}: ${JSON.stringify(r)}`);
  return r.rule;
}

// A small vocabulary, so that random rules and random events meet often; values double as key names.
const WORDS = ["curl", "sh", "start", "restart", "tart", "exec", "process", "file", "network", "end", "Curl", "-c", "/tmp/sh", "a/b", "start.sh", "shell", "5", "true"];
const STRING_FIELDS = ["process.name", "process.args", "process.parent.name", "file.path", "event.type", "event.action", "host.os.type"];
const CATEGORIES = ["process", "file", "network"];

function str(r: SeededRandom): string {
  return JSON.stringify(r.pick(WORDS));
}

function pattern(r: SeededRandom): string {
  const w = r.pick(WORDS);
  const shapes = [w, `*${w}*`, `${w}*`, `*${w}`, `${w.slice(0, 1)}?${w.slice(2)}`, `*${w.slice(0, 2)}*${w.slice(2)}`];
  return JSON.stringify(r.pick(shapes));
}

/** Fields whose texts are weak (the pre-filter's conjunctions), and short fragments, overlapping in the vocabulary. */
const WEAK_FIELDS = ["event.type", "event.action", "event.outcome"];

/** Ranges of `not cidrMatch` (IPv4, IPv6, single addresses) and addresses in and out of them, some non-canonical. */
const RANGES = ['"10.0.0.0/8"', '"192.168.0.0/16"', '"::1"', '"fe80::/10"', '"127.0.0.1"', '"0.0.0.0/0"', '"2001:db8::/32"', '"::ffff:10.0.0.0/104"', '"::/0"', '"::ffff:0:0/96"', '"10.1.2.3/32"', '"8.0.0.0/7"'];
const IP_FIELDS = ["destination.ip", "source.ip"];
const ADDRESSES = [
  "10.1.2.3", "192.168.1.1", "8.8.8.8", "::1", "fe80::1", "FE80::A", "fe80::1%en0", "2001:db8::1", "::ffff:10.0.0.1",
  "010.0.0.1", " 10.0.0.1", "10.0.0.1 ", "10.0.0", "127.0.0.1", "curl", "", "1.2.3.4.5", "9.255.255.255", "256.1.1.1",
  "1.2.3.0004", "10..0.1", "10.0.0.1.", "0.0.0.0", "255.255.255.255",
];

function ipValue(r: SeededRandom): unknown {
  switch (r.int(8)) {
    case 0:
      return [r.pick(ADDRESSES), r.pick(ADDRESSES)];
    case 1:
      return r.pick([[], [r.pick(ADDRESSES)], null, 167772161, { ip: r.pick(ADDRESSES) }, [null, r.pick(ADDRESSES)]]);
    default:
      return r.pick(ADDRESSES);
  }
}

/** Regexes with gaps, classes, optional parts and unions inside concatenations (their literal runs are needles). */
const REGEXES = [
  "-[a-z]*c[a-z]*", ".*/(tmp|b)/.*", "(https?|s)t.*", "s.+t", "c?url", "[st]art", "st(a|ar)rt", ".*(sh|SH)", "/tmp/s?h",
  "a/b|start\\..*", "(cu|s)(rl|h)", "t.*t.*", "~(curl)", "(ex|proc)e(c|ss)", "\"curl\"|.*sh", "5|tru[e]", ".*",
];

function leaf(r: SeededRandom, weak: boolean): string {
  if (r.int(8) === 0) {
    const ranges = Array.from({ length: 1 + r.int(3) }, () => r.pick(RANGES));
    return `not cidrMatch(${r.pick(IP_FIELDS)}, ${ranges.join(", ")})`;
  }
  const f = r.pick(weak ? WEAK_FIELDS : STRING_FIELDS);
  switch (r.int(11)) {
    case 0:
      return `${f} == ${str(r)}`;
    case 1:
      return `${f} : ${pattern(r)}`;
    case 2:
      return `${f} like~ (${pattern(r)}, ${pattern(r)})`;
    case 3:
      return `${f} in (${str(r)}, ${str(r)})`;
    case 4:
      return `${f} in~ (${str(r)})`;
    case 5:
      return `${f} : (${pattern(r)}, ${str(r)})`;
    case 6:
      switch (r.int(3)) {
        case 0:
          return `${f} regex~ ".*${r.pick(["sh", "c", "x"])}.*"`;
        case 1:
          return `${f} regex${r.pick(["", "~"])} "(${r.pick(WORDS)}|${r.pick(["s", "c", "ta"])}(rt|h|url))"`;
        default:
          return `${f} regex${r.pick(["", "~"])} ${JSON.stringify(r.pick(REGEXES))}`;
      }
    case 7:
      return `not ${f} : ${pattern(r)}`;
    case 8:
      return `stringContains(${f}, ${str(r)})`;
    case 9:
      return `${f} != ${str(r)}`;
    default:
      return `${f} == ${str(r)}`;
  }
}

function condition(r: SeededRandom, depth: number, weak: boolean): string {
  if (depth === 0 || r.int(3) === 0) return leaf(r, weak);
  const n = 2 + r.int(2);
  const parts = Array.from({ length: n }, () => condition(r, depth - 1, weak));
  return `(${parts.join(r.int(3) === 0 ? " or " : " and ")})`;
}

function query(r: SeededRandom, weak: boolean): string {
  const category = r.int(20) === 0 ? "any" : r.pick(CATEGORIES);
  const event = `${category} where ${condition(r, 2, weak)}`;
  if (r.int(5) !== 0) return event;
  return `sequence [${event}] [${r.pick(CATEGORIES)} where ${condition(r, 1, weak)}]`;
}

/** Event values also hold quotes and backslashes (written escaped), which no rule text does. */
const EVENT_WORDS = [...WORDS, 'say "sh"', "a\\b\\curl", '"curl"'];

function value(r: SeededRandom): unknown {
  const w = r.int(10) === 0 ? r.pick(EVENT_WORDS) : r.pick(WORDS);
  switch (r.int(6)) {
    case 0:
      return [w, r.pick(WORDS)];
    case 1:
      return w.toUpperCase();
    case 2:
      return [w];
    default:
      return w;
  }
}

function event(r: SeededRandom): EqlEvent {
  const e: Record<string, unknown> = { "@timestamp": "2026-11-26T10:00:00.000Z" };
  const set = (path: string, v: unknown): void => {
    const keys = path.split(".");
    // Sometimes flattened keys ("process.name"), as some shippers write them.
    if (r.int(6) === 0) {
      e[path] = v;
      return;
    }
    let node = e;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = v;
  };
  const category = r.pick(CATEGORIES);
  set("event.category", r.int(3) === 0 ? category : [category]);
  for (const f of [...STRING_FIELDS, ...WEAK_FIELDS]) if (r.int(2) === 0) set(f, value(r));
  for (const f of IP_FIELDS) if (r.int(3) !== 0) set(f, ipValue(r));
  // Words as keys: `"start":` must not count as the value "start".
  if (r.int(2) === 0) set(`process.${r.pick(["start", "exec", "network", "curl"])}`, r.pick(["x", 1, true]));
  return e;
}

/**
 * The event as one JSON line, written as other shippers might: keys in any order, white space around `:` and `,`,
 * and (when `escapes`) characters of keys and values written as \\u escapes. JSON.parse gives the event back.
 */
function serialize(v: unknown, r: SeededRandom, loose: boolean, escapes: boolean): string {
  const sp = (): string => (loose && r.int(3) === 0 ? r.pick([" ", "  ", "\t"]) : "");
  if (typeof v === "string") {
    let out = '"';
    for (const ch of v) {
      if (ch === '"' || ch === "\\") out += `\\${ch}`;
      else if (escapes && r.int(6) === 0) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
      else out += ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(v)) return `[${sp()}${v.map((x) => serialize(x, r, loose, escapes)).join(`${sp()},${sp()}`)}${sp()}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    const fields = entries.map(([k, x]) => `${serialize(k, r, loose, escapes)}${sp()}:${sp()}${serialize(x, r, loose, escapes)}`);
    return `{${sp()}${fields.join(`${sp()},${sp()}`)}${sp()}}`;
  }
  return JSON.stringify(v);
}

/** Whether the event is one a condition of the query matches (an event query, or any stage of a sequence). */
function stageTests(source: string): ((e: EqlEvent) => boolean)[] {
  const q = compileQuery(source);
  const body = q.ast.body;
  if (body.kind === "event") return [q.test as (e: EqlEvent) => boolean];
  return [...body.stages, ...(body.until ? [body.until] : [])].map((s) => {
    const text = source.slice(s.query.start, s.query.end);
    return compileQuery(text).test as (e: EqlEvent) => boolean;
  });
}

describe("replay pre-filter soundness", () => {
  it("never skips a line that a random rule's condition matches", () => {
    const r = seededRandom(1404);
    let checked = 0;
    let skipped = 0;
    for (let round = 0; round < 120; round++) {
      // Every other round, rules with weak texts only: lines are then decided by the conjunctions.
      // Some rounds with many rules: past 64 texts the scanner reads every line with the automaton alone.
      const sources = Array.from({ length: round % 4 === 0 ? 60 : 1 + r.int(6) }, () => query(r, round % 2 === 1));
      const rules = sources.map((s, i) => rule(s, `r${i}`));
      const filter = buildPrefilter(rules);
      // Every stage counts (a sequence's later stages only while it holds a started sequence: as if all did).
      rules.forEach((_, i) => filter?.setSequenceHoldsState(i, true));
      const tests = sources.flatMap(stageTests);
      const events = Array.from({ length: 80 }, () => event(r));
      const lines = events.map((e) => {
        const style = r.int(4);
        const line = style === 0 ? JSON.stringify(e) : serialize(e, r, style !== 1, style === 3);
        expect(JSON.parse(line)).toEqual(e);
        return line;
      });
      const blockDecisions = new Set<number>();
      if (filter) {
        // The block scanner must decide every line as the per-line test does.
        const text = lines.join("\n");
        const starts: number[] = [];
        for (let i = 0, at = 0; i < lines.length; at += lines[i].length + 1, i++) starts.push(at);
        for (const offset of filter.candidates(Buffer.from(text))) {
          let line = starts.length - 1;
          while (starts[line] > offset) line--;
          blockDecisions.add(line);
        }
      }
      events.forEach((e, i) => {
        const may = filter === undefined || filter.mayMatch(lines[i]);
        if (filter) expect(blockDecisions.has(i), lines[i]).toBe(may);
        if (!may) skipped++;
        for (let t = 0; t < tests.length; t++) {
          if (!tests[t](e)) continue;
          checked++;
          expect(may, `${sources.join("\n")}\n${lines[i]}`).toBe(true);
        }
      });
    }
    // The run is only a check if it saw many matching lines and skipped many others.
    expect(checked).toBeGreaterThan(300);
    expect(skipped).toBeGreaterThan(300);
  }, 180_000); // the machine is shared: ample time, not a speed check
});

/** A random sequence rule: 2-3 stages (some missing-event or with runs), sometimes maxspan and until. */
function sequenceQuery(r: SeededRandom): string {
  const stage = (): string => `[${r.pick(CATEGORIES)} where ${condition(r, 1, false)}]`;
  const stages: string[] = [stage()];
  for (let i = 1 + r.int(2); i > 0; i--) {
    const k = r.int(6);
    stages.push(k === 0 ? `!${stage()}` : k === 1 ? `${stage()} with runs=2` : stage());
  }
  if (r.int(5) === 0) stages.unshift(`!${stage()}`);
  const span = r.int(2) === 0 ? " with maxspan=30s" : "";
  const until = r.int(4) === 0 ? ` until ${stage()}` : "";
  return `sequence by process.entity_id${span} ${stages.join(" ")}${until}`;
}

describe("replay with later sequence stages gated on started sequences", () => {
  it("gives the same alerts with and without the pre-filter over random sequences and event streams", async () => {
    const r = seededRandom(2207);
    let alerts = 0;
    for (let round = 0; round < 40; round++) {
      const sources = Array.from({ length: 1 + r.int(4) }, () => (r.int(4) === 0 ? query(r, false) : sequenceQuery(r)));
      const rules = sources.map((s, i) => rule(s, `s${i}`));
      let t = Date.parse("2026-11-26T10:00:00.000Z");
      const lines = Array.from({ length: 300 }, () => {
        const e = event(r) as Record<string, unknown>;
        t += r.int(8000);
        e["@timestamp"] = new Date(t).toISOString();
        const process = (e.process ??= {}) as Record<string, unknown>;
        process.entity_id = r.pick(["e1", "e2", "e3"]);
        return JSON.stringify(e);
      });
      const run = async (prefilter: boolean): Promise<string[]> => {
        const out: EcsEvent[] = [];
        await replayEvents({
          input: Readable.from([Buffer.from(lines.join("\n"))]),
          rules: new RuleSet(rules),
          sink: { write: (a) => void out.push(a) },
          prefilter,
          now: () => new Date("2026-11-26T12:00:00.000Z"),
        });
        // Each alert has a random id of its own.
        return out.map((a) => JSON.stringify(a).replace(/"id":"[0-9a-f-]{36}"/, ""));
      };
      const [on, off] = [await run(true), await run(false)];
      expect(on, sources.join("\n")).toEqual(off);
      alerts += off.length;
    }
    // Only a check if sequences completed.
    expect(alerts).toBeGreaterThan(50);
  }, 180_000);
});
