// AUTH deadlines through the ES stand-in, in both Mach timebases (Apple silicon: 24 MHz ticks, 125/3 ns each;
// Intel: 1 ns ticks), so that native/common/mach_time.h is exercised with each: the native watchdog answers for a
// stalled JavaScript before the deadline, budgets count from when ES raised the event (a backlog eats them), and
// no AUTH message is missed.
import { describe, expect, it } from "vitest";

import { type EsTestAddon, type MessageSpec, TIMEBASES, type TimebaseName, until } from "./es-standin/loadAddon.js";
import { type EsSessionRecorder, recordEsSessions } from "./es-standin/session.js";

function noMisses(addon: EsTestAddon): void {
  expect(addon.standin.state()).toMatchObject({ killed: false, violations: [] });
}

const recorders: [TimebaseName, EsSessionRecorder][] = [
  ["appleSilicon", recordEsSessions(noMisses, "appleSilicon")],
  ["intel", recordEsSessions(noMisses, "intel")],
];

function exec(tag: string, args: string[], extra: Partial<MessageSpec> = {}): MessageSpec {
  const executable = args[0].startsWith("/") ? args[0] : `/usr/bin/${args[0]}`;
  return { type: "auth_exec", version: 7, tag, args, process: { pid: 50, executable: "/bin/zsh" }, target: { pid: 50, pidversion: 2, executable }, ...extra };
}

