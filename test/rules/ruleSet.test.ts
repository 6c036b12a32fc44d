import { describe, expect, it } from "vitest";
import { parseRuleFile, type LoadedRule } from "../../src/rules/ruleFile.js";
import { RuleSet, parseActionAssignment } from "../../src/rules/ruleSet.js";
import { MacsensorError } from "../../src/errors.js";

function rule(id: string, query: string): LoadedRule {
  const text = `[rule]
author = ["t"]
description = "d"
name = "Rule ${id}"
risk_score = 21
rule_id = "${id}"
severity = "low"
type = "eql"
query = '''${query}'''
`;
  const result = parseRuleFile(text, `${id}.toml`);
  if (result.status !== "loaded") throw new Error(`fixture rule ${id} did not load: ${JSON.stringify(result)}`);
  return result.rule;
}

const exec = (name: string, entity = "e1", parent = "p1") => ({
  event: { category: ["process"], type: ["start"], action: "exec" },
  "@timestamp": "2026-11-26T10:00:00.000Z",
  process: { name, entity_id: entity, parent: { entity_id: parent } },
});

describe("RuleSet", () => {
  const curl = rule("curl", `process where process.name == "curl"`);
  const anyShell = rule("shell", `process where process.name in ("sh", "zsh")`);
  const seq = rule(
    "seq",
    `sequence by process.parent.entity_id [process where process.name == "curl"] [process where process.name == "sh"]`,
  );

  it("returns the rules an event matches, each with its hit and action", () => {
    const set = new RuleSet([curl, anyShell], { actions: new Map([["shell", "block"]]) });
    const e = exec("zsh");
    const detections = set.push(e);
    expect(detections).toHaveLength(1);
    expect(detections[0].rule).toBe(anyShell);
    expect(detections[0].hit).toEqual({ kind: "event", event: e });
    expect(detections[0].action).toBe("block");
    expect(set.push(exec("curl"))[0].action).toBe("report");
    expect(set.push(exec("ls"))).toEqual([]);
  });

  it("runs sequences through their own matcher", () => {
    const set = new RuleSet([curl, seq]);
    const a = exec("curl", "c1", "shared");
    const b = exec("sh", "s1", "shared");
    expect(set.push(a).map((d) => d.rule.metadata.ruleId)).toEqual(["curl"]);
    const done = set.push(b);
    expect(done).toHaveLength(1);
    expect(done[0].rule).toBe(seq);
    expect(done[0].hit).toMatchObject({ kind: "sequence", joinKeys: ["shared"], events: [a, b] });
    expect(set.push(exec("sh", "s2", "other"))).toEqual([]);
    expect(set.finish()).toEqual([]);
  });

  it("counts events and matches per rule", () => {
    const set = new RuleSet([curl, anyShell, seq]);
    for (const n of ["curl", "sh", "ls", "curl", "zsh"]) set.push(exec(n, n, "p"));
    expect(set.stats()).toEqual({ events: 5, detections: 5, matches: { curl: 2, shell: 2, seq: 1 } });
  });

  it("rules with the same query share its test, and each still gets its detection, action and count", () => {
    const curl2 = rule("curl2", `process where process.name == "curl"`);
    const seq2 = rule("seq2", seq.query.source);
    const set = new RuleSet([curl, seq, curl2, seq2], { actions: new Map([["curl2", "kill"]]) });
    const first = set.push(exec("curl", "c1", "p"));
    expect(first.map((d) => [d.rule.metadata.ruleId, d.action])).toEqual([
      ["curl", "report"],
      ["curl2", "kill"],
    ]);
    const done = set.push(exec("sh", "s1", "p"));
    expect(done.map((d) => d.rule.metadata.ruleId)).toEqual(["seq", "seq2"]);
    expect(done[0].hit).toEqual(done[1].hit);
    expect(set.stats().matches).toEqual({ curl: 1, seq: 1, curl2: 1, seq2: 1 });
    expect(set.profile(exec("curl"), () => 0).map((c) => c.rule.metadata.ruleId).sort()).toEqual(["curl", "curl2", "seq", "seq2"]);
  });

  it("finish() returns what only the end of the stream decides (tail)", () => {
    const tail = rule("tail", `process where process.name == "curl" | tail 1`);
    const set = new RuleSet([tail]);
    const first = exec("curl", "a");
    const last = exec("curl", "b");
    expect(set.push(first)).toEqual([]);
    expect(set.push(last)).toEqual([]);
    const end = set.finish();
    expect(end.map((d) => d.hit)).toEqual([{ kind: "event", event: last }]);
    expect(set.stats().matches.tail).toBe(1);
  });

  it("names configured actions for rules it does not have", () => {
    const set = new RuleSet([curl], { actions: new Map([["curl", "kill"], ["typo", "block"]]) });
    expect(set.actionFor("curl")).toBe("kill");
    expect(set.unknownActionIds()).toEqual(["typo"]);
  });
});

