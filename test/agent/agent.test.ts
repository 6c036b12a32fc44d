import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startAgent } from "../../src/agent/agent.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import type { AlertLog } from "../../src/output/alertLog.js";
import { createOpsLogger } from "../../src/output/opsLogger.js";
import type { BackendStats, EventRelevanceSpec, SensorBackend } from "../../src/sensor/backend.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { testHost } from "../ecs/helpers.js";

const rule = (id: string, query: string) => `[metadata]
creation_date = "2026/11/27"
maturity = "production"
updated_date = "2026/11/27"

[rule]
author = ["test"]
description = "test rule"
language = "eql"
license = "Apache-2.0"
name = "Rule ${id}"
risk_score = 47
rule_id = "${id}"
severity = "medium"
type = "eql"
query = '''
${query}
'''
`;

/** A backend the test feeds by hand, recording what the agent told it about relevance. */
class FakeBackend implements SensorBackend {
  readonly name = "linux" as const;
  readonly relevance: EventRelevanceSpec[] = [];
  started = false;
  private onEvents: ((events: RawEvent[]) => void) | undefined;
  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    this.started = true;
    this.onEvents = onEvents;
  }
  async stop(): Promise<void> {}
  stats(): BackendStats {
    return { received: 0, delivered: 0, dropped: 0, queueHighWater: 0 };
  }
  setRelevance(relevance: EventRelevanceSpec): void {
    this.relevance.push(relevance);
  }
  deliver(events: RawEvent[]): void {
    this.onEvents!(events);
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-agent-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function start(backend: FakeBackend, extra: Partial<Parameters<typeof startAgent>[0]> = {}) {
  const alerts: EcsEvent[] = [];
  const alertLog: AlertLog = { write: (a) => alerts.push(a), flush: async () => {}, close: async () => {}, get written() { return alerts.length; } };
  const agent = await startAgent({
    backend,
    rulePaths: [join(dir, "rules")],
    actions: new Map(),
    alertLog,
    ops: createOpsLogger({ file: join(dir, "ops.log"), console: false }),
    blockFallback: "report",
    heartbeatMs: 60_000,
    host: testHost,
    seedFromProc: false,
    ...extra,
  });
  return { agent, alerts };
}

describe("startAgent and event relevance", () => {
  it("tells the backend which events the rules could match, before it starts and again on reload", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "a.toml"), rule("a", 'process where event.type == "start" and event.action == "exec" and process.args == "dump-keychain"'));
    const backend = new FakeBackend();
    const { agent, alerts } = await start(backend);
    expect(backend.relevance).toEqual([{ kinds: ["exec"], execPrefilter: { argEquals: ["dump-keychain"], argContains: [], executableBasename: [] } }]);

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
    // The process table saw the fork that was not mapped: the exec's process started at the fork.
    expect((alerts[0].process as { start?: string }).start).toBe(new Date(1_800_000_000_000 + 4).toISOString());

    writeFileSync(join(rules, "b.toml"), rule("b", 'process where event.action == "end" and process.exit_code == 3'));
    agent.reload();
    expect(backend.relevance.at(-1)).toEqual({ kinds: ["exec", "exit"], execPrefilter: { argEquals: ["dump-keychain"], argContains: [], executableBasename: [] } });
    backend.deliver([ev("exit", 51, { exitStatus: 3 << 8 })]);
    expect(alerts).toHaveLength(2);
    await agent.stop();
  });
});

describe("sequence state in the heartbeat", () => {
  it("counts pending sequences, their estimated bytes and what the configured cap evicted", async () => {
    const rules = join(dir, "rules");
    mkdirSync(rules);
    writeFileSync(join(rules, "s.toml"), rule("s", 'sequence by process.entity_id [process where event.type == "start"] [process where event.type == "end"]'));
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
