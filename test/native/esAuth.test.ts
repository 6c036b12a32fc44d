// The AUTH_EXEC path through the ES stand-in: JavaScript decides, each message is answered exactly once and
// released (also when ES delivers it after an unsubscribe), es_new_client failures become actionable errors.
// The deadline watchdog and the Mach timebases are in esDeadline.test.ts.
import { describe, expect, it } from "vitest";

import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { ES_EVENT, type EsHandle, type MessageSpec, addonPath, until } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

const es = recordEsSessions((addon) => addon.standin.setNewClientResult(0));

function exec(tag: string, args: string[], extra: Partial<MessageSpec> = {}): MessageSpec {
  const executable = args[0].startsWith("/") ? args[0] : `/usr/bin/${args[0]}`;
  return { type: "auth_exec", version: 7, tag, args, process: { pid: 50, executable: "/bin/zsh" }, target: { pid: 50, pidversion: 2, executable }, ...extra };
}

const isKeychainDump = (ev: RawEvent): boolean =>
  ev.executable === "/usr/bin/security" && (ev.args ?? []).some((a) => a === "dump-keychain");

describe("block mode: JavaScript decides", () => {
  it("DENY for a keychain dump, ALLOW otherwise; each answered once, uncached, before the deadline", async () => {
    const h = es.start({ authExec: true }, (ev, hh) => {
      expect(es.addon.respond(hh, ev.auth!.id, !isKeychainDump(ev))).toBe("answered");
    });
    expect([...es.addon.standin.state().subscriptions].sort((a, b) => a - b)).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    es.addon.standin.enqueue([
      exec("dump", ["security", "dump-keychain", "-d"]),
      exec("find", ["security", "find-certificate", "-a"]),
      exec("ls", ["/bin/ls", "-l"]),
    ]);
    await until(() => es.addon.standin.authRecords().every((r) => r.answers === 1) && es.events.length === 3, "3 answers");
    const records = es.addon.standin.authRecords();
    expect(records.map((r) => [r.tag, r.result, r.cache])).toEqual([
      ["dump", "deny", false],
      ["find", "allow", false],
      ["ls", "allow", false],
    ]);
    for (const r of records) expect(r.answerUs!).toBeLessThan(r.deadlineUs);
    // The AUTH event tells JavaScript its own deadline: the watchdog's, before ES's.
    // The stand-in's default deadline is 15 s, so the watchdog answers 12 s after delivery (20% in hand).
    for (const ev of es.events) {
      expect(ev.auth!.deadlineMs - ev.time).toBeGreaterThan(11_000);
      expect(ev.auth!.deadlineMs - ev.time).toBeLessThan(12_500);
    }
    expect(es.addon.esStats(h)).toMatchObject({ allowed: 2, denied: 1, authToJs: 3, watchdogAnswers: 0, retainedNow: 0 });
    expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
  });

  it("report mode does not subscribe AUTH_EXEC; setAuthExec adds AUTH_EXEC beside NOTIFY_EXEC and takes it away", () => {
    const h = es.start({});
    const subs = (): number[] => [...es.addon.standin.state().subscriptions].sort((a, b) => a - b);
    expect(subs()).toEqual([ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    es.addon.setAuthExec(h, true);
    expect(subs()).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
    es.addon.setAuthExec(h, false);
    expect(subs()).toEqual([ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]);
  });
});

describe("deadline budget at every size (macOS 14.4+ short deadlines)", () => {
  for (const deadlineMs of [50, 100, 200, 400]) {
    it(`a ${deadlineMs} ms deadline: the rules decide (JavaScript's DENY reaches ES), fail-closed or not`, async () => {
      const statuses: string[] = [];
      const h = es.start({ authExec: true, failClosed: true }, (ev, hh) => {
        statuses.push(es.addon.respond(hh, ev.auth!.id, !isKeychainDump(ev)));
      });
      es.addon.standin.enqueue([
        exec("dump", ["security", "dump-keychain", "-d"], { deadlineMs }),
        exec("ls", ["/bin/ls"], { deadlineMs }),
      ]);
      await until(() => statuses.length === 2, "two JavaScript answers");
      expect(statuses).toEqual(["answered", "answered"]);
      expect(es.addon.standin.authRecords().map((r) => [r.tag, r.answers, r.result])).toEqual([
        ["dump", 1, "deny"],
        ["ls", 1, "allow"],
      ]);
      expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 0, shortDeadlineAllows: 0, retainedNow: 0 });
      expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
    });

    it(`a ${deadlineMs} ms deadline with JavaScript stalled: the watchdog answers (fail-closed: DENY) before ES's deadline`, async () => {
      const statuses: string[] = [];
      // JavaScript answers only after the deadline (busy elsewhere; a spinning thread would also starve the
      // watchdog of the CPU on a loaded test machine, which is not what this test is about).
      const h = es.start({ authExec: true, failClosed: true }, (ev, hh) => {
        setTimeout(() => statuses.push(es.addon.respond(hh, ev.auth!.id, true)), deadlineMs + 20);
      });
      es.addon.standin.enqueue(exec("stalled", ["/bin/ls"], { deadlineMs }));
      await until(() => statuses.length === 1, "the late JavaScript answer");
      expect(statuses).toEqual(["tooLate"]);
      expect(es.addon.standin.authRecords()[0]).toMatchObject({ answers: 1, result: "deny" });
      expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 1, shortDeadlineAllows: 0 });
      expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [] });
    });
  }

  it("a critical binary's tiny deadline: allowed at once even fail-closed, counted, and still reported to the rules", async () => {
    const statuses: string[] = [];
    const h = es.start(
      { authExec: true, failClosed: true, prefilter: { executableBasename: ["xpcproxy"] } },
      (ev, hh) => statuses.push(es.addon.respond(hh, ev.auth!.id, false)),
    );
    // A candidate (the pre-filter lets xpcproxy through) with 8 ms left: 10 ms margin, nothing for the rules.
    es.addon.standin.enqueue([
      exec("critical", ["/usr/libexec/xpcproxy", "com.apple.x"], { deadlineMs: 8 }),
      exec("critical-noncandidate", ["/usr/libexec/trustd"], { deadlineMs: 8 }),
    ]);
    // The non-candidate is answered natively and reported by its NOTIFY (none is scripted here), not by its AUTH.
    await until(() => statuses.length === 1 && es.addon.standin.authRecords().every((r) => r.answers === 1), "the answers");
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.answers, r.result, r.cache])).toEqual([
      ["critical", 1, "allow", false],
      ["critical-noncandidate", 1, "allow", false],
    ]);
    expect(statuses).toEqual(["tooShort"]);
    expect(es.events.map((e) => e.auth?.id !== undefined)).toEqual([true]); // only the candidate reaches the rules
    expect(es.addon.esStats(h)).toMatchObject({
      shortDeadlineAllows: 1, prefiltered: 1, watchdogAnswers: 0, denied: 0, allowed: 2, lateJsAnswers: 0, pendingAuth: 0, retainedNow: 0,
    });
    expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
  });

  it("the margin and the rules' minimum are options: bad values are refused with the option's name", () => {
    expect(() => es.addon.startEs({ deadlineMarginMs: 0 }, () => {})).toThrow(/deadlineMarginMs.*1 to 1000/);
    expect(() => es.addon.startEs({ minRuleMs: 1.5 }, () => {})).toThrow(/minRuleMs/);
    expect(es.addon.standin.state().clientAlive).toBe(false);
    // A larger minimum makes a 100 ms deadline too short (80 ms for the rules < 90 ms).
    const h = es.start({ authExec: true, minRuleMs: 90 });
    es.addon.standin.enqueue(exec("short", ["/bin/ls"], { deadlineMs: 100 }));
    expect(es.addon.standin.waitIdle()).toBe(true);
    expect(es.addon.standin.authRecords()[0]).toMatchObject({ answers: 1, result: "allow" });
    expect(es.addon.esStats(h)).toMatchObject({ shortDeadlineAllows: 1, watchdogAnswers: 0 });
  });
});

