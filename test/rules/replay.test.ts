import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { loadRules } from "../../src/rules/loader.js";
import { parseRuleFile, type LoadedRule } from "../../src/rules/ruleFile.js";
import { replayEvents, replayOutcome } from "../../src/rules/replay.js";
import { RuleSet } from "../../src/rules/ruleSet.js";

const shipped = loadRules([fileURLToPath(new URL("../../rules/", import.meta.url))]).rules;
const DUMP_ID = "4d667968-8a1d-4326-92cd-8c2bed996ab9";
const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/events/${p}`, import.meta.url));

function collector() {
  const alerts: EcsEvent[] = [];
  return { alerts, sink: { write: (a: EcsEvent) => void alerts.push(a) } };
}

function seqRule(): LoadedRule {
  const r = parseRuleFile(
    `[rule]
author = ["t"]
description = "d"
name = "Fetch Then Dump"
risk_score = 99
rule_id = "seq-1"
severity = "critical"
type = "eql"
query = '''
sequence by process.parent.entity_id
  [process where process.name == "curl"]
  [process where process.name == "security"]
'''
`,
    "seq.toml",
  );
  if (r.status !== "loaded") throw new Error("sequence fixture rule did not load");
  return r.rule;
}

const ev = (name: string, parent: string, extra: Record<string, unknown> = {}) => ({
  "@timestamp": "2026-11-26T10:00:00.000Z",
  event: { category: ["process"], type: ["start"], action: "exec" },
  host: { os: { type: "macos" } },
  process: { name, pid: 10, args: [name], command_line: name, parent: { entity_id: parent } },
  user: { name: "ann" },
  ...extra,
});

describe("replayEvents", () => {
  it("replays a file: one alert per positive, ECS alert shape with the rule and a report response", async () => {
    const { alerts, sink } = collector();
    const stats = await replayEvents({ input: fixture("keychain_dump_via_security/positive.ndjson"), rules: new RuleSet(shipped), sink });
    expect(stats.events).toBe(14);
    expect(stats.alerts).toBe(14);
    expect(stats.badLines).toBe(0);
    expect(alerts).toHaveLength(14);
    const a = alerts[0] as Record<string, any>;
    expect(a.event.kind).toBe("alert");
    expect(a.rule.id).toBe(DUMP_ID);
    expect(a.rule.name).toBe("Keychain Secrets Dumped via Security Command");
    expect(a.event.severity).toBe(73);
    expect(a.process.command_line).toBe("/usr/bin/security dump-keychain -d");
    expect(JSON.stringify(a)).toContain('"result":"success"');
    expect(JSON.stringify(a)).toContain('"action":"report"');
  });

  it("a block action cannot deny over recorded events: not_applicable, reason replay", async () => {
    const { alerts, sink } = collector();
    const rules = new RuleSet(shipped, { actions: new Map([[DUMP_ID, "block"]]) });
    await replayEvents({ input: fixture("keychain_dump_via_security/positive.ndjson"), rules, sink });
    const text = JSON.stringify(alerts[0]);
    expect(text).toContain('"action":"block"');
    expect(text).toContain('"result":"not_applicable"');
    expect(text).toContain('"reason":"replay"');
    expect(replayOutcome("kill")).toEqual({ action: "kill", result: "not_applicable", reason: "replay" });
    expect(replayOutcome("report")).toEqual({ action: "report", result: "success" });
  });

  it("reports bad lines with their numbers and processes the rest; CRLF and blank lines are fine", async () => {
    const good = JSON.stringify(ev("security", "p", { process: { name: "security", args: ["security", "dump-keychain", "-d"], parent: { entity_id: "p" } } }));
    const lines = [good, "{not json", "", "[1,2]", "42", good + "\r", "   ", good];
    const bad: [number, string][] = [];
    const { alerts, sink } = collector();
    const stats = await replayEvents({
      input: Readable.from([lines.join("\n")]),
      rules: new RuleSet(shipped),
      sink,
      onBadLine: (n, reason) => bad.push([n, reason]),
    });
    expect(bad.map(([n]) => n)).toEqual([2, 4, 5]);
    expect(bad[0][1]).toMatch(/^not JSON: /);
    expect(bad[1][1]).toBe("expected a JSON object (one ECS event), found an array");
    expect(bad[2][1]).toBe("expected a JSON object (one ECS event), found 42");
    expect(stats).toMatchObject({ events: 3, alerts: 3, badLines: 3 });
    expect(alerts).toHaveLength(3);
  });

  it("joins lines split across chunks, including a multi-byte character cut in two", async () => {
    const line = JSON.stringify(ev("security", "p", { process: { name: "security", args: ["security", "dump-keychain", "-d", "Schlüssel€.keychain"], parent: { entity_id: "p" } } }));
    const bytes = Buffer.from(`${line}\n${line}`);
    const cut = bytes.indexOf(Buffer.from("€")) + 1;
    const chunks = [bytes.subarray(0, 7), bytes.subarray(7, cut), bytes.subarray(cut, bytes.length - 3), bytes.subarray(bytes.length - 3)];
    const { alerts, sink } = collector();
    const stats = await replayEvents({ input: Readable.from(chunks), rules: new RuleSet(shipped), sink });
    expect(stats).toMatchObject({ events: 2, alerts: 2, badLines: 0 });
    expect((alerts[1] as any).process.args[3]).toBe("Schlüssel€.keychain");
  });

  it("sequence rules: the alert is the last event's, with all the sequence's events", async () => {
    const { alerts, sink } = collector();
    const input = [ev("curl", "P"), ev("ls", "P"), ev("security", "P")].map((e) => JSON.stringify(e)).join("\n");
    const stats = await replayEvents({ input: Readable.from([input]), rules: new RuleSet([seqRule()]), sink });
    expect(stats.alerts).toBe(1);
    const a = alerts[0] as Record<string, any>;
    expect(a.process.name).toBe("security");
    expect(a.rule.id).toBe("seq-1");
    expect(JSON.stringify(a)).toContain('"curl"');
  });

  it("the bundled recording: three alerts among hundreds of ordinary events", async () => {
    const { alerts, sink } = collector();
    const stats = await replayEvents({
      input: fileURLToPath(new URL("../../samples/recorded-events.ndjson", import.meta.url)),
      rules: new RuleSet(shipped),
      sink,
    });
    expect(stats.events).toBeGreaterThan(300);
    expect(alerts.map((a) => (a as any).rule.name)).toEqual([
      "Keychain Secrets Dumped via Security Command",
      "Keychain Database Copied or Archived",
      "Keychain Database Accessed by an Unexpected Process",
    ]);
  });

  describe("reading a file into one reused buffer", () => {
    const dump = (i: number) =>
      JSON.stringify(ev("security", `p${i}`, { process: { name: "security", args: ["security", "dump-keychain", "-d", `k${i}`], parent: { entity_id: `p${i}` } } }));
    const quiet = (i: number, pad = 0) => JSON.stringify(ev("ls", `p${i}`, { note: "x".repeat(pad) }));

    async function replayText(text: string, options: { readBytes?: number; maxLineBytes?: number } = {}) {
      const dir = mkdtempSync(join(tmpdir(), "macsensor-replay-"));
      try {
        const file = join(dir, "events.ndjson");
        writeFileSync(file, text);
        const bad: [number, string][] = [];
        const { alerts, sink } = collector();
        const stats = await replayEvents({ input: file, rules: new RuleSet(shipped), sink, onBadLine: (n, r) => bad.push([n, r]), ...options });
        return { stats, bad, args: alerts.map((a) => (a as any).process.args[3] as string) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("cuts lines at every place a read can end and loses none, whatever the buffer's size", async () => {
      const lines: string[] = [];
      for (let i = 0; i < 40; i++) lines.push(i % 3 === 0 ? dump(i) : quiet(i, i * 7));
      const text = lines.join("\n");
      const expected = lines.flatMap((_, i) => (i % 3 === 0 ? [`k${i}`] : []));
      for (const readBytes of [1, 2, 7, 64, 333, 4096, 1 << 20]) {
        const { stats, bad, args } = await replayText(text, { readBytes });
        expect({ readBytes, stats: { events: stats.events, alerts: stats.alerts, badLines: stats.badLines }, bad, args }).toEqual({
          readBytes,
          stats: { events: 40, alerts: expected.length, badLines: 0 },
          bad: [],
          args: expected,
        });
      }
    });

    it("a line longer than the buffer grows it; one longer than maxLineBytes is reported by number and skipped", async () => {
      const long = quiet(2, 5000);
      const tooLong = dump(3).replace('"ann"', `"${"y".repeat(6000)}"`);
      const text = [dump(1), long, tooLong, dump(4), tooLong, dump(6) + "\r", ""].join("\n");
      const { stats, bad, args } = await replayText(text, { readBytes: 256, maxLineBytes: 5500 });
      expect(bad).toEqual([
        [3, "line longer than 5500 bytes"],
        [5, "line longer than 5500 bytes"],
      ]);
      expect(args).toEqual(["k1", "k4", "k6"]);
      expect(stats).toMatchObject({ events: 4, alerts: 3, badLines: 2 });
    });

    it("the last line may lack its newline, and a too-long last line is still reported", async () => {
      expect((await replayText(`${quiet(1)}\n${dump(2)}`, { readBytes: 16 })).args).toEqual(["k2"]);
      expect(dump(1).length).toBeLessThan(400);
      const r = await replayText(`${dump(1)}\n${"z".repeat(500)}`, { readBytes: 16, maxLineBytes: 400 });
      expect(r.bad).toEqual([[2, "line longer than 400 bytes"]]);
      expect(r.args).toEqual(["k1"]);
    });
  });
});
