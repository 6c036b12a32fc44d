import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { FakeBackend } from "../helpers/fakeBackend.js";
import { ruleToml } from "../helpers/ruleToml.js";
import { startTestAgent } from "../helpers/testAgent.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentOptions } from "../../src/agent/agent.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import type { AlertLog } from "../../src/output/alertLog.js";
import { createEcsMapper } from "../../src/ecs/mapper.js";
import { defaultAgent } from "../../src/ecs/agent.js";
import { flushOpsLogger } from "../../src/output/opsLogger.js";
import { readOpsSummary } from "../../src/status/opsLog.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { testHost } from "../ecs/helpers.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-agent-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function start(backend: FakeBackend, extra: Partial<AgentOptions> = {}) {
  const alerts: EcsEvent[] = [];
  const alertLog: AlertLog = {
    write: (a) => alerts.push(a),
    flush: async () => {},
    close: async () => {},
    get accepted() { return alerts.length; },
    get written() { return alerts.length - 1; },
    spooled: 0,
    lost: 1,
    lossCause: "test",
  };
  const { agent } = await startTestAgent([join(dir, "rules")], join(dir, "ops.log"), { backend, alertLog, ...extra });
  return { agent, alerts };
}

describe("heartbeat counts from the backend", () => {
  it("AUTH deadline counters always, the ES error counters only when they happened", async () => {
    mkdirSync(join(dir, "rules"));
    const backend = new FakeBackend();
    backend.extraStats = { watchdogAnswers: 2, shortDeadlineAllows: 3, cachedAllows: 7, cacheClearErrors: 1, unsubscribeErrors: 0 };
    const { agent } = await start(backend);
    const counts = agent.counts();
    expect(counts).toMatchObject({ deadlineFallbacks: 2, shortDeadlineAllows: 3, cachedAllows: 7, cacheClearErrors: 1 });
    expect(counts).not.toHaveProperty("unsubscribeErrors");
    backend.extraStats = {};
    expect(agent.counts()).toMatchObject({ deadlineFallbacks: 0, shortDeadlineAllows: 0 });
    expect(agent.counts()).not.toHaveProperty("cacheClearErrors");
  });
});