describe("exactly one answer", () => {
  it("a second JavaScript answer gets 'duplicate' and never reaches ES; an unknown id gets 'unknown'", async () => {
    const statuses: string[] = [];
    const h = es.start({ authExec: true }, (ev, hh) => {
      statuses.push(es.addon.respond(hh, ev.auth!.id, true), es.addon.respond(hh, ev.auth!.id, false));
    });
    es.addon.standin.enqueue(exec("once", ["/bin/ls"]));
    await until(() => statuses.length === 2, "two answers");
    expect(statuses).toEqual(["answered", "duplicate"]);
    expect(es.addon.respond(h, 987654, true)).toBe("unknown");
    expect(es.addon.standin.authRecords()[0]).toMatchObject({ answers: 1, result: "allow" });
    expect(es.addon.esStats(h)).toMatchObject({ duplicateJsAnswers: 1, unknownJsAnswers: 1 });
    expect(es.addon.standin.state().violations).toEqual([]);
  });

  it("JavaScript and the watchdog racing for the same messages: each still answered exactly once", async () => {
    const statuses: string[] = [];
    const h = es.start({ authExec: true }, (ev, hh) => {
      setTimeout(() => statuses.push(es.addon.respond(hh, ev.auth!.id, true)), Math.random() * 1600);
    });
    // The watchdog moments are spread over 800–960 ms after delivery (80% of 1–1.2 s) and the JavaScript
    // answers over 0–1.6 s, so some come first and some after the watchdog, whatever the machine's load.
    const n = 100;
    es.addon.standin.enqueue(Array.from({ length: n }, (_, i) => exec(`r${i}`, ["/bin/ls"], { deadlineMs: 1000 + 2 * i })));
    await until(() => statuses.length === n, "every JavaScript answer");
    const records = es.addon.standin.authRecords();
    expect(records.every((r) => r.answers === 1 && r.result === "allow")).toBe(true);
    const late = statuses.filter((s) => s === "tooLate").length;
    expect(statuses.filter((s) => s === "answered").length + late).toBe(n);
    expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: late, lateJsAnswers: late, retainedNow: 0, pendingAuth: 0 });
    expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
  });

  it("stop answers everything pending (ALLOW), releases every retained message, and drains events to JS", async () => {
    const h = es.start({ authExec: true }); // JavaScript never answers
    es.addon.standin.enqueue([exec("a", ["/bin/ls"]), exec("b", ["/bin/ps"]), exec("c", ["/bin/df"])]);
    expect(es.addon.standin.waitIdle()).toBe(true);
    expect(es.addon.esStats(h)).toMatchObject({ pendingAuth: 3, retainedNow: 3 });
    expect(es.addon.standin.state().liveMessages).toBe(3);
    es.stop();
    expect(es.events).toHaveLength(3);
    expect(es.addon.standin.authRecords().map((r) => [r.answers, r.result])).toEqual([[1, "allow"], [1, "allow"], [1, "allow"]]);
    const state = es.addon.standin.state();
    expect(state).toMatchObject({ clientAlive: false, liveMessages: 0, killed: false, violations: [] });
    expect(state.retains).toBe(state.releases);
    expect(es.addon.esStats(h)).toMatchObject({ pendingAuth: 0, retainedNow: 0 });
    // Events drained at stop may still be answered by the rules: too late, stop answered them.
    expect(es.addon.respond(h, es.events[0].auth!.id, false)).toBe("tooLate");
    expect(es.addon.standin.authRecords()[0].answers).toBe(1);
  });

  it("an environment torn down without stopEs (a worker exiting) stops its client and answers what is pending", async () => {
    const { Worker } = await import("node:worker_threads");
    const code = `
      const { workerData } = require("node:worker_threads");
      const a = require(workerData);
      a.startEs({ authExec: true }, () => {});
      a.standin.enqueue({ type: "auth_exec", version: 7, tag: "w", args: ["ls"], target: { pid: 9, executable: "/bin/ls" } });
      a.standin.waitIdle();`;
    const worker = new Worker(code, { eval: true, workerData: addonPath });
    await new Promise((resolve, reject) => {
      worker.on("exit", resolve);
      worker.on("error", reject);
    });
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.answers, r.result])).toEqual([["w", 1, "allow"]]);
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, liveMessages: 0, killed: false, violations: [] });
  });

  it("control calls after stop throw a clear error; respond just reports the id as unknown", () => {
    const h = es.start({});
    es.stop();
    expect(es.addon.respond(h, 1, true)).toBe("unknown");
    expect(() => es.addon.setAuthExec(h, true)).toThrow(/stopped/);
  });

  it("an AUTH exec the queue cannot take is answered at once natively, and the gap shows in seq", async () => {
    const h = es.start({ authExec: true, queueCapacity: 1 });
    es.addon.standin.enqueue([exec("q1", ["/bin/ls"]), exec("q2", ["/bin/ls"]), exec("q3", ["/bin/ls"])]);
    expect(es.addon.standin.waitIdle()).toBe(true); // JavaScript is blocked here: the queue holds one event
    const records = es.addon.standin.authRecords();
    expect(records.map((r) => r.answers)).toEqual([0, 1, 1]);
    expect(es.addon.esStats(h)).toMatchObject({ queueDrops: 2, pendingAuth: 1 });
    await until(() => es.events.length === 1, "the queued event");
    expect(es.events[0].seq).toBe(1);
    expect(es.addon.respond(h, es.events[0].auth!.id, true)).toBe("answered");
    expect(es.addon.standin.state()).toMatchObject({ killed: false, liveMessages: 0 });
  });
});

