// The whole blocking path on Linux through the ES stand-in, with the real parts: the shipped rules, the ECS
// mapper, the Pipeline, buildAlert and the ES backend. Only ES itself is the stand-in (test/native/es-standin).
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { Pipeline, type AuthAnswerStatus } from "../../src/agent/pipeline.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { defaultAgent, recordedMacHost } from "../../src/ecs/agent.js";
import { createEcsMapper, type EcsMapper } from "../../src/ecs/mapper.js";
import { buildAlert } from "../../src/response/alert.js";
import { loadRules } from "../../src/rules/loader.js";
import type { LoadedRule } from "../../src/rules/ruleFile.js";
import type { RuleAction } from "../../src/rules/ruleMetadata.js";
import { RuleSet } from "../../src/rules/ruleSet.js";
import { shippedRulesPath } from "../../src/rules/shippedRules.js";
import { createEsBackend, type EsBackend, type EsBinding, type EsRespondStatus } from "../../src/sensor/esBackend.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import {
  ES_EVENT, type EsTestAddon, type MessageSpec, loadEsTestAddon, until,
} from "../native/es-standin/loadAddon.js";

const DUMP_RULE = "4d667968-8a1d-4326-92cd-8c2bed996ab9";

let addon: EsTestAddon;
let rules: LoadedRule[];
let running: Harness | undefined;
let lastMapper: EcsMapper | undefined;

beforeAll(() => {
  addon = loadEsTestAddon();
  const loaded = loadRules([shippedRulesPath()]);
  expect(loaded.errors).toEqual([]);
  rules = loaded.rules;
}, 300_000);

afterEach(async () => {
  await running?.backend.stop();
  running = undefined;
  // Whatever a test did, ES must never have killed the client (missed deadline, double answer).
  expect(addon.standin.state()).toMatchObject({ killed: false, violations: [] });
  addon.standin.reset();
});

const STATUS: Record<EsRespondStatus, AuthAnswerStatus> = {
  answered: "ok",
  tooLate: "late",
  tooShort: "short",
  duplicate: "late",
  unknown: "unknown",
  error: "error",
};

interface Harness {
  backend: EsBackend;
  pipeline: Pipeline;
  ruleSet: RuleSet;
  alerts: EcsEvent[];
  raws: RawEvent[];
  errors: unknown[];
}

/** The agent's wiring (src/agent), built from the real parts with the stand-in addon as the ES binding. */
async function startBlocking(actions: Record<string, RuleAction>, options: { queueCapacity?: number; failClosed?: boolean } = {}): Promise<Harness> {
  const host = recordedMacHost({ id: "mac-1", name: "Bobs-MacBook" });
  const agent = defaultAgent(host);
  const mapper = createEcsMapper({ host, agent, now: () => 1_700_000_000_000 });
  lastMapper = mapper;
  const ruleSet = new RuleSet(rules, { actions: new Map(Object.entries(actions)) });
  expect(ruleSet.unknownActionIds()).toEqual([]);
  const blockRules = rules.filter((r) => ruleSet.actionFor(r.metadata.ruleId) === "block").map((r) => r.query.ast);
  const backend = createEsBackend({ binding: addon as unknown as EsBinding, blockRules, ...options });
  const h: Harness = { backend, ruleSet, alerts: [], raws: [], errors: [], pipeline: undefined as unknown as Pipeline };
  h.pipeline = new Pipeline({
    map: (raw) => mapper.map(raw),
    preview: (raw) => mapper.preview?.(raw) ?? mapper.map(raw),
    detector: () => ({
      push: (event) => ruleSet.push(event).map((d) => ({ rule: d.rule.metadata, hit: d.hit })),
    }),
    actions: () => actions,
    respond: (id, allow) => STATUS[backend.respond(id, allow)],
    blockFallback: "report",
    failClosed: options.failClosed === true,
    kill: (pid) => {
      throw new Error(`no kill expected on the ES backend (pid ${pid})`);
    },
    alert: ({ rule, event, sequenceEvents, response }) =>
      h.alerts.push(buildAlert({ rule, event, response, agent: { id: agent.id, version: agent.version }, ...(sequenceEvents ? { sequenceEvents } : {}) })),
    onError: (error) => h.errors.push(error),
  });
  await backend.start((batch) => {
    for (const raw of batch) {
      h.raws.push(raw);
      h.pipeline.handle(raw);
    }
  });
  running = h;
  return h;
}

interface ExecSpec {
  tag: string;
  args: string[];
  executable?: string;
  pid: number;
  pidversion?: number;
  signingId?: string;
  type?: "auth_exec" | "notify_exec";
}