describe("startAgent and event relevance", () => {
  it("tells the backend which events the rules could match, before it starts and again on reload", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "a.toml"), ruleToml("a", 'process where event.type == "start" and event.action == "exec" and process.args == "dump-keychain"'));
    const backend = new FakeBackend();
    const { agent, alerts } = await start(backend);
    expect(backend.relevance).toEqual([{ kinds: ["exec"], execPrefilter: { argEquals: ["dump-keychain"], argContains: [], executableBasename: [] }, filePrefilter: null }]);

    let seq = 0;
    const ev = (kind: RawEvent["kind"], pid: number, extra: Partial<RawEvent> = {}): RawEvent => ({ source: "linux", kind, seq: ++seq, time: 1_800_000_000_000 + seq, pid, ppid: 1, ...extra });
    backend.deliver([
      ev("fork", 50),
      ev("exec", 50, { executable: "/bin/ls", args: ["ls"] }),
      ev("exit", 50, { exitStatus: 0 }),
      ev("fork", 51),
      ev("exec", 51, { executable: "/usr/bin/security", args: ["security", "dump-keychain"] }),
    ]);
    expect(alerts).toHaveLength(1);
    expect(agent.counts()).toMatchObject({ events: 5, notMatchable: 4, alerts: 1 });
    // The heartbeat's alert-log counts are the alert log's own (this fake says one of its alerts was lost).
    expect(agent.counts()).toMatchObject({ alertsWritten: 0, alertsSpooled: 0, alertsLost: 1 });
    // The process table saw the fork that was not mapped: the exec's process started at the fork.
    expect((alerts[0].process as { start?: string }).start).toBe(new Date(1_800_000_000_000 + 4).toISOString());

    writeFileSync(join(rules, "b.toml"), ruleToml("b", 'process where event.action == "end" and process.exit_code == 3'));
    agent.reload();
    expect(backend.relevance.at(-1)).toEqual({ kinds: ["exec", "exit"], execPrefilter: { argEquals: ["dump-keychain"], argContains: [], executableBasename: [] }, filePrefilter: null });
    backend.deliver([ev("exit", 51, { exitStatus: 3 << 8 })]);
    expect(alerts).toHaveLength(2);
    await agent.stop();
  });

  it("file rules: the backend is asked for the file kinds they test, a file event alerts with its process; a rule that can never fire is counted out and logged", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "f.toml"), ruleToml("f", 'file where event.action == "open" and file.path : "/tmp/macsensor-demo/secret*" and process.parent.name == "bash"'));
    writeFileSync(join(rules, "n.toml"), ruleToml("n", "network where destination.port == 22"));
    const backend = new FakeBackend();
    const { agent, alerts } = await start(backend);
    expect(backend.relevance).toEqual([
      { kinds: ["open"], execPrefilter: null, filePrefilter: { pathEquals: [], pathPrefix: ["/tmp/macsensor-demo/secret"], pathSuffix: [], pathContains: [], nameEquals: [] } },
    ]);
    expect(agent.rules).toMatchObject({ loaded: 2, canFire: 1 });

    let seq = 0;
    const ev = (kind: RawEvent["kind"], pid: number, extra: Partial<RawEvent> = {}): RawEvent => ({ source: "linux", kind, seq: ++seq, time: 1_800_000_000_000 + seq, pid, ppid: 1, ...extra });
    backend.deliver([
      ev("exec", 60, { executable: "/bin/bash", args: ["bash"] }),
      ev("fork", 61, { ppid: 60 }),
      ev("exec", 61, { ppid: 60, executable: "/usr/bin/cat", args: ["cat", "/tmp/macsensor-demo/secret"] }),
      ev("create", 61, { file: { path: "/tmp/macsensor-demo/secret" } }),
      ev("open", 61, { file: { path: "/tmp/macsensor-demo/secret", openFlags: 1 } }),
    ]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      event: { kind: "alert", category: ["file", "intrusion_detection"] },
      file: { path: "/tmp/macsensor-demo/secret", name: "secret" },
      process: { executable: "/usr/bin/cat", args: ["cat", "/tmp/macsensor-demo/secret"], parent: { name: "bash" } },
    });
    expect(agent.counts()).toMatchObject({ events: 5, notMatchable: 4, alerts: 1, fileEvents: 2, fileEventsFiltered: 0 });
    // The file events the backend's reader dropped by path are counted beside those that reached the rules.
    backend.extraStats = { pathFiltered: 7 };
    expect(agent.counts()).toMatchObject({ fileEvents: 2, fileEventsFiltered: 7 });
    await agent.stop();
    const lines = readFileSync(join(dir, "ops.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.message === "rule loaded but can never fire")).toMatchObject([
      { log: { level: "warn" }, rule: { id: "n" }, macsensor: { reason: "needs network events, which this sensor does not produce" } },
    ]);
  });

  it("logs a rule loaded with an unknown field as a warning with its place; a rule with a type error is not loaded", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "typo.toml"), ruleToml("typo", 'process where process.nmae == "security"'));
    writeFileSync(join(rules, "typed.toml"), ruleToml("typed", 'process where process.pid : "1"'));
    const { agent } = await start(new FakeBackend());
    expect(agent.rules).toMatchObject({ loaded: 1, errors: 1 });
    await agent.stop();
    const lines = readFileSync(join(dir, "ops.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const warning = lines.find((l) => l.message === "rule loaded with a warning");
    expect(warning).toMatchObject({
      log: { level: "warn" },
      file: { path: join(rules, "typo.toml") },
      rule: { id: "typo" },
      macsensor: { reason: `${join(rules, "typo.toml")}:17:15: unknown field 'process.nmae': neither in ECS nor produced by macsensor; did you mean 'process.name'?` },
    });
    expect(lines.find((l) => l.message === "rule not loaded")?.file.path).toBe(join(rules, "typed.toml"));
  });
});

