import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createManagedReload } from "../../src/agent/managedReload.js";
import { watchManagedPreferences } from "../../src/config/managedWatch.js";
import { ConfigError, type LoadedConfig } from "../../src/config/load.js";
import { loadConfig } from "../../src/config/index.js";
import type { RuleAction } from "../../src/rules/ruleMetadata.js";

const base = loadConfig({ platform: "darwin", configFile: undefined, managedFile: null, env: {} });

/** A loaded configuration with some settings changed, as a new profile would give. */
function withSettings(changes: Record<string, unknown>, actions: Record<string, RuleAction> = {}): LoadedConfig {
  const settings = { ...base.settings };
  for (const [k, v] of Object.entries(changes)) settings[k] = { value: v, source: "managed" };
  for (const [id, a] of Object.entries(actions)) settings[`actions.${id}`] = { value: a, source: "managed" };
  const config = { ...base.config, actions, rules: { ...base.config.rules, paths: (changes["rules.paths"] as string[]) ?? base.config.rules.paths } };
  return { ...base, settings, config };
}

function harness(next: () => LoadedConfig, reloadThrows = false) {
  const reloads: Array<{ rulePaths?: readonly string[]; actions?: ReadonlyMap<string, RuleAction> }> = [];
  const logs: Array<[string, string, unknown]> = [];
  const log = (level: string) => (message: string, fields?: unknown): void => {
    logs.push([level, message, fields]);
  };
  const reload = createManagedReload(base, {
    load: next,
    agent: {
      reload: (changes) => {
        if (reloadThrows) throw new Error("untrusted");
        reloads.push(changes ?? {});
        return { loaded: 1, canFire: 1, skipped: 0, errors: 0, block: 0 };
      },
    },
    ops: { info: log("info"), warn: log("warn"), error: log("error") },
    commandLineActions: new Map([["cli-rule", "report"]]),
  });
  return { reload, reloads, logs };
}

describe("createManagedReload", () => {
  it("applies changed actions and rule paths through a rule reload, command-line actions still winning", () => {
    const h = harness(() => withSettings({ "rules.paths": ["/site/rules"] }, { r1: "block", "cli-rule": "kill" }));
    expect(h.reload.apply()).toEqual({ applied: ["rules.paths", "actions.r1", "actions.cli-rule"], atNextStart: [] });
    expect(h.reloads).toHaveLength(1);
    expect([...h.reloads[0].actions!]).toEqual([["r1", "block"], ["cli-rule", "report"]]);
    expect(h.reloads[0].rulePaths).toEqual(["/site/rules"]);
    expect(h.logs.map(([level, message]) => [level, message])).toEqual([["info", "managed preferences applied"]]);
  });

  it("names the keys that only a restart applies, and reloads nothing for them", () => {
    const h = harness(() => withSettings({ backend: "eslogger", "alerts.max_files": 3 }));
    expect(h.reload.apply()).toEqual({ applied: [], atNextStart: ["alerts.max_files", "backend"] });
    expect(h.reloads).toEqual([]);
    expect(h.logs[0].slice(0, 2)).toEqual(["warn", "managed preferences changed; these keys take effect at the next start"]);
  });

  it("does nothing when nothing changed, and keeps the running configuration when the profile cannot be used", () => {
    expect(harness(() => base).reload.apply()).toEqual({ applied: [], atNextStart: [] });
    const h = harness(() => {
      throw new ConfigError([{ key: "actions", location: "x", message: "bad" }]);
    });
    expect(h.reload.apply()).toEqual({ applied: [], atNextStart: [] });
    expect(h.logs.map(([level, message]) => [level, message])).toEqual([["error", "managed preferences changed but cannot be used; the running configuration stays"]]);
  });

  it("a refused reload applies nothing, so the next change tries again", () => {
    const h = harness(() => withSettings({}, { r1: "block" }), true);
    expect(h.reload.apply().applied).toEqual([]);
    expect(h.reload.apply().applied).toEqual([]); // still seen as a change
  });
});

describe("watchManagedPreferences", () => {
  it("calls back once the file is replaced with new content, not for the same bytes or other files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "macsensor-managed-watch-"));
    const file = join(dir, "com.macsensor.agent.plist");
    writeFileSync(file, "one");
    let calls = 0;
    const watch = watchManagedPreferences(file, () => calls++, 50);
    const settle = () => new Promise((r) => setTimeout(r, 300));
    try {
      writeFileSync(join(dir, "other.plist"), "x");
      writeFileSync(`${file}.tmp`, "one");
      renameSync(`${file}.tmp`, file);
      await settle();
      expect(calls).toBe(0);
      writeFileSync(`${file}.tmp`, "two");
      renameSync(`${file}.tmp`, file);
      for (let i = 0; i < 100 && calls === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toBe(1);
    } finally {
      watch.close();
    }
  });
});
