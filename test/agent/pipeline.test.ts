import { describe, expect, it } from "vitest";
import { Pipeline, type AlertRequest, type AuthAnswerStatus, type EvalOverrun, type PipelineDeps, type StoppedEvent } from "../../src/agent/pipeline.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import type { RuleAction } from "../../src/rules/ruleMetadata.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { ruleMetadata } from "../helpers/ruleMetadata.js";

const dumpRule = ruleMetadata("dump");

function exec(overrides: Partial<RawEvent> = {}): RawEvent {
  return { source: "es", kind: "exec", seq: 1, time: 0, pid: 812, args: ["security", "dump-keychain", "-d"], ...overrides };
}

interface Harness {
  deps: PipelineDeps;
  alerts: AlertRequest[];
  answers: Array<[number, boolean]>;
  kills: number[];
  errors: unknown[];
}

function harness(options: { actions?: Record<string, RuleAction>; answerStatus?: AuthAnswerStatus; canBlock?: boolean; killFails?: boolean; fallback?: "kill" | "report" } = {}): Harness {
  const h: Harness = { alerts: [], answers: [], kills: [], errors: [], deps: undefined as unknown as PipelineDeps };
  h.deps = {
    map: (raw) => ({ process: { pid: raw.pid, args: raw.args }, ...(raw.file ? { file: { path: raw.file.path } } : {}) }) as EcsEvent,
    detector: () => ({
      push: (event) => {
        const args = (event.process as { args?: unknown[] }).args ?? [];
        const path = (event.file as { path?: string } | undefined)?.path ?? "";
        return args.includes("dump-keychain") || path.includes("/Keychains/") ? [{ rule: dumpRule, hit: { kind: "event", event } }] : [];
      },
    }),
    actions: () => options.actions ?? {},
    ...(options.canBlock === false
      ? {}
      : {
          respond: (id: number, allow: boolean) => {
            h.answers.push([id, allow]);
            return options.answerStatus ?? "ok";
          },
        }),
    blockFallback: options.fallback ?? "kill",
    kill: (pid) => {
      h.kills.push(pid);
      return options.killFails ? "no such process" : null;
    },
    alert: (request) => h.alerts.push(request),
    onError: (error) => h.errors.push(error),
  };
  return h;
}