describe("messages ES queued before an unsubscribe are still delivered", () => {
  it("back to NOTIFY_EXEC: AUTH execs queued before the unsubscribe arrive and JavaScript answers each once", async () => {
    const h = es.start({ authExec: true }, (ev, hh) => {
      expect(es.addon.respond(hh, ev.auth!.id, !isKeychainDump(ev))).toBe("answered");
    });
    es.addon.standin.holdDelivery(true);
    es.addon.standin.enqueue([exec("dump", ["security", "dump-keychain"]), exec("ls", ["/bin/ls"])]);
    es.addon.setAuthExec(h, false);
    expect(es.addon.standin.state().subscriptions).not.toContain(ES_EVENT.AUTH_EXEC);
    es.addon.standin.holdDelivery(false); // ES delivers what it queued while AUTH_EXEC was subscribed
    await until(() => es.addon.standin.authRecords().every((r) => r.answers === 1) && es.events.length === 2, "2 answers");
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.delivered, r.result])).toEqual([
      ["dump", true, "deny"],
      ["ls", true, "allow"],
    ]);
    expect(es.addon.esStats(h)).toMatchObject({ authToJs: 2, watchdogAnswers: 0, retainedNow: 0, pendingAuth: 0 });
    expect(es.addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
  });

  for (const failClosed of [false, true]) {
    const result = failClosed ? "deny" : "allow";
    it(`stop: AUTH execs ES delivers after es_unsubscribe_all are answered (${result}) before the client goes, nothing held`, async () => {
      const h = es.start({ authExec: true, failClosed }); // JavaScript never answers
      // Held until stop's es_unsubscribe_all, which returns once ES delivered all three: before es_delete_client.
      es.addon.standin.holdDelivery("untilUnsubscribe");
      es.addon.standin.enqueue([exec("a", ["/bin/ls"]), exec("b", ["/bin/ps"]), exec("c", ["/bin/df"])]);
      es.stop();
      expect(es.addon.standin.authRecords().map((r) => [r.tag, r.delivered, r.answers, r.result])).toEqual([
        ["a", true, 1, result],
        ["b", true, 1, result],
        ["c", true, 1, result],
      ]);
      expect(es.events.map((ev) => ev.args?.[0])).toEqual(["/bin/ls", "/bin/ps", "/bin/df"]); // drained at stop
      const state = es.addon.standin.state();
      expect(state).toMatchObject({ clientAlive: false, liveMessages: 0, killed: false, violations: [] });
      expect(state.retains).toBe(state.releases);
      expect(es.addon.esStats(h)).toMatchObject({ pendingAuth: 0, retainedNow: 0, respondErrors: 0 });
    });
  }

  it("what ES still holds queued when the client is deleted is dropped: never delivered, no answer owed", () => {
    es.start({ authExec: true });
    es.addon.standin.holdDelivery(true);
    es.addon.standin.enqueue([exec("a", ["/bin/ls"]), exec("b", ["/bin/ps"])]);
    es.stop();
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.delivered, r.dropped, r.answers])).toEqual([
      ["a", false, true, 0],
      ["b", false, true, 0],
    ]);
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, liveMessages: 0, killed: false, violations: [] });
  });
});