function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* JavaScript stalled: the event loop cannot run */
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const [timebase, es] of recorders) {
  describe(`${timebase} timebase (${TIMEBASES[timebase].numer}/${TIMEBASES[timebase].denom})`, () => {
    it("the stand-in's clock runs in this timebase", () => {
      expect(es.addon.standin.state().timebase).toEqual(TIMEBASES[timebase]);
    });

    it("budget: 20% of the time left kept in hand, at least the margin, at most 5 s; too short for a rule: at once", () => {
      const delay = (ms: number, margin?: number, minRule?: number): number | null => {
        const d = es.addon.internals.watchdogDelayMs(ms, margin, minRule);
        return d === null ? null : Math.round(d);
      };
      expect(delay(60_000)).toBe(55_000); // 20% = 12 s, capped at 5 s
      expect(delay(15_000)).toBe(12_000); // 20% = 3 s
      expect(delay(1500)).toBe(1200);
      expect(delay(400)).toBe(320);
      expect(delay(200)).toBe(160);
      expect(delay(100)).toBe(80);
      expect(delay(50)).toBe(40); // 20% = 10 ms = the margin
      expect(delay(30)).toBe(20); // 20% = 6 ms, raised to the 10 ms margin
      expect(delay(15)).toBe(5); // exactly the 5 ms a rule needs
      expect(delay(14)).toBeNull(); // 4 ms left for the rules: too short, allowed at once
      expect(delay(0)).toBeNull();
      // Configurable: a 2 ms margin and 1 ms for the rules leave a 5 ms deadline to JavaScript.
      expect(delay(5, 2, 1)).toBe(3);
      expect(delay(100, 30)).toBe(70);
    });

    it("JavaScript is told the watchdog's moment, read from the message's deadline in Mach ticks", async () => {
      es.start({ authExec: true }, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
      const [ev] = await es.deliver([exec("ls", ["/bin/ls"])]); // the stand-in's default deadline: 15 s
      expect(ev.auth!.deadlineMs - ev.time).toBeGreaterThan(11_000);
      expect(ev.auth!.deadlineMs - ev.time).toBeLessThan(12_500);
    });

    it("answers ALLOW at the budget while JavaScript is stalled, not before; the late JS answer is refused and counted", async () => {
      const statuses: string[] = [];
      const h = es.start({ authExec: true }, (ev, hh) => {
        spin(3000); // longer than the whole 2.5 s deadline
        statuses.push(es.addon.respond(hh, ev.auth!.id, false));
      });
      es.addon.standin.enqueue(exec("slow", ["security", "dump-keychain"], { deadlineMs: 2500 }));
      await until(() => statuses.length === 1, "the late JavaScript answer");
      const [r] = es.addon.standin.authRecords();
      expect(r).toMatchObject({ tag: "slow", answers: 1, result: "allow", cache: false });
      // The watchdog keeps 20% (0.5 s) in hand: it cannot have answered before 1.5 s after the event (a timebase
      // mix-up answers at once, or long after the deadline).
      expect(r.waitedUs! + r.answerUs!).toBeGreaterThanOrEqual(1_499_000);
      expect(r.answerUs!).toBeLessThan(r.deadlineUs);
      expect(statuses).toEqual(["tooLate"]);
      expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 1, lateJsAnswers: 1, denied: 0, retainedNow: 0 });
      expect(es.addon.standin.state()).toMatchObject({ liveMessages: 0 });
    });

    it("fail-closed: the watchdog answers DENY", async () => {
      const statuses: string[] = [];
      const h = es.start({ authExec: true, failClosed: true }, (ev, hh) => {
        spin(2500);
        statuses.push(es.addon.respond(hh, ev.auth!.id, true));
      });
      es.addon.standin.enqueue(exec("slow", ["/bin/ls"], { deadlineMs: 1500 }));
      await until(() => statuses.length === 1, "the late JavaScript answer");
      expect(es.addon.standin.authRecords()[0]).toMatchObject({ answers: 1, result: "deny", cache: false });
      expect(statuses).toEqual(["tooLate"]);
      expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 1, denied: 1, allowed: 0 });
    });

    it("a deadline too short for any rule is allowed at once, even fail-closed, and counted", async () => {
      const h = es.start({ authExec: true, failClosed: true });
      es.addon.standin.enqueue(exec("short", ["/bin/ls"], { deadlineMs: 12 }));
      await until(() => es.addon.standin.authRecords()[0]?.answers === 1, "the native answer");
      const [r] = es.addon.standin.authRecords();
      expect(r.result).toBe("allow");
      expect(r.answerUs!).toBeLessThan(r.deadlineUs);
      expect(es.addon.esStats(h)).toMatchObject({ shortDeadlineAllows: 1, watchdogAnswers: 0 });
    });

    describe("backlog: the deadline counts from when ES raised the event", () => {
      it("messages held in ES's queue arrive with what is left, and the watchdog budgets from that", async () => {
        const h = es.start({ authExec: true }); // JavaScript never answers: the watchdog does
        es.addon.standin.holdDelivery(true);
        es.addon.standin.enqueue([exec("a", ["/bin/ls"], { deadlineMs: 4000 }), exec("b", ["/bin/ps"], { deadlineMs: 4000 })]);
        await sleep(1000);
        es.addon.standin.holdDelivery(false);
        await until(() => es.addon.standin.authRecords().every((r) => r.answers === 1) && es.events.length === 2, "2 answers");
        for (const r of es.addon.standin.authRecords()) {
          expect(r.waitedUs!).toBeGreaterThanOrEqual(1_000_000);
          expect(r.deadlineUs).toBeLessThanOrEqual(3_000_000); // 4 s from enqueue, 1 s of it spent queued
          expect(r.answerUs!).toBeLessThan(r.deadlineUs);
          expect(r.result).toBe("allow");
        }
        // The watchdog's moment, as JavaScript is told it, keeps 20% of what was left at delivery in hand: about
        // 1 s + 0.8 × 3 s = 3.4 s after the event (counted from delivery it would be 4.2 s or more).
        for (const ev of es.events) {
          expect(ev.auth!.deadlineMs - ev.time).toBeGreaterThan(3_250);
          expect(ev.auth!.deadlineMs - ev.time).toBeLessThan(3_700);
        }
        expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 2, retainedNow: 0 });
      });

      it("a message whose deadline passes while it waits in ES's queue is a miss (the stand-in would kill the client)", async () => {
        es.start({ authExec: true }, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
        es.addon.standin.holdDelivery(true);
        es.addon.standin.enqueue(exec("expired", ["/bin/ls"], { deadlineMs: 50 }));
        await sleep(150);
        expect(es.addon.standin.state()).toMatchObject({
          killed: true, violations: ["AUTH message 'expired' not answered by its deadline"],
        });
        es.addon.standin.holdDelivery(false);
        await until(() => es.addon.standin.authRecords()[0].answers === 1, "the late answer");
        expect(es.addon.standin.authRecords()[0].deadlineUs).toBeLessThan(0);
        expect(es.addon.standin.state().violations).toContain("AUTH message 'expired' answered after its deadline");
        es.stop();
        es.addon.standin.reset(); // the misses were the point
      });

      for (const slowMs of [1200, 2700]) {
        const who = slowMs < 2000 ? "JavaScript still answers the rest" : "the watchdog answers what JavaScript cannot";
        it(`a slow JavaScript answer (${slowMs} ms) shrinks the next messages' budgets; ${who}; none is missed`, async () => {
          const budgets = new Map<string, number>(); // time JavaScript had left when it saw each message
          const statuses = new Map<string, string>();
          const h = es.start({ authExec: true }, (ev, hh) => {
            const tag = String(ev.args?.[1]);
            budgets.set(tag, ev.auth!.deadlineMs - Date.now());
            if (tag === "slow") spin(slowMs);
            statuses.set(tag, es.addon.respond(hh, ev.auth!.id, true));
          });
          const tags = ["slow", "n1", "n2", "n3", "n4", "n5"];
          // One burst: 3 s deadlines, so the watchdog answers 2.4 s after the event.
          es.addon.standin.enqueue(tags.map((tag) => exec(tag, ["/bin/echo", tag], { deadlineMs: 3000 })));
          await until(() => statuses.size === tags.length, "every JavaScript answer");
          const records = es.addon.standin.authRecords();
          expect(records.map((r) => [r.tag, r.answers, r.result])).toEqual(tags.map((t) => [t, 1, "allow"]));
          for (const r of records) expect(r.answerUs!).toBeLessThan(r.deadlineUs);
          for (const tag of tags.slice(1)) expect(budgets.get(tag)!).toBeLessThan(budgets.get("slow")! - 1000);
          const late = [...statuses.values()].filter((s) => s === "tooLate").length;
          expect([...statuses.values()].filter((s) => s === "answered").length + late).toBe(tags.length);
          if (slowMs > 2000) expect(late).toBe(tags.length); // JavaScript came back after every watchdog moment
          expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: late, lateJsAnswers: late, retainedNow: 0, pendingAuth: 0 });
          expect(es.addon.standin.state()).toMatchObject({ liveMessages: 0 });
        });
      }
    });
  });
}