describe("RuleSet.sequenceHoldsKey", () => {
  const curl = rule("curl", `process where process.name == "curl"`);
  const seq = rule(
    "seq",
    `sequence by process.parent.entity_id [process where process.name == "curl"] [process where process.name == "sh"]`,
  );

  it("is true while a sequence rule waits for a later stage with that key, false for other keys and other rules", () => {
    const set = new RuleSet([curl, seq]);
    expect(set.sequenceHoldsKey(1, "shared")).toBe(false);
    set.push(exec("curl", "c1", "shared"));
    expect(set.sequenceHoldsKey(1, "shared")).toBe(true);
    expect(set.sequenceHoldsKey(1, "other")).toBe(false);
    expect(set.sequenceHoldsKey(0, "shared")).toBe(false);
    set.push(exec("sh", "s1", "other"));
    expect(set.sequenceHoldsKey(1, "shared")).toBe(true);
    expect(set.push(exec("sh", "s2", "shared"))).toHaveLength(1);
    expect(set.sequenceHoldsKey(1, "shared")).toBe(false);
  });

  it("answers for each rule that shares a sequence's query", () => {
    const again = rule("seq2", seq.query.source);
    const set = new RuleSet([seq, curl, again]);
    set.push(exec("curl", "c1", "p9"));
    expect([0, 1, 2].map((r) => set.sequenceHoldsKey(r, "p9"))).toEqual([true, false, true]);
  });
});

describe("RuleSet.profile", () => {
  /** A clock that moves only when the event's command line is read: the test's stand-in for a slow pattern. */
  function slowCommandLine(event: Record<string, unknown>, clock: { t: number }, costMs: number, line = "scp f 127.0.0.1:/x") {
    Object.defineProperty(event.process as object, "command_line", {
      enumerable: true,
      get() {
        clock.t += costMs;
        return line;
      },
    });
    return event;
  }
  // Four rules on process.name, so the set indexes by it: an event runs only the rules its name can satisfy.
  const byName = ["curl", "wget", "nc", "osascript"].map((n) => rule(n, `process where process.name == "${n}"`));
  const scp = rule("scp", `process where process.command_line : "*scp *127.0.0.?:/*"`);
  const scpToo = rule("scp-too", `process where process.command_line : "*scp *127.0.0.?:/*" and process.args_count > 2`);
  const sshScp = rule("ssh-scp", `process where process.name == "ssh" and process.command_line : "*scp *"`);
  const seq = rule(
    "seq",
    `sequence by process.parent.entity_id with maxspan=1m [process where process.name == "curl"] [process where process.command_line : "*scp *"] | head 2`,
  );
  const all = [...byName, scp, scpToo, sshScp, seq];

  it("times each rule the event is tested against, alone, slowest first", () => {
    const clock = { t: 0 };
    const set = new RuleSet(all);
    const event = slowCommandLine({ ...exec("curl"), process: { name: "curl", args_count: 3, parent: { entity_id: "p" } } }, clock, 40);
    const costs = set.profile(event, () => clock.t).map((c) => [c.rule.metadata.ruleId, c.ms]);
    // scp and scp-too share their pattern, which a push computes once; alone, each pays for it. ssh-scp requires
    // process.name "ssh", so this event never runs it; nor wget, nc, osascript. The sequence's second stage does.
    expect(costs.slice(0, 3).sort()).toEqual([["scp", 40], ["scp-too", 40], ["seq", 40]]);
    expect(costs.slice(3)).toEqual([["curl", 0]]);
  });

  it("changes nothing a push sees: sequences, pipes and counts match the same with profiling in between", () => {
    const profiled = new RuleSet(all);
    const plain = new RuleSet(all);
    const clock = { t: 0 };
    const now = () => clock.t;
    const stream = [
      exec("curl", "c1", "p1"),
      slowCommandLine(exec("ssh", "s1", "p1"), clock, 5),
      exec("curl", "c2", "p2"),
      slowCommandLine(exec("scp", "s2", "p2"), clock, 5),
      slowCommandLine(exec("scp", "s3", "p1"), clock, 5),
      exec("curl", "c3", "p3"),
      slowCommandLine(exec("sh", "s4", "p3"), clock, 5),
      slowCommandLine(exec("sh", "s5", "p3"), clock, 5),
    ];
    const ids = (ds: readonly { rule: LoadedRule; hit: unknown }[]) => ds.map((d) => [d.rule.metadata.ruleId, d.hit]);
    for (const event of stream) {
      // Profile this event (before and after its push) and every other one, as an overrun at any point might.
      for (const e of stream) profiled.profile(e, now);
      const a = profiled.push(event);
      profiled.profile(event, now);
      expect(ids(a)).toEqual(ids(plain.push(event)));
    }
    expect(ids(profiled.finish())).toEqual(ids(plain.finish()));
    expect(profiled.stats()).toEqual(plain.stats());
    // The sequence matched three times and head 2 let two through, so the comparison covered its state and its pipe.
    expect(plain.stats().matches.seq).toBe(2);
  });
});

describe("parseActionAssignment", () => {
  it("parses RULE_ID=ACTION", () => {
    expect(parseActionAssignment("4d667968-8a1d-4326-92cd-8c2bed996ab9=block")).toEqual(["4d667968-8a1d-4326-92cd-8c2bed996ab9", "block"]);
    expect(parseActionAssignment("x=report")).toEqual(["x", "report"]);
    expect(parseActionAssignment("x=kill")).toEqual(["x", "kill"]);
  });
  it("rejects anything else with what was expected", () => {
    for (const bad of ["x", "=block", "x=deny", "x="]) {
      expect(() => parseActionAssignment(bad)).toThrow(MacsensorError);
      expect(() => parseActionAssignment(bad)).toThrow(/expected RULE_ID=report\|block\|kill/);
    }
  });
});