describe("startAgent and the evaluation budget", () => {
  it("alerts on an event over budget, counts it, names the slow rule in its log and heartbeat, and sequences still match", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "scp.toml"), ruleToml("slow-scp", 'process where event.type == "start" and process.command_line : "*scp *127.0.0.?:/*"'));
    writeFileSync(join(rules, "dump.toml"), ruleToml("dump", 'process where event.type == "start" and process.args == "dump-keychain"'));
    writeFileSync(
      join(rules, "seq.toml"),
      ruleToml("scp-then-dump", 'sequence by host.id [process where process.name == "scp"] [process where process.args == "dump-keychain"]'),
    );
    // Reading an event's command line "takes" 30 ms of the agent's clock: the scp pattern is the slow rule.
    const clock = { t: 0 };
    const real = createEcsMapper({ host: testHost, agent: defaultAgent(testHost) });
    const mapper = {
      table: real.table,
      track: (raw: RawEvent) => real.track(raw),
      map: (raw: RawEvent) => {
        const event = real.map(raw);
        const proc = event.process as Record<string, unknown>;
        const line = proc.command_line;
        Object.defineProperty(proc, "command_line", {
          enumerable: true,
          get() {
            clock.t += 30;
            return line;
          },
        });
        return event;
      },
    };
    const opsFile = join(dir, "ops.log");
    const { agent, backend, alerts, ops } = await startTestAgent([rules], opsFile, { heartbeatMs: 25, mapper, eventBudgetMs: 20, clock: () => clock.t });
    let seq = 0;
    const exec = (pid: number, args: string[]): RawEvent => ({
      source: "linux", kind: "exec", seq: ++seq, time: 1_800_000_000_000 + seq, pid, ppid: 1, executable: `/usr/bin/${args[0]}`, args,
    });
    backend.deliver([exec(60, ["scp", "notes.txt", "127.0.0.1:/tmp/x"])]);
    expect(alerts.map((a) => (a.rule as { id: string }).id)).toEqual(["slow-scp"]);
    expect(agent.counts()).toMatchObject({ events: 1, evalOverruns: 1, alerts: 1 });

    backend.deliver([exec(61, ["security", "dump-keychain", "-d"])]);
    expect(alerts.map((a) => (a.rule as { id: string }).id).sort()).toEqual(["dump", "scp-then-dump", "slow-scp"]);
    expect(agent.counts()).toMatchObject({ events: 2, evalOverruns: 2, alerts: 3 });

    await flushOpsLogger(ops);
    const warnings = readFileSync(opsFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.message === "event over the rule evaluation budget");
    // The second overrun came within the profiling interval: counted, not profiled.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      log: { level: "warn" },
      rule: { id: "slow-scp", name: "Rule slow-scp" },
      process: { pid: 60, executable: "/usr/bin/scp", args_count: 3 },
      macsensor: { eval: { budget_ms: 20, rule_ms: 30 }, command_line_bytes: 30 },
    });
    // The event's time also holds what the rule set does beside the rules (sequence state sizes the event: a read).
    const evalMs = (warnings[0].macsensor as { eval: { event_ms: number } }).eval.event_ms;
    expect(evalMs).toBeGreaterThanOrEqual(30);

    // The heartbeat carries the count and the rule, and `status` reads both back.
    let summary = readOpsSummary(opsFile);
    for (let i = 0; i < 200 && summary.heartbeat?.counts.evalOverruns !== 2; i++) {
      await new Promise((r) => setTimeout(r, 25));
      await flushOpsLogger(ops);
      summary = readOpsSummary(opsFile);
    }
    expect(summary.heartbeat?.counts.evalOverruns).toBe(2);
    expect(summary.heartbeat?.slow_rule).toMatchObject({ id: "slow-scp", name: "Rule slow-scp", ms: 30, event_ms: evalMs, budget_ms: 20 });
    await agent.stop();
  });
});

describe("sequence state in the heartbeat", () => {
  it("counts pending sequences, their estimated bytes and what the configured cap evicted", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "s.toml"), ruleToml("s", 'sequence by process.entity_id [process where event.type == "start"] [process where event.type == "end"]'));
    const ev = (kind: RawEvent["kind"], seq: number, pid: number, extra: Partial<RawEvent> = {}): RawEvent => ({ source: "linux", kind, seq, time: 1_800_000_000_000 + seq, pid, ppid: 1, ...extra });
    const execs = (n: number): RawEvent[] =>
      Array.from({ length: n }, (_, i) => [ev("fork", 2 * i + 1, 100 + i), ev("exec", 2 * i + 2, 100 + i, { executable: "/bin/ls", args: ["ls", "-la"] })]).flat();

    const roomy = new FakeBackend();
    const a = await start(roomy);
    roomy.deliver(execs(10));
    const counts = a.agent.counts();
    expect(counts).toMatchObject({ sequencesPending: 10, sequenceEvictions: 0 });
    expect(counts.sequencesPendingBytes).toBeGreaterThan(10 * 500);
    await a.agent.stop();

    // 1 byte asked: each sequence rule still gets its 64 KiB floor, and 300 pending execs do not fit in it.
    const tight = new FakeBackend();
    const b = await start(tight, { maxPendingSequenceBytes: 1 });
    tight.deliver(execs(300));
    const capped = b.agent.counts();
    expect(capped.sequenceEvictions).toBeGreaterThan(0);
    expect(capped.sequencesPending).toBeLessThan(300);
    expect(capped.sequencesPendingBytes).toBeLessThanOrEqual(64 * 1024);
    await b.agent.stop();
  });
});
