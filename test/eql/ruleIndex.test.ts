import { describe, expect, it } from "vitest";
import { compileQuery, compileQuerySet, parseQuery, runQuery, type EqlEvent, type EventQuery, type Hit } from "../../src/eql/index.js";
import { CandidateIndex, type IndexedCondition } from "../../src/eql/ruleIndex.js";
import { seededRandom, type SeededRandom } from "../helpers/seededRandom.js";

function conditionsOf(sources: readonly string[]): IndexedCondition[] {
  return sources.flatMap((s) => {
    const body = parseQuery(s).body;
    const qs: EventQuery[] = body.kind === "event" ? [body] : body.stages.map((st) => st.query);
    return qs.map((q) => ({ condition: q.condition, category: q.category === null ? undefined : { field: "event.category", value: q.category } }));
  });
}

function candidates(index: CandidateIndex, size: number, event: EqlEvent): number[] {
  const out = new Int32Array(size);
  const n = index.collect(event, out);
  return [...out.subarray(0, n)].sort((a, b) => a - b);
}

const WORDS = ["curl", "Curl", "sh", "bash", "/tmp/x.sh", "/TMP/y", "keychain", "start", "exec", "5", "", "\u212Aeychain"];
const FIELDS = ["process.name", "process.args", "file.path", "event.action", "event.type"];

function pattern(r: SeededRandom): string {
  const w = r.pick(WORDS);
  return JSON.stringify(r.pick([w, `*${w}*`, `${w}*`, `*${w}`, `?${w.slice(1)}*`]));
}

function leaf(r: SeededRandom): string {
  const f = r.pick(FIELDS);
  const w = () => JSON.stringify(r.pick(WORDS));
  return r.pick([`${f} == ${w()}`, `${f} : ${pattern(r)}`, `${f} like~ (${pattern(r)}, ${pattern(r)})`, `${f} like ${pattern(r)}`, `${f} in (${w()}, ${w()})`, `${f} in~ (${w()})`, `not ${f} : ${pattern(r)}`, `${f} regex~ ".*sh"`]);
}

function query(r: SeededRandom): string {
  const parts = Array.from({ length: 1 + r.int(3) }, () => leaf(r));
  const cond = parts.join(r.int(4) === 0 ? " or " : " and ");
  const event = `${r.pick(["process", "file", "any"])} where ${cond}`;
  return r.int(6) === 0 ? `sequence [${event}] [process where ${leaf(r)}]` : event;
}

function value(r: SeededRandom): unknown {
  return r.pick([r.pick(WORDS), r.pick(WORDS).toUpperCase(), [r.pick(WORDS), r.pick(WORDS)], 5, true, null, [["curl"]], { a: 1 }, [null, "sh"]]);
}

function event(r: SeededRandom, t: number): EqlEvent {
  const e: Record<string, unknown> = { "@timestamp": t, event: { category: r.int(3) === 0 ? "process" : [r.pick(["process", "file"])] } };
  for (const f of FIELDS) {
    if (r.int(2) === 0) continue;
    const [a, b] = f.split(".");
    if (r.int(5) === 0) e[f] = value(r);
    else ((e[a] ??= {}) as Record<string, unknown>)[b] = value(r);
  }
  return e;
}

describe("the candidate index", () => {
  it("never leaves out a condition the event satisfies (random rules and events)", () => {
    const r = seededRandom(77);
    let matched = 0;
    for (let round = 0; round < 40; round++) {
      const sources = Array.from({ length: 2 + r.int(10) }, () => query(r));
      const events = Array.from({ length: 60 }, (_, i) => event(r, i));
      const m = compileQuerySet(sources).newMatcher();
      const got: Hit[][] = sources.map(() => []);
      for (const ev of events) for (const h of m.push(ev)) got[h.query].push(h.hit);
      for (const h of m.finish()) got[h.query].push(h.hit);
      const alone = sources.map((src) => runQuery(compileQuery(src), events));
      expect(got, sources.join("\n")).toEqual(alone);
      matched += alone.reduce((n, h) => n + h.length, 0);
    }
    expect(matched).toBeGreaterThan(200);
  });

  it("files each condition under its most selective requirement: exact values, substrings, action, category", () => {
    const sources = [
      'process where host.os.type == "macos" and event.type == "start" and process.name : "security"',
      'process where host.os.type == "macos" and process.executable : ("/private/tmp/*", "/Users/Shared/*")',
      'process where host.os.type == "macos" and event.action == "exec" and process.args regex ".*x"',
      'file where host.os.type == "macos" and not file.path : "/tmp/*"',
      "any where true",
    ];
    const index = new CandidateIndex(conditionsOf(sources));
    const exec = (name: string, executable: string, action = "exec") => ({ event: { category: ["process"], action }, host: { os: { type: "macos" } }, process: { name, executable } });
    expect(candidates(index, 5, exec("ls", "/bin/ls", "fork"))).toEqual([4]);
    expect(candidates(index, 5, exec("SECURITY", "/usr/bin/security"))).toEqual([0, 2, 4]);
    expect(candidates(index, 5, exec("x", "/Users/shared/x", "fork"))).toEqual([1, 4]);
    expect(candidates(index, 5, { event: { category: ["file"] } })).toEqual([3, 4]);
  });

  it("finds substrings that share a start or overlap in one value", () => {
    const sources = ['process where process.executable : "*keych*"', 'process where process.executable : "*keychains*"', 'process where process.executable : "*chains*"'];
    const index = new CandidateIndex(conditionsOf(sources));
    expect(candidates(index, 3, { process: { executable: "/Library/KEYCHAINS/x" } })).toEqual([0, 1, 2]);
    expect(candidates(index, 3, { process: { executable: ["a", "/keychain"] } })).toEqual([0]);
  });

  it("does not scan a huge value for substrings: every condition filed under that field is a candidate", () => {
    const sources = ['process where process.command_line : "*keych*"', 'process where process.command_line : "*chains*"'];
    const index = new CandidateIndex(conditionsOf(sources));
    expect(candidates(index, 2, { process: { command_line: "x".repeat(1000) } })).toEqual([]);
    // An attacker's 1 MB command line (or 16k arguments) costs no extra pass: the rules read it anyway.
    expect(candidates(index, 2, { process: { command_line: "x".repeat(20_000) } })).toEqual([0, 1]);
    expect(candidates(index, 2, { process: { command_line: Array.from({ length: 400 }, () => "y".repeat(64)) } })).toEqual([0, 1]);
    expect(candidates(index, 2, { process: { command_line: ["ab", "/keychains"] } })).toEqual([0, 1]);
  });

  it("an event collects only the rules filed under its values, however many others are loaded", () => {
    const names = Array.from({ length: 2000 }, (_, i) => `tool${i}`);
    const sources = names.map((n) => `process where event.type == "start" and process.name == "${n}" and process.args : "*-x*"`);
    const index = new CandidateIndex(conditionsOf(sources));
    expect(candidates(index, sources.length, { event: { type: ["start"] }, process: { name: "tool1234" } })).toEqual([1234]);
    expect(candidates(index, sources.length, { event: { type: ["start"] }, process: { name: "ls" } })).toEqual([]);
  });
});
