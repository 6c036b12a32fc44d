// The ES backend (src/sensor/esBackend.ts) over the ES stand-in test addon: lifecycle, start errors, AUTH answer
// statuses, counters after stop, and rule reloads switching AUTH_EXEC and the native pre-filter.
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { MacsensorError } from "../../src/errors.js";
import { parseQuery } from "../../src/eql/index.js";
import type { Query } from "../../src/eql/ast.js";
import { createEsBackend, type EsBackend, type EsBinding, type EsRespondStatus } from "../../src/sensor/esBackend.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { ES_EVENT, type EsTestAddon, type MessageSpec, loadEsTestAddon, until } from "../native/es-standin/loadAddon.js";

let addon: EsTestAddon;
/** The stand-in addon as the backend sees it (loadAddon.ts declares its own, structurally equal, handle brand). */
let binding: EsBinding;
let backend: EsBackend | undefined;

beforeAll(() => {
  addon = loadEsTestAddon();
  binding = addon as unknown as EsBinding;
}, 300_000);

afterEach(async () => {
  await backend?.stop();
  backend = undefined;
  expect(addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 });
  addon.standin.setNewClientResult(0);
  addon.standin.reset();
});

const q = (eql: string): Query => parseQuery(eql);
const argIs = (word: string): Query => q(`process where process.args == "${word}"`);

function exec(tag: string, args: string[], extra: Partial<MessageSpec> = {}): MessageSpec {
  const executable = args[0].startsWith("/") ? args[0] : `/usr/bin/${args[0]}`;
  return { type: "auth_exec", version: 7, tag, args, process: { pid: 90, executable: "/bin/zsh" }, target: { pid: 91, pidversion: 3, executable }, ...extra };
}

const subscriptions = (): number[] => [...addon.standin.state().subscriptions].sort((a, b) => a - b);
const REPORT_SUBS = [ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT];
// NOTIFY_EXEC stays beside AUTH_EXEC: every exec that ran is reported from it.
const AUTH_SUBS = [ES_EVENT.AUTH_EXEC, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT];

/** Starts a backend whose onEvents records events and lets `decide` answer AUTH requests. */
async function start(
  options: Parameters<typeof createEsBackend>[0],
  decide?: (ev: RawEvent, b: EsBackend) => void,
): Promise<{ b: EsBackend; events: RawEvent[] }> {
  const events: RawEvent[] = [];
  const b = createEsBackend({ binding, ...options });
  backend = b;
  await b.start((batch) => {
    for (const ev of batch) {
      events.push(ev);
      if (ev.auth && decide) decide(ev, b);
    }
  });
  return { b, events };
}

/** Records, by tag, of every AUTH message answered so far. */
const results = (): Record<string, string | null> =>
  Object.fromEntries(addon.standin.authRecords().map((r) => [r.tag, r.result]));

describe("lifecycle", () => {
  it("report mode: NOTIFY events arrive as RawEvents; stop ends the client; a second start is refused", async () => {
    const { b, events } = await start({ muteExecutables: ["/usr/libexec/noisy"], captureEnv: ["DYLD_INSERT_LIBRARIES"] });
    expect(b.name).toBe("es");
    expect(subscriptions()).toEqual(REPORT_SUBS);
    const state = addon.standin.state();
    expect(state.clientAlive).toBe(true);
    expect(state.mutedPaths.map((m) => m.path)).toContain("/usr/libexec/noisy");
    expect(state.mutedPids).toContain(process.pid);
    await expect(b.start(() => {})).rejects.toThrow(/already started/);

    addon.standin.enqueue([
      { ...exec("n1", ["/bin/ls", "-l"], { env: ["DYLD_INSERT_LIBRARIES=/tmp/x.dylib", "HOME=/Users/bob"] }), type: "notify_exec" },
      { type: "fork", process: { pid: 91, executable: "/bin/ls" }, target: { pid: 92, executable: "/bin/ls" } },
    ]);
    await until(() => events.length === 2, "two events");
    expect(events.map((e) => [e.source, e.kind, e.pid, e.auth])).toEqual([["es", "exec", 91, undefined], ["es", "fork", 92, undefined]]);
    expect(events[0].args).toEqual(["/bin/ls", "-l"]);
    expect(events[0].env).toEqual(["DYLD_INSERT_LIBRARIES=/tmp/x.dylib"]);

    await b.stop();
    expect(addon.standin.state().clientAlive).toBe(false);
    await b.stop(); // a second stop is a no-op
    // Stopped, it can be started again (a new ES client).
    await b.start(() => {});
    expect(addon.standin.state()).toMatchObject({ clientAlive: true, clientsCreated: 2 });
  });

  it("block rules given at creation subscribe AUTH_EXEC from the start", async () => {
    await start({ blockRules: [argIs("dump-keychain")] });
    expect(subscriptions()).toEqual(AUTH_SUBS);
  });
  it("setBlockRules before start is what start subscribes with", async () => {
    const b = createEsBackend({ binding });
    backend = b;
    b.setBlockRules([argIs("dump-keychain")]);
    await b.start(() => {});
    expect(subscriptions()).toEqual(AUTH_SUBS);
    addon.standin.enqueue([exec("ls", ["/bin/ls"]), exec("d", ["security", "dump-keychain"], { deadlineMs: 300 })]);
    await until(() => addon.standin.authRecords().filter((r) => r.answers === 1).length === 2, "both answered");
    expect(b.stats()).toMatchObject({ prefiltered: 1, authToJs: 1 });
  });
});

