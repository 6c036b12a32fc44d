import { describe, expect, it } from "vitest";
import type { EvalOverrun, PipelineDetector, PipelineRuleCost } from "../../src/agent/pipeline.js";
import { SlowRuleReporter } from "../../src/agent/slowRules.js";
import { ruleMetadata } from "../helpers/ruleMetadata.js";

const scp = ruleMetadata("a1b2", "Privacy pref change via scp");
const curl = ruleMetadata("c3d4", "Curl to IP");
const shell = ruleMetadata("e5f6", "Shell from Office");

/** A reporter on a fake clock, whose detector's profile "takes" profileMs and returns the given costs. */
function harness(costs: PipelineRuleCost[], options: { profileMs?: number; minIntervalMs?: number } = {}) {
  const clock = { t: 5_000 };
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  let profiles = 0;
  const detector: PipelineDetector = {
    push: () => [],
    profile: () => {
      profiles++;
      clock.t += options.profileMs ?? 0;
      return costs;
    },
  };
  const reporter = new SlowRuleReporter({
    ops: { warn: (message, fields) => warnings.push({ message, fields }) },
    now: () => clock.t,
    wallClock: () => Date.UTC(2026, 11, 7, 12, 0, 0),
    ...(options.minIntervalMs !== undefined ? { minIntervalMs: options.minIntervalMs } : {}),
  });
  const line = `scp ${"x".repeat(1_000_000)} 127.0.0.1:/tmp`;
  const overrun = (ms = 42): EvalOverrun => ({
    raw: { source: "linux", kind: "exec", seq: 1, time: 0, pid: 4242 },
    event: { process: { pid: 4242, executable: "/usr/bin/scp", args: ["scp", "x", "127.0.0.1:/tmp"], command_line: line } },
    detector,
    ms,
    budgetMs: 20,
  });
  return { clock, warnings, reporter, overrun, profiles: () => profiles, line };
}

describe("SlowRuleReporter", () => {
  it("logs the slowest rule, the time, the budget and the event without its command line", () => {
    const { reporter, warnings, overrun, line } = harness([
      { rule: scp, ms: 38.25 },
      { rule: curl, ms: 1.5 },
      { rule: shell, ms: 0.01 },
    ]);
    reporter.report(overrun(42.1234));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toBe("event over the rule evaluation budget");
    expect(warnings[0].fields).toEqual({
      rule: { id: "a1b2", name: "Privacy pref change via scp" },
      process: { pid: 4242, executable: "/usr/bin/scp", args_count: 3 },
      macsensor: {
        eval: {
          event_ms: 42.123,
          budget_ms: 20,
          rule_ms: 38.25,
          rules_timed: 3,
          rules_ms_total: 39.76,
          next_slowest: [
            { id: "c3d4", ms: 1.5 },
            { id: "e5f6", ms: 0.01 },
          ],
          overruns_since_last_report: 1,
        },
        kind: "exec",
        command_line_bytes: Buffer.byteLength(line),
      },
    });
    expect(JSON.stringify(warnings[0].fields).length).toBeLessThan(1000);
    expect(reporter.lastSlowRule()).toEqual({
      id: "a1b2",
      name: "Privacy pref change via scp",
      ms: 38.25,
      event_ms: 42.123,
      budget_ms: 20,
      "@timestamp": "2026-12-07T12:00:00.000Z",
    });
  });

  it("profiles at most once per interval and says how many overruns it skipped", () => {
    const h = harness([{ rule: scp, ms: 30 }], { minIntervalMs: 10_000 });
    h.reporter.report(h.overrun());
    for (let i = 0; i < 50; i++) {
      h.clock.t += 100;
      h.reporter.report(h.overrun());
    }
    expect(h.profiles()).toBe(1);
    expect(h.warnings).toHaveLength(1);
    h.clock.t += 10_000;
    h.reporter.report(h.overrun());
    expect(h.profiles()).toBe(2);
    expect(h.warnings[1].fields).toMatchObject({ macsensor: { eval: { overruns_since_last_report: 51 } } });
  });

  it("waits longer after a costly profile, so profiling stays a small share of the time", () => {
    const h = harness([{ rule: scp, ms: 900 }], { profileMs: 1_000, minIntervalMs: 10_000 });
    h.reporter.report(h.overrun(1_200));
    h.clock.t += 50_000;
    h.reporter.report(h.overrun(1_200));
    expect(h.profiles()).toBe(1);
    h.clock.t += 50_000;
    h.reporter.report(h.overrun(1_200));
    expect(h.profiles()).toBe(2);
  });

  it("still warns when no rule was tested, naming none, and keeps the last rule it did name", () => {
    const costs: PipelineRuleCost[] = [{ rule: curl, ms: 25 }];
    const h = harness(costs, { minIntervalMs: 0 });
    h.reporter.report(h.overrun());
    costs.length = 0;
    h.reporter.report(h.overrun());
    expect(h.warnings).toHaveLength(2);
    expect(h.warnings[1].fields.rule).toBeUndefined();
    expect(h.warnings[1].fields).toMatchObject({ macsensor: { eval: { rules_timed: 0 } } });
    expect(h.reporter.lastSlowRule()?.id).toBe("c3d4");
  });
});