describe("Pipeline", () => {
  it("reports a match with action report and answers AUTH allow", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    p.handle(exec({ auth: { id: 7, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[7, true]]);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0].response).toEqual({ action: "report", result: "success" });
  });

  it("denies an AUTH exec that a block rule matches and says so in the alert", () => {
    const h = harness({ actions: { dump: "block" } });
    const p = new Pipeline(h.deps);
    p.handle(exec({ auth: { id: 9, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[9, false]]);
    expect(h.alerts[0].response).toEqual({ action: "block", result: "success" });
    expect(p.counts.denied).toBe(1);
  });

  it("allows an AUTH exec that no rule matches, with no alert", () => {
    const h = harness({ actions: { dump: "block" } });
    new Pipeline(h.deps).handle(exec({ args: ["ls"], auth: { id: 3, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[3, true]]);
    expect(h.alerts).toEqual([]);
  });

  it("records a block that came too late as a failure", () => {
    const h = harness({ actions: { dump: "block" }, answerStatus: "late" });
    const p = new Pipeline(h.deps);
    p.handle(exec({ auth: { id: 1, deadlineMs: 0 } }));
    expect(h.alerts[0].response.result).toBe("failure");
    expect(h.alerts[0].response.reason).toMatch(/watchdog/);
    expect(p.counts.authLate).toBe(1);
  });

  it("records a late deny as done when the watchdog is fail-closed", () => {
    const h = harness({ actions: { dump: "block" }, answerStatus: "late" });
    h.deps.failClosed = true;
    new Pipeline(h.deps).handle(exec({ auth: { id: 1, deadlineMs: 0 } }));
    expect(h.alerts[0].response).toMatchObject({ action: "block", result: "success" });
    expect(h.alerts[0].response.reason).toMatch(/fail-closed/);
  });

  it("says a block failed, even fail-closed, when the deadline was too short for the rules", () => {
    const h = harness({ actions: { dump: "block" }, answerStatus: "short" });
    h.deps.failClosed = true;
    const p = new Pipeline(h.deps);
    p.handle(exec({ auth: { id: 1, deadlineMs: 0 } }));
    expect(h.alerts[0].response).toMatchObject({ action: "block", result: "failure" });
    expect(h.alerts[0].response.reason).toMatch(/too little time/);
    expect(p.counts.authLate).toBe(0);
  });

  it("says a block failed when an AUTH backend reports an exec without an AUTH request", () => {
    const h = harness({ actions: { dump: "block" } });
    new Pipeline(h.deps).handle(exec());
    expect(h.answers).toEqual([]);
    expect(h.alerts[0].response).toMatchObject({ action: "block", result: "failure" });
    expect(h.alerts[0].response.reason).toMatch(/without an AUTH request/);
  });

  it("falls back to kill when the backend cannot block", () => {
    const h = harness({ actions: { dump: "block" }, canBlock: false });
    new Pipeline(h.deps).handle(exec({ source: "linux" }));
    expect(h.kills).toEqual([812]);
    expect(h.alerts[0].response).toMatchObject({ action: "kill", result: "success" });
    expect(h.alerts[0].response.reason).toMatch(/linux backend cannot block/);
  });

  it("falls back to kill for an exec when the backend answers AUTH for file opens only (Linux fanotify)", () => {
    const h = harness({ actions: { dump: "block" } });
    h.deps.authExec = false;
    new Pipeline(h.deps).handle(exec({ source: "linux" }));
    expect(h.kills).toEqual([812]);
    expect(h.alerts[0].response).toMatchObject({ action: "kill", result: "success" });
  });

  it("falls back to report when configured so", () => {
    const h = harness({ actions: { dump: "block" }, canBlock: false, fallback: "report" });
    new Pipeline(h.deps).handle(exec({ source: "eslogger" }));
    expect(h.kills).toEqual([]);
    expect(h.alerts[0].response).toMatchObject({ action: "report", result: "success" });
  });

  it("reports a failed kill with its reason", () => {
    const h = harness({ actions: { dump: "kill" }, killFails: true });
    new Pipeline(h.deps).handle(exec({ source: "linux" }));
    expect(h.alerts[0].response).toEqual({ action: "kill", result: "failure", reason: "no such process" });
  });

  it("runs rules once when AUTH and NOTIFY both arrive for one exec", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    const token = { pid: 812, pidversion: 4, euid: 0, ruid: 0, egid: 0, rgid: 0 };
    p.handle(exec({ seq: 1, auth: { id: 1, deadlineMs: 0 }, auditToken: token }));
    p.handle(exec({ seq: 2, auditToken: token }));
    expect(h.alerts).toHaveLength(1);
    expect(p.counts.notifyPaired).toBe(1);
    p.handle(exec({ seq: 3, auditToken: { ...token, pidversion: 5 } }));
    expect(h.alerts).toHaveLength(2);
  });

  it("runs rules once when an exec is reported twice without AUTH (AUTH_EXEC being switched)", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    const token = { pid: 900, pidversion: 2, euid: 0, ruid: 0, egid: 0, rgid: 0 };
    p.handle(exec({ seq: 1, auditToken: token }));
    p.handle(exec({ seq: 2, auditToken: token }));
    expect(h.alerts).toHaveLength(1);
    expect(p.counts.duplicateNotifySkipped).toBe(1);
  });

  it("counts sequence gaps per source as drops", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    p.handle(exec({ seq: 1, args: [] }));
    p.handle(exec({ seq: 5, args: [] }));
    p.handle(exec({ source: "linux", seq: 100, args: [] }));
    expect(p.counts.seqGaps).toBe(3);
  });

  it("answers allow and keeps going when mapping throws", () => {
    const h = harness();
    h.deps.map = () => {
      throw new Error("boom");
    };
    const p = new Pipeline(h.deps);
    p.handle(exec({ auth: { id: 2, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[2, true]]);
    expect(h.errors).toHaveLength(1);
    expect(p.counts.errors).toBe(1);
  });

  it("feeds an event no rule could match to the process table only, but never an AUTH request", () => {
    const h = harness();
    const mapped: number[] = [];
    const tracked: number[] = [];
    const detector = h.deps.detector();
    const p = new Pipeline({
      ...h.deps,
      map: (raw) => {
        mapped.push(raw.seq);
        return h.deps.map(raw);
      },
      track: (raw) => tracked.push(raw.seq),
      detector: () => ({ ...detector, relevant: (raw) => raw.args?.includes("dump-keychain") === true }),
    });
    p.handle(exec({ seq: 1, args: ["ls"] }));
    p.handle(exec({ seq: 2 }));
    p.handle(exec({ seq: 3, args: ["ls"], auth: { id: 4, deadlineMs: 0 } }));
    p.handle(exec({ seq: 4, kind: "exit" as const, args: undefined }));
    p.handle(exec({ seq: 5, kind: "open" as const, args: undefined, file: { path: "/tmp/unrelated" } }));
    expect(tracked).toEqual([1, 4, 5]);
    expect(mapped).toEqual([2, 3]);
    expect(h.answers).toEqual([[4, true]]);
    expect(h.alerts).toHaveLength(1);
    // File events are counted apart too, matchable or not (what the backend's reader let through).
    expect(p.counts).toMatchObject({ events: 5, notMatchable: 3, fileEvents: 1, alerts: 1 });
  });
});

describe("Pipeline: file events", () => {
  const keychain = "/Users/alice/Library/Keychains/login.keychain-db";
  function fileEvent(kind: RawEvent["kind"], overrides: Partial<RawEvent> = {}): RawEvent {
    return { source: "es", kind, seq: 1, time: 0, pid: 700, args: ["stealer"], file: { path: keychain }, ...overrides };
  }

  it("denies an AUTH open that a block rule matches, and the alert says the open was denied", () => {
    const h = harness({ actions: { dump: "block" } });
    const p = new Pipeline(h.deps);
    p.handle(fileEvent("open", { auth: { id: 11, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[11, false]]);
    expect(h.alerts[0].response).toEqual({ action: "block", result: "success", reason: "the open was denied" });
    expect(p.counts.denied).toBe(1);
    expect(h.kills).toEqual([]);
  });

  it("allows an AUTH open that a report rule matches, or that no rule matches", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    p.handle(fileEvent("open", { seq: 1, auth: { id: 12, deadlineMs: 0 } }));
    p.handle(fileEvent("open", { seq: 2, auth: { id: 13, deadlineMs: 0 }, file: { path: "/tmp/x" } }));
    expect(h.answers).toEqual([[12, true], [13, true]]);
    expect(h.alerts.map((a) => a.response)).toEqual([{ action: "report", result: "success" }]);
  });

  it("never kills for a file event: reports, and the alert says so", () => {
    const h = harness({ actions: { dump: "kill" } });
    const p = new Pipeline(h.deps);
    p.handle(fileEvent("rename"));
    expect(h.kills).toEqual([]);
    expect(h.alerts[0].response).toEqual({ action: "report", result: "success", reason: "kill does not apply to a file event (rename); reported only" });
  });

  it("a block rule on a file event without AUTH: not applicable for non-opens, reported where opens cannot be blocked; no kill fallback", () => {
    const h = harness({ actions: { dump: "block" }, canBlock: false, fallback: "kill" });
    const p = new Pipeline(h.deps);
    p.handle(fileEvent("create", { seq: 1 }));
    p.handle(fileEvent("open", { seq: 2, source: "linux" }));
    expect(h.kills).toEqual([]);
    expect(h.alerts.map((a) => a.response)).toEqual([
      { action: "block", result: "not_applicable", reason: "a create event cannot be blocked (of file events, only opens can)" },
      { action: "report", result: "success", reason: "the linux backend cannot block opens; reported only" },
    ]);
    const auth = harness({ actions: { dump: "block" } });
    new Pipeline(auth.deps).handle(fileEvent("open"));
    expect(auth.alerts[0].response).toMatchObject({ action: "block", result: "failure" });
  });

  it("file events of one process are not taken for repeated execs", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    const token = { pid: 700, pidversion: 3, euid: 0, ruid: 0, egid: 0, rgid: 0 };
    p.handle(fileEvent("open", { seq: 1, auditToken: token }));
    p.handle(fileEvent("open", { seq: 2, auditToken: token }));
    p.handle(exec({ seq: 3, pid: 700, auditToken: token }));
    p.handle(exec({ seq: 4, pid: 700, auditToken: token }));
    expect(h.alerts).toHaveLength(3);
    expect(p.counts.duplicateNotifySkipped).toBe(1);
  });
});

describe("Pipeline evaluation budget", () => {
  /** A pipeline whose rules "take" `costMs` of a fake clock per event, recording what happened in order. */
  function timed(costMs: number, budgetMs = 20, options: { actions?: Record<string, RuleAction>; overrunThrows?: boolean } = {}) {
    const h = harness(options.actions ? { actions: options.actions } : {});
    const clock = { t: 1000 };
    const steps: string[] = [];
    const overruns: EvalOverrun[] = [];
    const inner = h.deps.detector();
    const p = new Pipeline({
      ...h.deps,
      detector: () => ({
        push: (event) => {
          clock.t += costMs;
          return inner.push(event);
        },
      }),
      respond: (id, allow) => {
        steps.push(`answer ${allow ? "allow" : "deny"}`);
        return h.deps.respond!(id, allow);
      },
      alert: (request) => {
        steps.push("alert");
        h.deps.alert(request);
      },
      evalBudget: { ms: budgetMs, now: () => clock.t },
      onOverrun: (overrun) => {
        steps.push("overrun");
        overruns.push(overrun);
        if (options.overrunThrows) throw new Error("reporter broke");
      },
    });
    return { h, p, steps, overruns };
  }

  it("evaluates an event over budget in full, then counts it and reports it after the verdict and alerts", () => {
    const { h, p, steps, overruns } = timed(35, 20, { actions: { dump: "block" } });
    p.handle(exec({ auth: { id: 3, deadlineMs: 0 } }));
    expect(h.answers).toEqual([[3, false]]);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0].response).toEqual({ action: "block", result: "success" });
    expect(steps).toEqual(["answer deny", "alert", "overrun"]);
    expect(p.counts.evalOverruns).toBe(1);
    expect(overruns).toHaveLength(1);
    expect(overruns[0]).toMatchObject({ ms: 35, budgetMs: 20, raw: { pid: 812 }, event: { process: { pid: 812 } } });
    expect(typeof overruns[0].detector.push).toBe("function");
    p.handle(exec({ seq: 2, args: ["ls"] }));
    expect(p.counts).toMatchObject({ events: 2, evalOverruns: 2, alerts: 1 });
  });

  it("counts nothing within the budget, the budget itself included", () => {
    const { p, overruns } = timed(20, 20);
    p.handle(exec());
    expect(p.counts.evalOverruns).toBe(0);
    expect(overruns).toEqual([]);
  });

  it("keeps the alert when the overrun reporter fails, and counts the failure", () => {
    const { h, p } = timed(50, 20, { overrunThrows: true });
    p.handle(exec());
    expect(h.alerts).toHaveLength(1);
    expect(p.counts).toMatchObject({ evalOverruns: 1, errors: 1 });
    expect(String(h.errors[0])).toContain("reporter broke");
  });

  it("times nothing without a budget", () => {
    const h = harness();
    const p = new Pipeline(h.deps);
    p.handle(exec());
    expect(p.counts.evalOverruns).toBe(0);
  });

  describe("onStopped (the terminal notice)", () => {
    const run = (options: Parameters<typeof harness>[0], raw: RawEvent): StoppedEvent[] => {
      const h = harness(options);
      const stopped: StoppedEvent[] = [];
      new Pipeline({ ...h.deps, onStopped: (s) => stopped.push(s) }).handle(raw);
      return stopped;
    };

    it("is told once, with the rule, when a block denies or a kill kills", () => {
      const blocked = run({ actions: { dump: "block" } }, exec({ auth: { id: 1, deadlineMs: 0 }, tty: "/dev/pts/4" }));
      expect(blocked.map((s) => [s.action, s.rule.ruleId, s.raw.tty])).toEqual([["blocked", "dump", "/dev/pts/4"]]);
      const killed = run({ actions: { dump: "kill" } }, exec());
      expect(killed.map((s) => s.action)).toEqual(["killed"]);
    });

    it("on Endpoint Security's AUTH path (paired with NOTIFY by audit token) too: a denied exec is told as blocked", () => {
      const token = { pid: 812, pidversion: 3 } as RawEvent["auditToken"];
      const blocked = run({ actions: { dump: "block" } }, exec({ source: "es", auditToken: token, auth: { id: 5, deadlineMs: 0 }, tty: "/dev/ttys001" }));
      expect(blocked.map((s) => [s.action, s.rule.ruleId, s.raw.tty])).toEqual([["blocked", "dump", "/dev/ttys001"]]);
    });

    it("is not told when nothing was stopped: report, a late allow, a kill that failed", () => {
      expect(run({}, exec({ auth: { id: 1, deadlineMs: 0 } }))).toEqual([]);
      expect(run({ actions: { dump: "block" }, answerStatus: "late" }, exec({ auth: { id: 1, deadlineMs: 0 } }))).toEqual([]);
      expect(run({ actions: { dump: "kill" }, killFails: true }, exec())).toEqual([]);
    });
  });
});