describe("start errors", () => {
  it("a binding without the ES members is refused with what to do instead", async () => {
    const clientsBefore = addon.standin.state().clientsCreated;
    const linuxOnly = { abiVersion: 3, start: () => undefined } as unknown as EsBinding;
    const b = createEsBackend({ binding: linuxOnly });
    const error = await b.start(() => {}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MacsensorError);
    expect((error as Error).message).toBe("Endpoint Security exists only on macOS (this is linux); use --backend linux");
    // Only part of the ES members (an older addon) is refused the same way, before anything starts.
    const { stopEs: _stop, setPrefilter: _set, ...partial } = addon;
    await expect(createEsBackend({ binding: partial as unknown as EsBinding }).start(() => {})).rejects.toThrow(/only on macOS/);
    expect(addon.standin.state()).toMatchObject({ clientsCreated: clientsBefore, clientAlive: false });
  });

  it("es_new_client failing gives the addon's actionable message; the backend can be started again", async () => {
    addon.standin.setNewClientResult(5); // ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED
    const b = createEsBackend({ binding });
    backend = b;
    const error = await b.start(() => {}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MacsensorError);
    expect((error as Error).message).toMatch(/^cannot start Endpoint Security: Endpoint Security needs root/);
    expect(((error as Error).cause as { code?: string }).code).toBe("ES_NOT_PRIVILEGED");
    expect(b.respond(1, true)).toBe("unknown");
    addon.standin.setNewClientResult(0);
    await b.start(() => {});
    expect(addon.standin.state().clientAlive).toBe(true);
  });
});

describe("respond", () => {
  it("answered, duplicate, unknown; before start and after stop: unknown", async () => {
    const statuses: EsRespondStatus[] = [];
    const b0 = createEsBackend({ binding, blockRules: [argIs("x")] });
    expect(b0.respond(1, true)).toBe("unknown");
    const { b, events } = await start({ blockRules: [argIs("dump-keychain")] }, (ev, bb) => {
      statuses.push(bb.respond(ev.auth!.id, false), bb.respond(ev.auth!.id, true));
    });
    addon.standin.enqueue(exec("d", ["security", "dump-keychain"]));
    await until(() => statuses.length === 2, "both answers");
    expect(statuses).toEqual(["answered", "duplicate"]);
    expect(results()).toEqual({ d: "deny" });
    expect(b.respond(123_456, true)).toBe("unknown");
    await b.stop();
    expect(b.respond(events[0].auth!.id, true)).toBe("unknown");
    expect(addon.standin.authRecords()[0].answers).toBe(1);
  });

  it("tooLate: JavaScript answering after the watchdog did (ALLOW by default)", async () => {
    const late: Promise<EsRespondStatus>[] = [];
    const { b } = await start({ blockRules: [argIs("dump-keychain")] }, (ev, bb) => {
      // The watchdog answers 200 ms after delivery for a 1.2 s deadline (1 s kept in hand); answer once it has.
      late.push(
        until(() => addon.standin.authRecords()[0]?.answers === 1, "the watchdog answer").then(() => bb.respond(ev.auth!.id, false)),
      );
    });
    addon.standin.enqueue(exec("slow", ["security", "dump-keychain"], { deadlineMs: 1200 }));
    await until(() => late.length === 1, "the AUTH event");
    expect(await late[0]).toBe("tooLate");
    const [r] = addon.standin.authRecords();
    expect(r).toMatchObject({ answers: 1, result: "allow" });
    expect(r.answerUs!).toBeLessThan(r.deadlineUs);
    expect(b.stats()).toMatchObject({ watchdogAnswers: 1, lateJsAnswers: 1, denied: 0, allowed: 1 });
  });

  it("failClosed: the watchdog answers DENY", async () => {
    const { b } = await start({ failClosed: true, blockRules: [argIs("ls")] });
    addon.standin.enqueue(exec("short", ["/bin/ls"], { args: ["ls"], deadlineMs: 400 }));
    await until(() => addon.standin.authRecords()[0]?.answers === 1, "the watchdog answer");
    expect(results()).toEqual({ short: "deny" });
    expect(b.stats()).toMatchObject({ watchdogAnswers: 1, denied: 1 });
  });
});