describe("es_new_client failures", () => {
  const cases: [number, string, RegExp][] = [
    [5, "ES_NOT_PRIVILEGED", /root/],
    [3, "ES_NOT_ENTITLED", /entitlement.*main executable.*provisioning profile.*--backend eslogger/s],
    [4, "ES_NOT_PERMITTED", /Full Disk Access.*launchd\/profiles\/macsensor-pppc\.mobileconfig/s],
    [6, "ES_TOO_MANY_CLIENTS", /too many Endpoint Security clients/],
    [2, "ES_INTERNAL", /internal error/],
  ];
  for (const [result, code, message] of cases) {
    it(`${code}: one actionable message`, () => {
      es.addon.standin.setNewClientResult(result);
      let error: (Error & { code?: string }) | undefined;
      try {
        es.track(es.addon.startEs({}, () => {}));
      } catch (e) {
        error = e as Error & { code?: string };
      }
      expect(error?.code).toBe(code);
      expect(error?.message).toMatch(message);
      expect(es.addon.standin.state().clientAlive).toBe(false);
    });
  }

  it("something that is not an ES handle is refused, never used", () => {
    const fake = {} as EsHandle;
    expect(() => es.addon.respond(fake, 1, true)).toThrow(/handle returned by startEs/);
    expect(() => es.addon.esStats(fake)).toThrow(/handle returned by startEs/);
    expect(() => es.addon.stopEs(fake)).toThrow(/handle returned by startEs/);
  });

  it("bad options are refused with the option's name", () => {
    expect(() => es.addon.startEs({ queueCapacity: 0 }, () => {})).toThrow(/queueCapacity/);
    expect(() => es.addon.startEs({ captureEnv: [1 as unknown as string] }, () => {})).toThrow(/captureEnv\[0\]/);
    expect(() => es.addon.startEs({ failClosed: "yes" as unknown as boolean }, () => {})).toThrow(/failClosed/);
    expect(es.addon.standin.state().clientAlive).toBe(false);
  });
});