describe("Pipeline: AUTH_EXEC and its NOTIFY_EXEC", () => {
  const token = (pidversion: number) => ({ pid: 812, pidversion, euid: 0, ruid: 0, egid: 0, rgid: 0 });
  const reportRule = ruleMetadata("report-any-security");

  /** Two rules (dump, per actions; a report rule on every `security` exec), counting what the pipeline calls. */
  function paired(actions: Record<string, RuleAction>, answerStatus: AuthAnswerStatus = "ok") {
    const h = harness({ actions, answerStatus });
    const calls = { push: 0, map: [] as number[], preview: [] as number[] };
    h.deps.map = (raw) => {
      calls.map.push(raw.seq);
      return { event: { type: ["start"], sequence: raw.seq }, process: { pid: raw.pid, args: raw.args } } as EcsEvent;
    };
    h.deps.preview = (raw) => {
      calls.preview.push(raw.seq);
      return { event: { type: ["start"], sequence: raw.seq }, process: { pid: raw.pid, args: raw.args } } as EcsEvent;
    };
    h.deps.detector = () => ({
      push: (event) => {
        calls.push++;
        const args = ((event.process as { args?: unknown[] }).args ?? []) as string[];
        const out = [];
        if (args.includes("dump-keychain")) out.push({ rule: dumpRule, hit: { kind: "event" as const, event } });
        if (args[0] === "security") out.push({ rule: reportRule, hit: { kind: "event" as const, event } });
        return out;
      },
    });
    return { h, calls, p: new Pipeline(h.deps) };
  }

  it("an allowed exec matching a report rule: one alert, raised by its NOTIFY and carrying the started process", () => {
    const { h, calls, p } = paired({});
    p.handle(exec({ seq: 1, args: ["security", "list-keychains"], auth: { id: 1, deadlineMs: 0 }, auditToken: token(4) }));
    expect(h.answers).toEqual([[1, true]]);
    expect(h.alerts).toEqual([]); // not started yet: another ES client may still deny it
    p.handle(exec({ seq: 2, args: ["security", "list-keychains"], auditToken: token(4) }));
    expect(h.alerts).toHaveLength(1);
    expect((h.alerts[0].event.event as { sequence: number }).sequence).toBe(2);
    expect(h.alerts[0].response).toEqual({ action: "report", result: "success" });
    expect(calls).toEqual({ push: 1, map: [2], preview: [1] });
    expect(p.counts).toMatchObject({ events: 1, notifyPaired: 1, execsDenied: 0 });
  });

  it("a denied exec: one alert per matching rule at once, all saying denied, none as a started process", () => {
    const { h, calls, p } = paired({ dump: "block" });
    p.handle(exec({ seq: 1, auth: { id: 2, deadlineMs: 0 }, auditToken: token(4) })); // security dump-keychain -d
    expect(h.answers).toEqual([[2, false]]);
    expect(h.alerts.map((a) => [a.rule.ruleId, a.response.action, a.response.result, a.response.denied])).toEqual([
      ["dump", "block", "success", undefined],
      ["report-any-security", "report", "success", true],
    ]);
    for (const a of h.alerts) expect(a.event.event).toMatchObject({ type: ["denied"], outcome: "failure" });
    expect(calls).toEqual({ push: 1, map: [], preview: [1] }); // the process table never saw the denied image
    expect(p.counts).toMatchObject({ execsDenied: 1, denied: 1, alerts: 2 });
  });

  it("JavaScript late and the watchdog fail-closed: the exec was denied, and a report rule's alert says so", () => {
    const { h, p } = paired({}, "late");
    h.deps.failClosed = true;
    p.handle(exec({ seq: 1, args: ["security", "list-keychains"], auth: { id: 3, deadlineMs: 0 }, auditToken: token(4) }));
    expect(h.alerts.map((a) => a.response.denied)).toEqual([true]);
    expect(p.counts.execsDenied).toBe(1);
  });

  it("a block that did not take (JavaScript late, watchdog fail-open) is alerted at once; its NOTIFY adds nothing", () => {
    const { h, calls, p } = paired({ dump: "block" }, "late");
    p.handle(exec({ seq: 1, auth: { id: 4, deadlineMs: 0 }, auditToken: token(4) }));
    expect(h.alerts.map((a) => [a.rule.ruleId, a.response.action, a.response.result])).toEqual([
      ["dump", "block", "failure"],
      ["report-any-security", "report", "success"],
    ]);
    p.handle(exec({ seq: 2, auditToken: token(4) }));
    expect(h.alerts).toHaveLength(2);
    expect(calls).toEqual({ push: 1, map: [2], preview: [1] });
    expect(p.counts.notifyPaired).toBe(1);
  });

  it("an allowed exec whose NOTIFY never comes (denied by another client) is never alerted, and is counted", () => {
    const { h, p } = paired({});
    p.handle(exec({ seq: 1, time: 0, args: ["security", "x"], auth: { id: 5, deadlineMs: 0 }, auditToken: token(4) }));
    p.handle(exec({ seq: 2, time: 120_000, args: ["ls"], auditToken: token(9) }));
    expect(h.alerts).toEqual([]);
    expect(p.counts.execsNeverReported).toBe(1);
    // A NOTIFY that comes after all is judged on its own (the rules run again, as for any exec without AUTH).
    p.handle(exec({ seq: 3, time: 120_001, args: ["security", "x"], auditToken: token(4) }));
    expect(h.alerts).toHaveLength(1);
  });

  it("a sequence sees each exec once, and its alert shows the started process", () => {
    const h = harness();
    let pushes = 0;
    h.deps.preview = (raw) => ({ event: { sequence: raw.seq }, process: { pid: raw.pid, args: raw.args } }) as EcsEvent;
    h.deps.map = (raw) => ({ event: { sequence: raw.seq }, process: { pid: raw.pid, args: raw.args } }) as EcsEvent;
    const seen: EcsEvent[] = [];
    h.deps.detector = () => ({
      push: (event) => {
        pushes++;
        seen.push(event);
        return seen.length === 2 ? [{ rule: dumpRule, hit: { kind: "sequence" as const, joinKeys: [], events: [...seen] } }] : [];
      },
    });
    const p = new Pipeline(h.deps);
    p.handle(exec({ seq: 1, args: ["a"], auditToken: token(1) }));
    p.handle(exec({ seq: 2, args: ["b"], auth: { id: 6, deadlineMs: 0 }, auditToken: token(2) }));
    p.handle(exec({ seq: 3, args: ["b"], auditToken: token(2) }));
    expect(pushes).toBe(2);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0].sequenceEvents?.map((e) => (e.event as { sequence: number }).sequence)).toEqual([1, 3]);
  });
});