describe("stats", () => {
  it("the counters read at stop stay readable after it (stop answered the pending AUTH)", async () => {
    const { b, events } = await start({ blockRules: [argIs("dump-keychain")] }); // JavaScript never answers
    addon.standin.enqueue([exec("p", ["security", "dump-keychain"]), exec("ls", ["/bin/ls"])]);
    expect(addon.standin.waitIdle()).toBe(true);
    expect(b.stats()).toMatchObject({ received: 2, prefiltered: 1, authToJs: 1, pendingAuth: 1 });
    await b.stop();
    expect(events).toHaveLength(1); // the pre-filtered ls is reported by its NOTIFY only (none scripted here)
    expect(results()).toEqual({ p: "allow", ls: "allow" });
    const after = b.stats();
    expect(after).toMatchObject({ received: 2, prefiltered: 1, authToJs: 1, pendingAuth: 0, retainedNow: 0, dropped: 0 });
    expect(after.delivered).toBe(1);
    expect(b.stats()).toEqual(after);
  });
});

describe("setBlockRules", () => {
  it("re-derives the pre-filter and (un)subscribes AUTH_EXEC", async () => {
    const toJs: string[] = [];
    const { b } = await start({}, (ev, bb) => {
      toJs.push(String(ev.args?.[1]));
      bb.respond(ev.auth!.id, true);
    });
    expect(subscriptions()).toEqual(REPORT_SUBS);
    const round = async (tag: string): Promise<void> => {
      const specs = ["alpha", "beta", "gamma"].map((w) => exec(`${tag}-${w}`, ["tool", w]));
      addon.standin.enqueue(specs);
      // Pre-filtered AUTH execs are answered natively and not delivered; candidates are answered by JavaScript.
      await until(() => {
        const mine = addon.standin.authRecords().filter((r) => r.tag.startsWith(`${tag}-`));
        return mine.length === specs.length && mine.every((r) => r.answers === 1);
      }, `round ${tag}`);
    };

    b.setBlockRules([argIs("alpha")]);
    expect(subscriptions()).toEqual(AUTH_SUBS);
    await round("1");
    expect(toJs).toEqual(["alpha"]);

    b.setBlockRules([argIs("beta"), q(`process where process.args : "gam*"`)]);
    await round("2");
    expect(toJs).toEqual(["alpha", "beta", "gamma"]);

    // A rule without a safe pre-filter (a regex): every AUTH exec goes to JavaScript.
    b.setBlockRules([q(`process where process.args regex "al.*"`)]);
    await round("3");
    expect(toJs).toEqual(["alpha", "beta", "gamma", "alpha", "beta", "gamma"]);
    expect(b.stats()).toMatchObject({ authToJs: 6, prefiltered: 3 });
    expect(Object.values(results()).every((r) => r === "allow")).toBe(true);

    b.setBlockRules([]);
    expect(subscriptions()).toEqual(REPORT_SUBS);
    addon.standin.enqueue(exec("4", ["tool", "alpha"]));
    expect(addon.standin.waitIdle()).toBe(true);
    expect(addon.standin.authRecords().find((r) => r.tag === "4")).toBeUndefined();
    expect(toJs).toHaveLength(6);
  });
});