describe("mute and unsubscribe results", () => {
  it("refuses to start when muting itself fails, with a clear error, and leaves no client behind", () => {
    es.addon.standin.failCalls(["es_mute_process"]);
    let error: (Error & { code?: string }) | undefined;
    try {
      es.track(es.addon.startEs({ authExec: true }, () => {}));
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error?.code).toBe("ES_MUTE_SELF");
    expect(error?.message).toMatch(/es_mute_process failed for macsensor itself; refusing to start/);
    expect(es.addon.standin.injectedFailures()).toBe(1);
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, violations: [] });
  });

  it("starts without muting itself only when asked to (muteSelf: false)", () => {
    es.addon.standin.failCalls(["es_mute_process"]);
    es.start({ muteSelf: false });
    expect(es.addon.standin.injectedFailures()).toBe(0);
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: true, mutedPids: [] });
  });

  it("refuses to start when a mute.executables path cannot be muted, naming the path", () => {
    es.addon.standin.failCalls(["es_mute_path"]);
    expect(() => es.track(es.addon.startEs({ muteExecutables: ["/usr/local/bin/noisy"] }, () => {}))).toThrow(
      /refused to mute \/usr\/local\/bin\/noisy \(mute\.executables\)/,
    );
    expect(es.addon.standin.state().clientAlive).toBe(false);
    // Muting itself worked and is not the complaint.
    es.addon.standin.failCalls([]);
    es.start({ muteExecutables: ["/usr/local/bin/noisy"] });
    expect(es.addon.standin.state().mutedPaths).toContainEqual({ path: "/usr/local/bin/noisy", type: 1 });
  });

  it("a failed unsubscribe is counted, not fatal: it only leaves more subscribed, so no exec goes unseen", () => {
    const h = es.start({});
    es.addon.setAuthExec(h, true);
    es.addon.standin.failCalls(["es_unsubscribe"]);
    es.addon.setAuthExec(h, false);
    const subs = [...es.addon.standin.state().subscriptions].sort((a, b) => a - b);
    expect(subs).toEqual([ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT].sort((a, b) => a - b));
    expect(es.addon.esStats(h)).toMatchObject({ unsubscribeErrors: 1 });
    es.addon.standin.failCalls(["es_unsubscribe_all"]);
    es.stop();
    expect(es.addon.esStats(h)).toMatchObject({ unsubscribeErrors: 2 });
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, violations: [] });
  });
});
