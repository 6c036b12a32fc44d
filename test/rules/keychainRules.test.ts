import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules } from "../../src/rules/loader.js";
import { RuleSet } from "../../src/rules/ruleSet.js";

// Every shipped rule has fixtures named after its file: test/fixtures/events/<stem>/{positive,negative}.ndjson.
// Each positive must fire exactly its own rule; no negative may fire any rule.
const rulesDir = fileURLToPath(new URL("../../rules/", import.meta.url));
const fixturesDir = fileURLToPath(new URL("../fixtures/events/", import.meta.url));
const loaded = loadRules([rulesDir]);
const stemOf = (file: string) => file.split("/").pop()!.replace(/\.toml$/, "");

function readEvents(file: string): { line: number; event: Record<string, unknown> }[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((text, i) => ({ text, line: i + 1 }))
    .filter((l) => l.text.trim() !== "")
    .map((l) => ({ line: l.line, event: JSON.parse(l.text) as Record<string, unknown> }));
}

const describeCommand = (e: Record<string, unknown>) => {
  const p = e.process as { command_line?: string };
  const ev = e.event as { action?: string };
  const host = (e.host as { os?: { type?: string } }).os?.type;
  const file = (e.file as { path?: string } | undefined)?.path;
  return `${p.command_line}${file === undefined ? "" : ` → ${file}`} [${ev.action}, ${host}]`;
};

describe("keychain rule pack fixtures", () => {
  it("every shipped rule has fixtures, and every fixture folder a rule", () => {
    const stems = loaded.rules.map((r) => stemOf(r.metadata.file)).sort();
    const folders = readdirSync(fixturesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(folders).toEqual(stems);
  });

  for (const rule of loaded.rules) {
    const stem = stemOf(rule.metadata.file);
    const minimum = stem === "keychain_dump_via_security" ? 10 : 4;
    describe(stem, () => {
      const positives = readEvents(join(fixturesDir, stem, "positive.ndjson"));
      const negatives = readEvents(join(fixturesDir, stem, "negative.ndjson"));

      it(`has at least ${minimum} positive and ${minimum} negative events`, () => {
        expect(positives.length).toBeGreaterThanOrEqual(minimum);
        expect(negatives.length).toBeGreaterThanOrEqual(minimum);
      });

      for (const { line, event } of positives) {
        it(`fires on positive line ${line}: ${describeCommand(event)}`, () => {
          const set = new RuleSet(loaded.rules);
          expect(set.push(event).map((d) => d.rule.metadata.ruleId)).toEqual([rule.metadata.ruleId]);
        });
      }
      for (const { line, event } of negatives) {
        it(`stays quiet on negative line ${line}: ${describeCommand(event)}`, () => {
          const set = new RuleSet(loaded.rules);
          expect(set.push(event).map((d) => d.rule.metadata.name)).toEqual([]);
        });
      }
    });
  }

  it("the bundled recording holds exactly the keychain dump, the database copy and the script's read of it", () => {
    const set = new RuleSet(loaded.rules);
    const fired: string[] = [];
    const events = readEvents(fileURLToPath(new URL("../../samples/recorded-events.ndjson", import.meta.url)));
    expect(events.length).toBeGreaterThanOrEqual(200);
    for (const { event } of events) for (const d of set.push(event)) fired.push(`${stemOf(d.rule.metadata.file)}: ${describeCommand(event)}`);
    expect(fired).toEqual([
      "keychain_dump_via_security: security dump-keychain -d login.keychain [exec, macos]",
      "keychain_database_copied_or_archived: cp /Users/ann/Library/Keychains/login.keychain-db /private/tmp/.update/l.db [exec, macos]",
      "keychain_database_opened_by_unexpected_process: /Library/Developer/CommandLineTools/usr/bin/python3 /private/tmp/.update/agent.py → /Users/ann/Library/Keychains/login.keychain-db [open, macos]",
    ]);
  });
});