describe("relevance: NOTIFY events the rules do not need wait for the next batch", () => {
  const wanted = { kinds: ["exec" as const], execPrefilter: { argEquals: ["dump-keychain"], argContains: [], executableBasename: [] } };

  it("an unwanted exec and a fork ride along with the next wanted exec, in order; alone, they come after holdMs", async () => {
    const batches: RawEvent[][] = [];
    const b = createEsBackend({ binding, holdMs: 1000 });
    backend = b;
    b.setRelevance(wanted); // before start: applied when the client starts
    await b.start((batch) => batches.push(batch));
    addon.standin.enqueue([
      { ...exec("ls", ["/bin/ls", "-l"]), type: "notify_exec" },
      { type: "fork", process: { pid: 91, executable: "/bin/ls" }, target: { pid: 92, executable: "/bin/ls" } },
      { ...exec("dump", ["security", "dump-keychain", "-d"]), type: "notify_exec" },
    ]);
    await until(() => batches.flat().length === 3, "three events");
    expect(batches.map((batch) => batch.map((e) => e.kind))).toEqual([["exec", "fork", "exec"]]);

    addon.standin.enqueue({ ...exec("ls2", ["/bin/ls"]), type: "notify_exec" });
    await until(() => batches.flat().length === 4, "the held exec, flushed by the hold timer");
    expect(batches).toHaveLength(2);
  });

  it("an AUTH request never waits, even when the rules want nothing", async () => {
    const statuses: EsRespondStatus[] = [];
    const { b } = await start({ blockRules: [argIs("dump-keychain")], holdMs: 1000 }, (ev, bb) => {
      statuses.push(bb.respond(ev.auth!.id, true));
    });
    b.setRelevance({ kinds: [], execPrefilter: null });
    // The watchdog answers 1 s before the deadline (after 0.8 s): held for holdMs, JavaScript would be too late.
    addon.standin.enqueue(exec("d", ["security", "dump-keychain"], { deadlineMs: 1800 }));
    await until(() => statuses.length === 1, "the answer");
    expect(statuses).toEqual(["answered"]);
  });

  it("bad relevance is refused with the key named", async () => {
    const { b } = await start({});
    expect(() => b.setRelevance({ kinds: ["spawn" as never], execPrefilter: null })).toThrow(/unknown event kind "spawn"/);
    expect(() => b.setRelevance({ kinds: ["exec"], execPrefilter: { argEquals: ["é"], argContains: [], executableBasename: [] } })).toThrow(/not ASCII/);
  });
});