function execMessage(spec: ExecSpec): MessageSpec {
  const executable = spec.executable ?? (spec.args[0].startsWith("/") ? spec.args[0] : `/usr/bin/${spec.args[0]}`);
  return {
    type: spec.type ?? "auth_exec",
    version: 7,
    tag: spec.tag,
    args: spec.args,
    process: { pid: spec.pid, pidversion: 1, executable: "/bin/zsh", ppid: 400, euid: 501, ruid: 501 },
    target: {
      pid: spec.pid,
      pidversion: spec.pidversion ?? 2,
      ppid: 400,
      euid: 501,
      ruid: 501,
      executable,
      ...(spec.signingId ? { signingId: spec.signingId, platformBinary: true } : {}),
    },
  };
}

/** Enqueues the messages; waits for `expected` events in JavaScript (default: one per message) and every AUTH answered. */
async function deliver(h: Harness, specs: MessageSpec[], expected = specs.length): Promise<void> {
  const before = h.raws.length;
  addon.standin.enqueue(specs);
  const auths = specs.filter((s) => s.type === "auth_exec").map((s) => s.tag);
  await until(
    () =>
      h.raws.length === before + expected &&
      addon.standin.authRecords().filter((r) => auths.includes(r.tag)).every((r) => r.answers >= 1),
    "every message delivered and every AUTH answered",
  );
}

const record = (tag: string) => {
  const r = addon.standin.authRecords().find((x) => x.tag === tag);
  if (!r) throw new Error(`no AUTH record ${tag}`);
  return r;
};

/** A dotted path into an alert document. */
function at(doc: EcsEvent, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), doc);
}

const dumpArgs = ["security", "dump-keychain", "-d", "/Users/bob/Library/Keychains/login.keychain-db"];

