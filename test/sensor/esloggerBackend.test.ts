// The eslogger backend (src/sensor/esloggerBackend.ts) driving a fake eslogger (test/fixtures/fake-eslogger):
// events, restarts with back-off and gap reports, stop, start errors, bad input, and the block fallback (kill or
// report) through the real Pipeline and the shipped rules.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { Pipeline } from "../../src/agent/pipeline.js";
import { defaultAgent, recordedMacHost } from "../../src/ecs/agent.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { createEcsMapper } from "../../src/ecs/mapper.js";
import { MacsensorError } from "../../src/errors.js";
import { buildAlert } from "../../src/response/alert.js";
import { loadRules } from "../../src/rules/loader.js";
import { RuleSet } from "../../src/rules/ruleSet.js";
import { shippedRulesPath } from "../../src/rules/shippedRules.js";
import type { SensorBackend } from "../../src/sensor/backend.js";
import { createEsloggerBackend, type EsloggerBackendOptions } from "../../src/sensor/esloggerBackend.js";
import type { EsloggerInputError } from "../../src/sensor/esloggerReader.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { until } from "../native/es-standin/loadAddon.js";

const here = dirname(fileURLToPath(import.meta.url));
const FAKE = join(here, "..", "fixtures", "fake-eslogger", "eslogger.sh");
const FIXTURES = join(here, "..", "fixtures", "eslogger");
const DUMP_RULE = "4d667968-8a1d-4326-92cd-8c2bed996ab9";

type Gap = Parameters<NonNullable<EsloggerBackendOptions["onGap"]>>[0];

let dir: string;
let backend: SensorBackend | undefined;
const children: ChildProcess[] = [];
const savedEnv = { ...process.env };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-eslogger-"));
  process.env.FAKE_ESLOGGER_LOG = join(dir, "runs.log");
});

afterEach(async () => {
  await backend?.stop();
  backend = undefined;
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const key of Object.keys(process.env)) if (key.startsWith("FAKE_ESLOGGER_") && !(key in savedEnv)) delete process.env[key];
  rmSync(dir, { recursive: true, force: true });
});