describe("file events", () => {
  const KEYCHAIN_RULE = q('file where file.path : ("/Users/*/Library/Keychains/*", "/Library/Keychains/*")');
  const open = (tag: string, path: string): MessageSpec => ({ type: "auth_open", tag, path, process: { pid: 70, executable: "/tmp/x" } });
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

  it("subscribes the file kinds the relevance spec lists, before and after start, and none by default", async () => {
    const b = createEsBackend({ binding });
    backend = b;
    b.setRelevance({ kinds: ["exec", "create", "rename"], execPrefilter: null });
    await b.start(() => {});
    expect(subscriptions()).toEqual(sorted([...REPORT_SUBS, ES_EVENT.NOTIFY_CREATE, ES_EVENT.NOTIFY_RENAME]));
    b.setRelevance({ kinds: ["exec", "open", "modify", "delete"], execPrefilter: null });
    expect(subscriptions()).toEqual(
      sorted([...REPORT_SUBS, ES_EVENT.NOTIFY_OPEN, ES_EVENT.NOTIFY_CLOSE, ES_EVENT.NOTIFY_UNLINK]),
    );
    b.setRelevance({ kinds: ["exec"], execPrefilter: null });
    expect(subscriptions()).toEqual(REPORT_SUBS);
  });

  it("a block rule on files subscribes AUTH_OPEN (not AUTH_EXEC) with the path pre-filter; JavaScript decides candidates", async () => {
    const toJs: string[] = [];
    const { b, events } = await start({ blockRules: [KEYCHAIN_RULE] }, (ev, bb) => {
      toJs.push(String(ev.file?.path));
      bb.respond(ev.auth!.id, !String(ev.file?.path).includes("/Keychains/"));
    });
    expect(subscriptions()).toEqual(sorted([ES_EVENT.AUTH_OPEN, ...REPORT_SUBS]));
    addon.standin.enqueue([
      open("keychain", "/Users/ann/Library/Keychains/login.keychain-db"),
      open("dylib", "/usr/lib/libz.dylib"),
      open("system", "/Library/Keychains/System.keychain"),
    ]);
    await until(() => toJs.length === 2 && addon.standin.authRecords().every((r) => r.answers === 1), "3 opens answered");
    expect(toJs).toEqual(["/Users/ann/Library/Keychains/login.keychain-db", "/Library/Keychains/System.keychain"]);
    // No rule wants opens reported (no relevance set), so the natively allowed one is not.
    expect(events.map((e) => e.file?.path)).toEqual(toJs);
    expect(results()).toEqual({ keychain: "deny", dylib: "allow", system: "deny" });
    expect(b.stats()).toMatchObject({ prefilteredOpens: 1, authToJs: 2, denied: 2, allowed: 1 });

    // Reload: an exec rule only: AUTH_EXEC in, AUTH_OPEN out.
    b.setBlockRules([argIs("dump-keychain")]);
    expect(subscriptions()).toEqual(AUTH_SUBS);
    // A rule on `any` event needs both, and bounds no path: every AUTH open goes to JavaScript. It reads only the
    // executable's name, so exec ALLOWs are cached and NOTIFY_EXEC stays to report the execs ES answers itself.
    b.setBlockRules([q('any where process.name == "stealer"')]);
    expect(subscriptions()).toEqual(
      sorted([ES_EVENT.AUTH_EXEC, ES_EVENT.AUTH_OPEN, ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT]),
    );
    addon.standin.enqueue(open("any", "/usr/lib/libz.dylib"));
    await until(() => toJs.length === 3, "the open in JavaScript");
    b.setBlockRules([]);
    expect(subscriptions()).toEqual(REPORT_SUBS);
  });

  it("AUTH_OPEN with the open kind relevant: NOTIFY_OPEN is replaced, not doubled", async () => {
    const b = createEsBackend({ binding, blockRules: [KEYCHAIN_RULE] });
    backend = b;
    b.setRelevance({ kinds: ["exec", "open"], execPrefilter: null });
    await b.start(() => {});
    expect(subscriptions()).toEqual(sorted([ES_EVENT.AUTH_OPEN, ...REPORT_SUBS]));
    b.setBlockRules([]);
    expect(subscriptions()).toEqual(sorted([...REPORT_SUBS, ES_EVENT.NOTIFY_OPEN]));
  });
});

