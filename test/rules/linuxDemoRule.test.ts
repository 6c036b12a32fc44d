import { describe, expect, it } from "vitest";
import { loadRules } from "../../src/rules/loader.js";
import { RuleSet } from "../../src/rules/ruleSet.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { testMapper } from "../ecs/helpers.js";

// The README's "see a live alert on Linux" walk-through depends on this rule.
describe("samples/linux-demo", () => {
  const result = loadRules([new URL("../../samples/linux-demo", import.meta.url).pathname]);
  const exec = (args: string[]) => ({
    "@timestamp": "2026-11-26T10:00:00Z",
    event: { category: ["process"], type: ["start"], action: "exec" },
    host: { os: { type: "linux" } },
    process: { name: "security", executable: "/tmp/security", args },
  });

  it("loads the demo rules without errors", () => {
    expect(result.errors).toEqual([]);
    expect(result.rules.map((r) => r.metadata.name).sort()).toEqual(["Demo Secret File Opened (demo, any OS)", "Keychain Dump Lookalike (demo, any OS)"]);
  });

  it("the file demo fires on an open of the README's secret file, mapped from a raw Linux event, and on nothing else", () => {
    const rules = new RuleSet(result.rules);
    const mapper = testMapper();
    mapper.map({ source: "linux", kind: "exec", seq: 1, time: 1_765_000_000_000, pid: 77, ppid: 1, executable: "/usr/bin/cat", args: ["cat", "/tmp/macsensor-demo/secret"] });
    const open = (seq: number, path: string, kind: RawEvent["kind"] = "open") =>
      rules.push(mapper.map({ source: "linux", kind, seq, time: 1_765_000_000_000 + seq, pid: 77, file: { path, openFlags: 1 } }));
    const fired = open(2, "/tmp/macsensor-demo/secret");
    expect(fired.map((d) => d.rule.metadata.name)).toEqual(["Demo Secret File Opened (demo, any OS)"]);
    expect(open(3, "/tmp/macsensor-demo/secret/inner.txt")).toHaveLength(1);
    expect(open(4, "/tmp/macsensor-demo/secretive")).toHaveLength(0);
    expect(open(5, "/tmp/macsensor-demo/public")).toHaveLength(0);
    expect(open(6, "/tmp/macsensor-demo/secret", "delete")).toHaveLength(0);
  });

  it("fires on the README's command on a Linux host, and not on other subcommands", () => {
    const rules = new RuleSet(result.rules);
    expect(rules.push(exec(["/tmp/security", "-c", "sleep 1; :", "dump-keychain", "-d"]))).toHaveLength(1);
    expect(rules.push(exec(["/tmp/security", "dump-keychain"]))).toHaveLength(0);
    expect(rules.push(exec(["/tmp/security", "list-keychains", "-d", "user"]))).toHaveLength(0);
  });
});
