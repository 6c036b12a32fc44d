// Generated predicates: factories are shared between compilations of the same text, state and constants are not.
import { describe, expect, it } from "vitest";
import { factoriesMade } from "../../src/eql/codegen.js";
import { compileQuery, compileQuerySet, type EqlEvent } from "../../src/eql/index.js";

const proc = (name: string): EqlEvent => ({ "@timestamp": "2026-01-01T00:00:00Z", event: { category: ["process"] }, process: { name } });

describe("generated code", () => {
  it("compiling the same text again reuses its factory (warm code), with the new compilation's constants", () => {
    // Long case-insensitive `:` lists become a constant matcher: both queries have the same code, other constants.
    const list = (...names: string[]) => names.concat(Array.from({ length: 20 }, (_, i) => `${names[0]}${i}`)).map((n) => `"${n}"`).join(", ");
    const curl = compileQuery(`process where process.name : (${list("curl", "wget")}) and process.name != "x"`);
    const before = factoriesMade();
    const ls = compileQuery(`process where process.name : (${list("ls", "cat")}) and process.name != "x"`);
    expect(factoriesMade()).toBe(before);
    expect([curl.test!(proc("CURL")), curl.test!(proc("ls"))]).toEqual([true, false]);
    expect([ls.test!(proc("CURL")), ls.test!(proc("Ls"))]).toEqual([false, true]);
  });

  it("two matchers of the same rule set compiled twice keep their own per-event state", () => {
    const sources = ['process where process.name == "a" and process.name != "z"', 'process where process.name : ("a", "b") and process.name != "z"'];
    const one = compileQuerySet(sources).newMatcher();
    const made = factoriesMade();
    const two = compileQuerySet(sources).newMatcher();
    expect(factoriesMade()).toBe(made);
    const hits = (m: typeof one, e: EqlEvent) => m.push(e).map((h) => h.query);
    // Interleaved: a leaf result one matcher cached for its event must not answer for the other's.
    expect(hits(one, proc("a"))).toEqual([0, 1]);
    expect(hits(two, proc("b"))).toEqual([1]);
    expect(hits(one, proc("b"))).toEqual([1]);
    expect(hits(two, proc("a"))).toEqual([0, 1]);
    expect(hits(two, proc("z"))).toEqual([]);
  });
});