describe("ES blocking through the stand-in with the shipped rules", () => {
  it("denies the keychain dump before the deadline, exactly once; the pre-filter allows the rest natively", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" });
    expect([...addon.standin.state().subscriptions].sort((a, b) => a - b)).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    await deliver(
      h,
      [
        execMessage({ tag: "dump", args: dumpArgs, pid: 601, signingId: "com.apple.security" }),
        execMessage({ tag: "list", args: ["security", "list-keychains"], pid: 602, signingId: "com.apple.security" }),
        execMessage({ tag: "ls", args: ["/bin/ls", "-l", "/tmp"], pid: 603 }),
        // ES sends a NOTIFY for the two that ran; none for the denied dump.
        execMessage({ type: "notify_exec", tag: "list-n", args: ["security", "list-keychains"], pid: 602, signingId: "com.apple.security" }),
        execMessage({ type: "notify_exec", tag: "ls-n", args: ["/bin/ls", "-l", "/tmp"], pid: 603 }),
      ],
      3,
    );

    for (const tag of ["dump", "list", "ls"]) {
      const r = record(tag);
      expect(r.answers).toBe(1);
      expect(r.cache).toBe(false);
      expect(r.answerUs!).toBeLessThan(r.deadlineUs);
    }
    expect(["dump", "list", "ls"].map((t) => record(t).result)).toEqual(["deny", "allow", "allow"]);

    // Only the dump reached JavaScript as an AUTH request; the other two only by their NOTIFY.
    expect(h.raws.map((r) => [r.pid, r.auth !== undefined])).toEqual([[601, true], [602, false], [603, false]]);
    expect(h.backend.stats()).toMatchObject({ received: 5, prefiltered: 2, authToJs: 1, denied: 1, allowed: 2, watchdogAnswers: 0, retainedNow: 0 });

    expect(h.alerts).toHaveLength(1);
    const alert = h.alerts[0];
    expect(at(alert, "rule")).toMatchObject({ id: DUMP_RULE, name: "Keychain Secrets Dumped via Security Command" });
    expect(at(alert, "macsensor.response")).toEqual({ action: "block", result: "success" });
    expect(at(alert, "event")).toMatchObject({ kind: "alert", type: ["info", "denied"], outcome: "success", module: "macsensor" });
    expect(at(alert, "macsensor.original_event")).toMatchObject({ action: "exec", type: ["denied"], outcome: "failure" });
    expect(at(alert, "process")).toMatchObject({ pid: 601, name: "security", executable: "/usr/bin/security", args: dumpArgs });
    // The denied image never entered the process table: pid 601 is unknown to it, as before the attempt.
    expect(lastMapper!.table.get(601)).toBeUndefined();
    expect(lastMapper!.table.get(602)?.executable).toBe("/usr/bin/security");
    expect(at(alert, "host")).toMatchObject({ id: "mac-1", os: { type: "macos" } });
    expect(h.pipeline.counts).toMatchObject({ events: 3, alerts: 1, denied: 1, execsDenied: 1, authAnswered: 1, authLate: 0, errors: 0 });
    expect(h.errors).toEqual([]);
  });

  it("fail-closed, a deadline too short for the rules: allowed at once, and the rule's alert says the block failed and why", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" }, { failClosed: true });
    await deliver(h, [{ ...execMessage({ tag: "dump", args: dumpArgs, pid: 620, signingId: "com.apple.security" }), deadlineMs: 8 }]);
    await until(() => h.alerts.length === 1, "the alert");
    expect(record("dump")).toMatchObject({ answers: 1, result: "allow", cache: false });
    expect(at(h.alerts[0], "macsensor.response")).toEqual({
      action: "block",
      result: "failure",
      reason: "its deadline left too little time for the rules, so it was allowed at once",
    });
    expect(h.backend.stats()).toMatchObject({ shortDeadlineAllows: 1, watchdogAnswers: 0, denied: 0 });
    expect(h.pipeline.counts).toMatchObject({ denied: 0, authLate: 0, errors: 0 });
  });

  it("a renamed copy of security is still denied: the pre-filter keys on the arguments, the rule on the signing id", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" });
    await deliver(h, [
      execMessage({ tag: "renamed", args: ["/tmp/sec", "dump-keychain", "-d"], pid: 610, signingId: "com.apple.security" }),
      // Same arguments, not Apple's tool and not named security: a candidate for the pre-filter, allowed by the rule.
      execMessage({ tag: "other", args: ["/tmp/sec", "dump-keychain", "-d"], pid: 611, signingId: "com.example.sec" }),
    ]);
    expect(record("renamed")).toMatchObject({ answers: 1, result: "deny" });
    expect(record("other")).toMatchObject({ answers: 1, result: "allow" });
    expect(h.backend.stats()).toMatchObject({ prefiltered: 0, authToJs: 2, denied: 1, allowed: 1 });
    expect(h.alerts.map((a) => [at(a, "process.name"), at(a, "process.pid")])).toEqual([["sec", 610]]);
    expect(at(h.alerts[0], "macsensor.response")).toEqual({ action: "block", result: "success" });
  });

  it("action report: the dump is allowed and alerted with report (another rule's block keeps AUTH on, unfiltered)", async () => {
    const PASSWORD_RULE = rules.find((r) => r.metadata.name.includes("Password"))!.metadata.ruleId;
    const h = await startBlocking({ [DUMP_RULE]: "report", [PASSWORD_RULE]: "block" });
    await deliver(h, [
      execMessage({ tag: "dump", args: dumpArgs, pid: 620, signingId: "com.apple.security" }),
      execMessage({ tag: "ls", args: ["/bin/ls"], pid: 621 }),
    ]);
    // The password rule's conditions are all regexes: no safe pre-filter, so every AUTH exec goes to JavaScript.
    expect(h.backend.stats()).toMatchObject({ prefiltered: 0, authToJs: 2, denied: 0, allowed: 2 });
    expect(record("dump")).toMatchObject({ answers: 1, result: "allow" });
    // Allowed, but not started yet: the alert waits for the NOTIFY (another ES client could still deny the exec).
    expect(h.alerts).toHaveLength(0);
    await deliver(h, [execMessage({ type: "notify_exec", tag: "dump-n", args: dumpArgs, pid: 620, signingId: "com.apple.security" })]);
    expect(h.alerts).toHaveLength(1);
    const alert = h.alerts[0];
    expect(at(alert, "rule.id")).toBe(DUMP_RULE);
    expect(at(alert, "macsensor.response")).toEqual({ action: "report", result: "success" });
    expect(at(alert, "event.type")).toEqual(["info", "allowed"]);
    expect(h.pipeline.counts.denied).toBe(0);
  });

  it("a NOTIFY_EXEC for an exec already allowed through AUTH (same pid, pidversion) raises its alert, rules not run again", async () => {
    const PASSWORD_RULE = rules.find((r) => r.metadata.name.includes("Password"))!.metadata.ruleId;
    const h = await startBlocking({ [DUMP_RULE]: "report", [PASSWORD_RULE]: "block" });
    await deliver(h, [execMessage({ tag: "dump", args: dumpArgs, pid: 630, pidversion: 7, signingId: "com.apple.security" })]);
    expect(record("dump").result).toBe("allow");
    expect(h.alerts).toHaveLength(0);
    // Switching AUTH off leaves NOTIFY_EXEC on; the NOTIFY for the same image comes after the AUTH.
    h.backend.setBlockRules([]);
    await deliver(h, [
      execMessage({ type: "notify_exec", tag: "dump-notify", args: dumpArgs, pid: 630, pidversion: 7, signingId: "com.apple.security" }),
      // A later exec of the same pid is a new image (new pidversion): it is alerted again.
      execMessage({ type: "notify_exec", tag: "dump-again", args: dumpArgs, pid: 630, pidversion: 8, signingId: "com.apple.security" }),
    ]);
    expect(h.raws.map((r) => [r.auditToken?.pidversion, r.auth !== undefined])).toEqual([[7, true], [7, false], [8, false]]);
    expect(h.pipeline.counts).toMatchObject({ notifyPaired: 1, events: 2, alerts: 2 });
    expect(h.alerts.map((a) => at(a, "process.pid"))).toEqual([630, 630]);
    expect(h.alerts.map((a) => at(a, "macsensor.response.action"))).toEqual(["report", "report"]);
  });

  it("a dump still pending when the agent stops: stop answers ALLOW once, and the alert says the block failed", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" });
    addon.standin.enqueue(execMessage({ tag: "pending", args: dumpArgs, pid: 650, signingId: "com.apple.security" }));
    // JavaScript does not run while this test waits: the AUTH event is still queued for it when stop begins.
    expect(addon.standin.waitIdle()).toBe(true);
    expect(h.raws).toHaveLength(0);
    await h.backend.stop();
    running = undefined;
    expect(record("pending")).toMatchObject({ answers: 1, result: "allow" });
    expect(h.raws).toHaveLength(1);
    expect(h.alerts.map((a) => at(a, "macsensor.response"))).toEqual([
      { action: "block", result: "failure", reason: "the AUTH request was no longer pending" },
    ]);
    expect(at(h.alerts[0], "event.outcome")).toBe("failure");
    expect(h.pipeline.counts).toMatchObject({ denied: 0, alerts: 1 });
    expect(h.backend.stats()).toMatchObject({ pendingAuth: 0, retainedNow: 0, denied: 0 });
  });

  it("AUTH execs the queue cannot take are allowed natively and counted; the Pipeline sees them as the same seq gap", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" }, { queueCapacity: 1 });
    addon.standin.enqueue([
      execMessage({ tag: "q1", args: dumpArgs, pid: 660, signingId: "com.apple.security" }),
      execMessage({ tag: "q2", args: dumpArgs, pid: 661, signingId: "com.apple.security" }),
      execMessage({ tag: "q3", args: dumpArgs, pid: 662, signingId: "com.apple.security" }),
    ]);
    expect(addon.standin.waitIdle()).toBe(true); // JavaScript is blocked here: the queue holds one event
    expect([record("q2"), record("q3")].map((r) => [r.answers, r.result])).toEqual([[1, "allow"], [1, "allow"]]);
    await until(() => record("q1").answers === 1, "the queued dump answered by the rules");
    await deliver(h, [execMessage({ tag: "q4", args: dumpArgs, pid: 663, signingId: "com.apple.security" })]);
    expect([record("q1").result, record("q4").result]).toEqual(["deny", "deny"]);
    expect(h.raws.map((r) => [r.pid, r.seq])).toEqual([[660, 1], [663, 4]]);
    expect(h.backend.stats()).toMatchObject({ dropped: 2, queueDrops: 2, denied: 2 });
    expect(h.pipeline.counts).toMatchObject({ seqGaps: 2, denied: 2, alerts: 2 });
  });

  it("setBlockRules([]) unsubscribes AUTH_EXEC and drops the pre-filter; block rules again subscribe it", async () => {
    const h = await startBlocking({ [DUMP_RULE]: "block" });
    const subs = (): number[] => [...addon.standin.state().subscriptions].sort((a, b) => a - b);
    expect(subs()).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    h.backend.setBlockRules([]);
    expect(subs()).toEqual([ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    // An AUTH exec is no longer delivered at all; the NOTIFY of the dump is reported, not blocked.
    await deliver(h, [execMessage({ type: "notify_exec", tag: "n", args: dumpArgs, pid: 640, signingId: "com.apple.security" })]);
    addon.standin.enqueue(execMessage({ tag: "a", args: dumpArgs, pid: 641, signingId: "com.apple.security" }));
    expect(addon.standin.waitIdle()).toBe(true);
    expect(addon.standin.authRecords()).toEqual([]);
    expect(addon.standin.state().suppressed).toBe(1);
    expect(h.alerts).toHaveLength(1);
    // The rule set still says block, but a NOTIFY cannot be denied: the alert says the block did not happen.
    expect(at(h.alerts[0], "macsensor.response")).toEqual({
      action: "block",
      result: "failure",
      reason: "the exec arrived without an AUTH request (AUTH_EXEC was not subscribed at that moment), so it ran",
    });

    const dump = rules.find((r) => r.metadata.ruleId === DUMP_RULE)!;
    h.backend.setBlockRules([dump.query.ast]);
    expect(subs()).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    await deliver(
      h,
      [
        execMessage({ tag: "dump2", args: dumpArgs, pid: 642, signingId: "com.apple.security" }),
        execMessage({ tag: "ls2", args: ["/bin/ls"], pid: 643 }),
      ],
      1,
    );
    expect([record("dump2").result, record("ls2").result]).toEqual(["deny", "allow"]);
    expect(h.backend.stats()).toMatchObject({ prefiltered: 1, authToJs: 1 });
  });
});