describe("ES cache of exec ALLOWs", () => {
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  // Identity-only block rules: the name and the team id of the executed file.
  const identityRules = (): Query[] => [
    q('process where process.name == "nc"'),
    q('process where process.code_signature.team_id == "EVILTEAM99"'),
  ];
  const decideByName = (ev: RawEvent, b: EsBackend): void => {
    b.respond(ev.auth!.id, ev.executable !== "/usr/bin/nc");
  };
  const records = (): [string, string | null, boolean | undefined][] =>
    addon.standin.authRecords().map((r) => [r.tag, r.result, r.cache]);

  it("identity-only rules: a rule-decided ALLOW is cached, later execs of the pair skip AUTH but are reported", async () => {
    const { b, events } = await start({ blockRules: identityRules() }, decideByName);
    // NOTIFY_EXEC stays beside AUTH_EXEC: an exec ES answers from its cache is still reported.
    expect(subscriptions()).toEqual(sorted([ES_EVENT.AUTH_EXEC, ...REPORT_SUBS]));
    addon.standin.enqueue([exec("ls1", ["/bin/ls"]), exec("nc1", ["nc", "-l", "4444"])]);
    await until(() => addon.standin.authRecords().every((r) => r.answers === 1) && events.length === 2, "two answers");
    expect(records()).toEqual([["ls1", "allow", true], ["nc1", "deny", false]]);
    expect(addon.standin.esCache().entries).toEqual([{ process: "/bin/zsh", target: "/bin/ls", result: "allow" }]);

    addon.standin.enqueue([exec("ls2", ["/bin/ls", "-l"]), exec("nc2", ["nc", "-l", "4444"])]);
    await until(() => events.length === 4, "the cached exec's report and the second nc");
    expect(addon.standin.esCache().hits).toEqual([{ tag: "ls2", result: "allow" }]);
    expect(records().map((r) => r[0])).toEqual(["ls1", "nc1", "nc2"]); // no AUTH for ls2
    expect(events[2]).toMatchObject({ kind: "exec", executable: "/bin/ls", args: ["/bin/ls", "-l"] });
    expect(events[2].auth).toBeUndefined();
    expect(b.stats()).toMatchObject({ cachedAllows: 1, cacheClears: 0 });

    // ES drops an entry when the file changes.
    addon.standin.modifyFile("/bin/ls");
    addon.standin.enqueue(exec("ls3", ["/bin/ls"]));
    await until(() => addon.standin.authRecords().length === 4 && events.length === 5, "ls3 through AUTH");
    expect(records()[3]).toEqual(["ls3", "allow", true]);

    // A rule reload clears ES's cache before anything is cached under the new rules.
    b.setBlockRules(identityRules());
    expect(addon.standin.esCache().entries).toEqual([]);
    expect(b.stats()).toMatchObject({ cacheClears: 1, cacheClearErrors: 0 });
    addon.standin.enqueue(exec("ls4", ["/bin/ls"]));
    await until(() => addon.standin.authRecords().length === 5, "ls4 through AUTH");
  });

  it("argument-based rules: every answer is uncached and every exec goes through AUTH; reloading to them clears the cache", async () => {
    const { b, events } = await start({ blockRules: identityRules() }, decideByName);
    addon.standin.enqueue(exec("ls1", ["/bin/ls"]));
    await until(() => events.length === 1 && addon.standin.esCache().entries.length === 1, "a cached ALLOW");

    b.setBlockRules([argIs("dump-keychain"), q('process where process.name == "nc" and user.name == "bob"')]);
    expect(addon.standin.esCache().entries).toEqual([]);
    expect(subscriptions()).toEqual(AUTH_SUBS);
    addon.standin.enqueue([exec("d1", ["security", "dump-keychain"]), exec("d2", ["security", "dump-keychain"])]);
    await until(() => addon.standin.authRecords().filter((r) => r.answers === 1).length === 3, "both through AUTH");
    expect(records()).toEqual([["ls1", "allow", true], ["d1", "allow", false], ["d2", "allow", false]]);
    expect(addon.standin.esCache()).toEqual({ entries: [], hits: [] });
    expect(b.stats()).toMatchObject({ cachedAllows: 1, cacheClears: 1 });
  });

  it("the watchdog's ALLOW is never cached, even with identity-only rules", async () => {
    const { b } = await start({ blockRules: identityRules() }); // JavaScript never answers
    addon.standin.enqueue(exec("slow", ["/bin/ls"], { deadlineMs: 200 }));
    await until(() => addon.standin.authRecords()[0]?.answers === 1, "the watchdog answer");
    expect(records()).toEqual([["slow", "allow", false]]);
    expect(b.stats()).toMatchObject({ watchdogAnswers: 1, cachedAllows: 0 });
  });

  it("a failed es_clear_cache is counted, caching stays off, and the reload itself stands", async () => {
    const { b, events } = await start({ blockRules: identityRules() }, decideByName);
    addon.standin.enqueue(exec("ls1", ["/bin/ls"]));
    await until(() => events.length === 1 && addon.standin.esCache().entries.length === 1, "a cached ALLOW");
    addon.standin.failCalls(["es_clear_cache"]);
    b.setBlockRules([...identityRules(), q('process where process.name == "ncat"')]);
    expect(b.stats()).toMatchObject({ cacheClearErrors: 1, cacheClears: 0 });
    expect(subscriptions()).toEqual(AUTH_SUBS); // caching off: NOTIFY_EXEC no longer needed
    addon.standin.enqueue(exec("ls-other", ["/bin/ls"], { process: { pid: 90, executable: "/bin/bash" } }));
    await until(() => addon.standin.authRecords().length === 2 && addon.standin.authRecords()[1].answers === 1, "an uncached answer");
    expect(records()[1]).toEqual(["ls-other", "allow", false]);
  });
});