/** The fake's run log: one entry per start, with its pid, arguments and whether it had written everything. */
function runs(): { pid: number; args: string; printed: boolean }[] {
  let text = "";
  try {
    text = readFileSync(join(dir, "runs.log"), "utf8");
  } catch {
    return [];
  }
  const lines = text.split("\n");
  return lines
    .filter((l) => l.startsWith("start "))
    .map((l) => {
      const [, pid, ...args] = l.split(" ");
      return { pid: Number(pid), args: args.join(" "), printed: lines.includes(`printed ${pid}`) };
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

interface Started {
  b: SensorBackend;
  events: RawEvent[];
  gaps: Gap[];
  inputErrors: EsloggerInputError[];
}

async function startFake(plan: string, options: EsloggerBackendOptions = {}, onEvents?: (events: RawEvent[]) => void): Promise<Started> {
  process.env.FAKE_ESLOGGER_PLAN = plan;
  const s: Started = { b: undefined as unknown as SensorBackend, events: [], gaps: [], inputErrors: [] };
  s.b = createEsloggerBackend({
    command: FAKE,
    initialBackoffMs: 50,
    onGap: (gap) => s.gaps.push(gap),
    onInputError: (error) => s.inputErrors.push(error),
    ...options,
  });
  backend = s.b;
  await s.b.start((batch) => {
    s.events.push(...batch);
    onEvents?.(batch);
  });
  return s;
}

describe("eslogger backend", () => {
  it("runs `eslogger exec fork exit` and delivers its events as RawEvents from source eslogger", async () => {
    const { b, events, gaps } = await startFake("cat:v6-session.jsonl,wait");
    await until(() => events.length === 6, "6 events");
    expect(b.name).toBe("eslogger");
    expect(runs()).toEqual([expect.objectContaining({ args: "exec fork exit", printed: true })]);
    expect(events.map((e) => [e.source, e.kind, e.pid, e.seq])).toEqual([
      ["eslogger", "fork", 4101, 1],
      ["eslogger", "exec", 4101, 2],
      ["eslogger", "exit", 4101, 3],
      ["eslogger", "fork", 4102, 4],
      ["eslogger", "exec", 4102, 5],
      ["eslogger", "exit", 4102, 6],
    ]);
    expect(events[1]).toMatchObject({ executable: "/usr/bin/security", args: ["security", "dump-keychain", "-d"], auditToken: { pid: 4101, pidversion: 12002 } });
    expect(events.every((e) => e.auth === undefined)).toBe(true);
    // The open message eslogger numbered 4413 was read and skipped: not a drop.
    expect(b.stats()).toMatchObject({ received: 6, delivered: 6, dropped: 0, restarts: 0, inputErrors: 0 });
    expect(gaps).toEqual([]);
    await expect(b.start(() => {})).rejects.toThrow(/already started/);
  });

  it("keeps reading when the consumer throws: the error is reported and later events still arrive", async () => {
    const consumerErrors: unknown[] = [];
    let calls = 0;
    const s = await startFake("cat:v2-exec.jsonl,sleep:0.3,cat:v6-session.jsonl,wait", { onConsumerError: (e) => consumerErrors.push(e) }, () => {
      if (calls++ === 0) throw new Error("bug in the first batch");
    });
    await until(() => s.events.length === 7, "the events after the failing batch");
    expect(consumerErrors.map((e) => (e as Error).message)).toEqual(["bug in the first batch"]);
    expect(s.b.stats()).toMatchObject({ received: 7, delivered: 7, consumerErrors: 1, restarts: 0 });
  });

  it("restarts eslogger after the back-off when it dies, reporting the gap with its exit code and last stderr line", async () => {
    let runsAtGap = -1;
    const s = await startFake(
      "cat:v2-exec.jsonl,err:eslogger: starting,err:eslogger: lost connection to Endpoint Security,exit:3;cat:v10-session.jsonl,wait",
      { initialBackoffMs: 100, onGap: (gap) => { s.gaps.push(gap); runsAtGap = runs().length; } },
    );
    await until(() => s.events.length === 4, "the events of both runs");
    expect(s.gaps).toEqual([{ exitCode: 3, signal: null, stderr: "eslogger: lost connection to Endpoint Security", delayMs: 100, restarts: 1 }]);
    // The gap was reported when the first run had ended and before the second started.
    expect(runsAtGap).toBe(1);
    const [first, second] = runs();
    expect(second.pid).not.toBe(first.pid);
    expect(isAlive(first.pid)).toBe(false);
    expect(s.events.map((e) => [e.kind, e.pid, e.seq])).toEqual([["exec", 300, 1], ["fork", 7010, 2], ["exec", 7010, 3], ["exit", 7010, 4]]);
    expect(s.b.stats()).toMatchObject({ received: 4, delivered: 4, restarts: 1 });
  });

  it("doubles the back-off per consecutive failure up to the maximum; a signal is reported as such", async () => {
    const s = await startFake("err:eslogger: not permitted,exit:1;err:eslogger: not permitted,exit:1;signal:KILL;err:x,exit:2", {
      initialBackoffMs: 20,
      maxBackoffMs: 100,
    });
    await until(() => s.gaps.length >= 6, "six gaps");
    await s.b.stop();
    const gaps = s.gaps.slice(0, 6);
    expect(gaps.map((g) => g.delayMs)).toEqual([20, 40, 80, 100, 100, 100]);
    expect(gaps.map((g) => g.restarts)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(gaps.slice(0, 4).map((g) => [g.exitCode, g.signal, g.stderr])).toEqual([
      [1, null, "eslogger: not permitted"],
      [1, null, "eslogger: not permitted"],
      [null, "SIGKILL", ""],
      [2, null, "x"],
    ]);
  });

  it("a run that lasted healthyAfterMs starts the back-off over", async () => {
    const s = await startFake("exit:1", { initialBackoffMs: 20, healthyAfterMs: 0 });
    await until(() => s.gaps.length >= 3, "three gaps");
    await s.b.stop();
    expect(s.gaps.slice(0, 3).map((g) => g.delayMs)).toEqual([20, 20, 20]);
  });

  it("stop() kills eslogger, resolves after delivering everything it had printed, and does not restart it", async () => {
    const s = await startFake("cat:v6-session.jsonl,cat:v10-session.jsonl,cat:v2-exec.jsonl,wait");
    await until(() => runs()[0]?.printed === true, "the fake to have written its output");
    await s.b.stop();
    expect(s.events).toHaveLength(6 + 3 + 1);
    expect(s.events.at(-1)).toMatchObject({ kind: "exec", pid: 300, args: ["security", "dump-keychain", "-d"] });
    expect(isAlive(runs()[0].pid)).toBe(false);
    expect(s.gaps).toEqual([]);
    expect(s.b.stats()).toMatchObject({ received: 10, delivered: 10, restarts: 0 });
    await new Promise((r) => setTimeout(r, 150)); // three back-off periods: nothing may start again
    expect(runs()).toHaveLength(1);
    await s.b.stop(); // a second stop is a no-op
  });

  it("a missing command is a clear error at start, and the backend can be started again", async () => {
    process.env.FAKE_ESLOGGER_PLAN = "cat:v2-exec.jsonl,wait";
    const gaps: Gap[] = [];
    const b = createEsloggerBackend({ command: join(dir, "no-such-eslogger"), onGap: (g) => gaps.push(g) });
    backend = b;
    const error = await b.start(() => {}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MacsensorError);
    expect((error as Error).message).toBe(`cannot run ${join(dir, "no-such-eslogger")}: not found (eslogger ships with macOS 13 and later)`);
    expect(gaps).toEqual([]);
    await b.stop();

    // A file that cannot be executed says why.
    const notExecutable = join(dir, "eslogger");
    copyFileSync(FAKE, notExecutable);
    chmodSync(notExecutable, 0o644);
    const b2 = createEsloggerBackend({ command: notExecutable });
    backend = b2;
    await expect(b2.start(() => {})).rejects.toThrow(new RegExp(`^cannot run ${notExecutable}: .*EACCES`));
    chmodSync(notExecutable, 0o755);
    // The fixtures are found relative to the script: use absolute paths for this copy.
    process.env.FAKE_ESLOGGER_PLAN = `cat:${join(FIXTURES, "v2-exec.jsonl")},wait`;
    const events: RawEvent[] = [];
    await b2.start((batch) => events.push(...batch));
    await until(() => events.length === 1, "the event of the second start");
    expect(events[0]).toMatchObject({ source: "eslogger", kind: "exec", pid: 300 });
  });

  it("a restart that cannot spawn is reported as a gap and tried again", async () => {
    const copy = join(dir, "eslogger");
    copyFileSync(FAKE, copy);
    chmodSync(copy, 0o755);
    const s = await startFake(`cat:${join(FIXTURES, "v2-exec.jsonl")},exit:5`, {
      command: copy,
      initialBackoffMs: 30,
      onGap: (gap) => {
        s.gaps.push(gap);
        if (s.gaps.length === 1) rmSync(copy); // gone before the restart
        if (s.gaps.length === 3) {
          copyFileSync(FAKE, copy);
          chmodSync(copy, 0o755);
        }
      },
    });
    await until(() => s.events.length === 2, "the event of the run after the command came back");
    expect(s.gaps.slice(0, 3).map((g) => [g.exitCode, g.stderr, g.delayMs])).toEqual([
      [5, "", 30],
      [null, "could not be started", 60],
      [null, "could not be started", 120],
    ]);
    expect(runs()).toHaveLength(2);
  });

  it("seq is the backend's own: +1 per event across restarts; a hole in eslogger's global_seq_num is a drop", async () => {
    const missing = join(here, "..", "fixtures", "fake-eslogger", "exec-missing.jsonl");
    // Run 1: v10 (global 90211, 90212, [90213 a lookup, skipped], 90214). Run 2: a new ES client whose numbers
    // start over (8). Run 3: v6 with its exec (4412) missing; 4413 is an open message, read and skipped.
    const s = await startFake(`cat:v10-session.jsonl,exit:1;cat:v2-exec.jsonl,exit:1;cat:${missing},wait`, { initialBackoffMs: 20 });
    await until(() => s.events.length === 3 + 1 + 5, "the events of the three runs");
    expect(s.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10]);
    expect(s.events.map((e) => e.kind)).toEqual(["fork", "exec", "exit", "exec", "fork", "exit", "fork", "exec", "exit"]);
    expect(s.b.stats()).toMatchObject({ received: 9, delivered: 9, dropped: 1, restarts: 2 });
    // The Pipeline's gap count over these events agrees with the backend.
    const pipeline = new Pipeline({
      map: () => ({}) as EcsEvent,
      detector: () => ({ push: () => [] }),
      actions: () => ({}),
      blockFallback: "report",
      kill: () => null,
      alert: () => undefined,
      onError: (error) => {
        throw error;
      },
    });
    for (const raw of s.events) pipeline.handle(raw);
    expect(pipeline.counts.seqGaps).toBe(1);
  });

  it("a malformed message is reported with its line and the rest is read", async () => {
    const s = await startFake("cat:malformed.jsonl,line:{\"not\": json,cat:v2-exec.jsonl,wait");
    await until(() => s.events.length === 4 && s.inputErrors.length === 4, "the good events and the errors");
    expect(s.events.map((e) => [e.kind, e.pid, e.seq])).toEqual([["fork", 4101, 1], ["exec", 4101, 2], ["exit", 4101, 3], ["exec", 300, 4]]);
    expect(s.inputErrors.map((e) => [e.file, e.line, e.field])).toEqual([
      ["eslogger", 2, undefined],
      ["eslogger", 3, undefined],
      ["eslogger", 4, "event.exec.target.audit_token.pid"],
      ["eslogger", 8, undefined],
    ]);
    expect(s.inputErrors[0]).toBeInstanceOf(MacsensorError);
    expect(s.inputErrors[2].message).toBe('eslogger:4:1: expected an integer, got the string "4101" (field event.exec.target.audit_token.pid)');
    // The three bad objects between the fork (4411) and the exec (4412) are reported, not counted as drops.
    expect(s.b.stats()).toMatchObject({ received: 4, inputErrors: 4, restarts: 0, dropped: 0 });
  });
});

describe("block rules on eslogger: the fallback", () => {
  const loaded = loadRules([shippedRulesPath()]);

  function killProcess(pid: number): string | null {
    try {
      process.kill(pid, "SIGKILL");
      return null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ESRCH" ? "the process had already exited" : String(err);
    }
  }

  /** A real process standing for the `security dump-keychain -d` that eslogger reports. */
  async function victim(): Promise<ChildProcess & { pid: number }> {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(child);
    await new Promise<void>((resolve, reject) => child.once("spawn", resolve).once("error", reject));
    return child as ChildProcess & { pid: number };
  }

  async function runAgent(blockFallback: "kill" | "report", pid: number) {
    expect(loaded.errors).toEqual([]);
    const host = recordedMacHost({ id: "mac-2" });
    const agent = defaultAgent(host);
    const mapper = createEcsMapper({ host, agent });
    const actions = new Map([[DUMP_RULE, "block" as const]]);
    const ruleSet = new RuleSet(loaded.rules, { actions });
    const alerts: EcsEvent[] = [];
    const errors: unknown[] = [];
    const pipeline = new Pipeline({
      map: (raw) => mapper.map(raw),
      detector: () => ({ push: (event) => ruleSet.push(event).map((d) => ({ rule: d.rule.metadata, hit: d.hit })) }),
      actions: () => actions,
      blockFallback,
      kill: killProcess,
      alert: ({ rule, event, response }) => alerts.push(buildAlert({ rule, event, response, agent: { id: agent.id, version: agent.version } })),
      onError: (error) => errors.push(error),
    });
    process.env.FAKE_ESLOGGER_PID = String(pid);
    const s = await startFake(`pid:${join(here, "..", "fixtures", "fake-eslogger", "dump-exec-pid.jsonl")},wait`, {}, (batch) => {
      for (const raw of batch) pipeline.handle(raw);
    });
    await until(() => alerts.length === 1, "the alert");
    expect(errors).toEqual([]);
    expect(s.events[0]).toMatchObject({ kind: "exec", pid, args: ["security", "dump-keychain", "-d"] });
    const alert = alerts[0] as { rule: { id: string }; process: { pid: number }; macsensor: { response: unknown }; event: { type: string[] } };
    expect(alert.rule.id).toBe(DUMP_RULE);
    expect(alert.process.pid).toBe(pid);
    return { alert, pipeline };
  }

  it('"kill": the exec\'d process is killed right after eslogger reports it, and the alert says kill', async () => {
    const child = await victim();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const { alert, pipeline } = await runAgent("kill", child.pid);
    expect(await exited).toBe("SIGKILL");
    expect(alert.macsensor.response).toEqual({ action: "kill", result: "success", reason: "the eslogger backend cannot block; killed after exec" });
    expect(alert.event.type).toEqual(["info", "denied"]);
    expect(pipeline.counts).toMatchObject({ killed: 1, alerts: 1, denied: 0, authAnswered: 0 });
  });

  it('"report": the process keeps running and the alert says report', async () => {
    const child = await victim();
    const { alert, pipeline } = await runAgent("report", child.pid);
    expect(alert.macsensor.response).toEqual({ action: "report", result: "success", reason: "the eslogger backend cannot block; reported only" });
    expect(alert.event.type).toEqual(["info", "allowed"]);
    expect(pipeline.counts).toMatchObject({ killed: 0, alerts: 1 });
    expect(child.exitCode === null && child.signalCode === null).toBe(true);
    expect(isAlive(child.pid)).toBe(true);
  });
});
