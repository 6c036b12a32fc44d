// Endpoint Security file events through the real ES backend built against the ES stand-in: conversion of
// NOTIFY open / create / close / rename / unlink per message version (strings without NUL terminators, truncated
// paths), subscription of only the file kinds asked for, and AUTH_OPEN: answered exactly once with
// es_respond_flags_result before the deadline, by JavaScript or by the watchdog, with the native path pre-filter
// allowing non-candidates at once.
import { describe, expect, it } from "vitest";

import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { ES_EVENT, type MessageSpec, type ProcSpec, until } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

// Every message released, no violation (answers after the deadline, second answers, the wrong respond function).
const es = recordEsSessions((addon) => expect(addon.standin.state()).toMatchObject({ killed: false, violations: [], liveMessages: 0 }));

const ALL_KINDS = ["open", "create", "modify", "rename", "delete"] as const;

const stealer: ProcSpec = {
  pid: 612, pidversion: 3, euid: 501, ruid: 501, egid: 20, rgid: 20, auid: 501, asid: 100007,
  ppid: 1, originalPpid: 600, groupId: 612, sessionId: 612, executable: "/tmp/.x/stealer", signingId: "a.out",
  teamId: "", csFlags: 0x2, platformBinary: false, cdhash: "0123456789abcdef0123456789abcdef01234567",
  tty: "/dev/ttys001", startTimeMs: 1_700_000_000_250,
  responsible: { pid: 590, pidversion: 1, euid: 501, ruid: 501, egid: 20, rgid: 20 },
  parent: { pid: 600, pidversion: 4, euid: 501, ruid: 501, egid: 20, rgid: 20 },
};

const KEYCHAIN = "/Users/ann/Library/Keychains/login.keychain-db";

function open(tag: string, path: string | Uint8Array, extra: Partial<MessageSpec> = {}): MessageSpec {
  return { type: "auth_open", version: 7, tag, path, fflag: 1, process: stealer, ...extra };
}

describe("conversion of the NOTIFY file events", () => {
  for (const version of [1, 4, 7]) {
    it(`v${version}: the acting process, the path, the kind; only the fields v${version} has`, async () => {
      const h = es.start();
      es.addon.setFileEvents(h, { kinds: [...ALL_KINDS], authOpen: false, openPrefilter: null });
      const got = await es.deliver([
        { type: "notify_open", version, process: stealer, path: KEYCHAIN, fflag: 0x3 },
        { type: "create", version, process: stealer, newPath: { dir: "/tmp/.x", name: "loot.db" } },
        { type: "create", version, process: stealer, path: "/tmp/.x/existing" },
        { type: "close", version, process: stealer, path: "/tmp/.x/loot.db", modified: true },
        { type: "rename", version, process: stealer, source: "/tmp/.x/loot.db", newPath: { dir: "/tmp/.x/", name: "a.zip" } },
        { type: "rename", version, process: stealer, source: "/tmp/.x/a.zip", path: "/tmp/.x/b.zip" },
        { type: "unlink", version, process: stealer, path: "/tmp/.x/b.zip" },
      ]);
      expect(got.map((e) => [e.kind, e.file])).toEqual([
        ["open", { path: KEYCHAIN, openFlags: 3 }],
        ["create", { path: "/tmp/.x/loot.db" }],
        ["create", { path: "/tmp/.x/existing" }],
        ["modify", { path: "/tmp/.x/loot.db" }],
        ["rename", { path: "/tmp/.x/a.zip", originalPath: "/tmp/.x/loot.db" }],
        ["rename", { path: "/tmp/.x/b.zip", originalPath: "/tmp/.x/a.zip" }],
        ["delete", { path: "/tmp/.x/b.zip" }],
      ]);
      for (const ev of got) {
        expect(ev).toMatchObject({
          source: "es", pid: 612, ppid: 1, originalPpid: 600, uid: 501, euid: 501, executable: "/tmp/.x/stealer",
          messageVersion: version,
          codeSignature: { signingId: "a.out", cdhash: "0123456789abcdef0123456789abcdef01234567", flags: 2, platformBinary: false },
          auditToken: { pid: 612, pidversion: 3, auid: 501, asid: 100007 },
        });
        expect(ev.partial).toBeUndefined();
        expect(ev.auth).toBeUndefined();
        // The stand-in poisons what older versions lack: reading it would show here (or crash).
        expect(ev.tty).toEqual(version >= 2 ? "/dev/ttys001" : undefined);
        expect(ev.startTime).toEqual(version >= 3 ? 1_700_000_000_250 : undefined);
        expect(ev.parentAuditToken).toEqual(version >= 4 ? expect.objectContaining({ pid: 600, pidversion: 4 }) : undefined);
        expect(ev.responsibleAuditToken).toEqual(version >= 4 ? expect.objectContaining({ pid: 590 }) : undefined);
      }
    });
  }

  it("a close that did not modify the file is not reported", async () => {
    const h = es.start();
    es.addon.setFileEvents(h, { kinds: ["modify"], authOpen: false, openPrefilter: null });
    const got = await es.deliver(
      [
        { type: "close", process: stealer, path: "/a", modified: false },
        { type: "close", process: stealer, path: "/b", modified: true },
      ],
      1,
    );
    expect(got.map((e) => e.file?.path)).toEqual(["/b"]);
    expect(es.addon.standin.state().delivered).toBe(2);
  });

  it("paths are read by length (the stand-in puts no NUL after them), bytes kept exactly, truncation flagged", async () => {
    const h = es.start();
    es.addon.setFileEvents(h, { kinds: [...ALL_KINDS], authOpen: false, openPrefilter: null });
    const latin1 = Uint8Array.from([0x2f, 0x74, 0x2f, 0xe9, 0x74, 0xe9]); // "/t/été" in Latin-1: not UTF-8
    const got = await es.deliver([
      { type: "notify_open", process: stealer, path: latin1 },
      { type: "notify_open", process: stealer, path: "/x".repeat(100), pathTruncated: true },
      { type: "rename", process: stealer, source: "/s".repeat(50), sourceTruncated: true, newPath: { dir: "/d", name: "n" } },
      { type: "create", process: stealer, newPath: { dir: "/", name: "top" } },
      { type: "notify_open", process: stealer, path: "" },
    ]);
    expect(got[0].file!.path).toEqual(latin1);
    expect(got[1].file).toEqual({ path: "/x".repeat(100), pathTruncated: true, openFlags: 1 });
    expect(got[2].file).toEqual({ path: "/d/n", originalPath: "/s".repeat(50), originalPathTruncated: true });
    expect(got[3].file).toEqual({ path: "/top" });
    expect(got[4].file).toEqual({ path: "", openFlags: 1 });
  });

  it("only FREAD and FWRITE of the open's fflag reach the contract", async () => {
    const h = es.start();
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: false, openPrefilter: null });
    const got = await es.deliver([
      { type: "notify_open", process: stealer, path: "/r", fflag: 0x1 },
      { type: "notify_open", process: stealer, path: "/w", fflag: 0x2 | 0x200 },
      { type: "notify_open", process: stealer, path: "/dir", fflag: 0x40100000 },
    ]);
    expect(got.map((e) => e.file!.openFlags)).toEqual([1, 2, 0]);
  });
});

describe("subscriptions", () => {
  const subs = (): number[] => [...es.addon.standin.state().subscriptions].sort((a, b) => a - b);
  const BASE = [ES_EVENT.NOTIFY_EXEC, ES_EVENT.NOTIFY_FORK, ES_EVENT.NOTIFY_EXIT];

  it("none before setFileEvents; then exactly the kinds asked for; AUTH_OPEN replaces NOTIFY_OPEN and back", async () => {
    const h = es.start();
    expect(subs()).toEqual(BASE);
    es.addon.setFileEvents(h, { kinds: ["create", "delete"], authOpen: false, openPrefilter: null });
    expect(subs()).toEqual([...BASE, ES_EVENT.NOTIFY_CREATE, ES_EVENT.NOTIFY_UNLINK].sort((a, b) => a - b));
    es.addon.setFileEvents(h, { kinds: ["open", "modify", "rename"], authOpen: false, openPrefilter: null });
    expect(subs()).toEqual(
      [...BASE, ES_EVENT.NOTIFY_OPEN, ES_EVENT.NOTIFY_CLOSE, ES_EVENT.NOTIFY_RENAME].sort((a, b) => a - b),
    );
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    expect(subs()).toEqual([ES_EVENT.AUTH_OPEN, ...BASE]);
    es.addon.setFileEvents(h, { kinds: [], authOpen: false, openPrefilter: null });
    expect(subs()).toEqual(BASE);
    // Unsubscribed kinds are not delivered at all.
    es.addon.standin.enqueue([{ type: "notify_open", path: "/x" }, { type: "unlink", path: "/y" }]);
    expect(es.addon.standin.waitIdle(10_000)).toBe(true);
    expect(es.addon.standin.state()).toMatchObject({ delivered: 0, suppressed: 2 });
  });

  it("a bad spec is refused with the key named", () => {
    const h = es.start();
    expect(() => es.addon.setFileEvents(h, { kinds: [], authOpen: true, openPrefilter: { pathGlob: ["x"] } as never })).toThrow(
      /unknown key "pathGlob"/,
    );
    expect(() => es.addon.setFileEvents(h, { kinds: [], authOpen: true, openPrefilter: { pathPrefix: ["/Üsers"] } })).toThrow(
      /pathPrefix: item "\/Üsers" is not ASCII/,
    );
    expect(() => es.addon.setFileEvents(h, { kinds: "open" as never, authOpen: false, openPrefilter: null })).toThrow(/kinds/);
  });
});

describe("AUTH_OPEN", () => {
  const keychainOpen = (ev: RawEvent): boolean => String(ev.file?.path).includes("/Library/Keychains/");

  it("JavaScript denies the keychain open and allows the rest: es_respond_flags_result, 0 or all flags, once, uncached", async () => {
    const answers: string[] = [];
    const h = es.start({}, (ev, hh) => {
      answers.push(es.addon.respond(hh, ev.auth!.id, !keychainOpen(ev)));
    });
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    es.addon.standin.enqueue([
      open("keychain", KEYCHAIN, { fflag: 1 }),
      open("notes", "/Users/ann/notes.txt", { fflag: 3 }),
    ]);
    await until(() => es.addon.standin.authRecords().every((r) => r.answers === 1) && es.events.length === 2, "2 answers");
    expect(answers).toEqual(["answered", "answered"]);
    const records = es.addon.standin.authRecords();
    expect(records.map((r) => [r.tag, r.answeredWith, r.flags, r.result, r.cache, r.requestedFflag])).toEqual([
      ["keychain", "flags", 0, "deny", false, 1],
      ["notes", "flags", 0xffffffff, "allow", false, 3],
    ]);
    for (const r of records) expect(r.answerUs!).toBeLessThan(r.deadlineUs);
    expect(es.events.map((e) => [e.kind, e.file?.path, e.file?.openFlags, typeof e.auth?.id])).toEqual([
      ["open", KEYCHAIN, 1, "number"],
      ["open", "/Users/ann/notes.txt", 3, "number"],
    ]);
    expect(es.events[0]).toMatchObject({ pid: 612, executable: "/tmp/.x/stealer", codeSignature: { signingId: "a.out" } });
    expect(es.addon.respond(h, es.events[0].auth!.id, true)).toBe("duplicate");
    expect(es.addon.esStats(h)).toMatchObject({ allowed: 1, denied: 1, authToJs: 2, watchdogAnswers: 0, retainedNow: 0, pendingAuth: 0 });
  });

  it("the watchdog answers ALLOW (all flags) before the deadline while JavaScript is late; the late answer is refused", async () => {
    const ids: number[] = [];
    const h = es.start({}, (ev) => ids.push(ev.auth!.id));
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    // 1.5 s deadline: the watchdog keeps 20% in hand and answers 1.2 s after delivery.
    es.addon.standin.enqueue(open("slow", KEYCHAIN, { deadlineMs: 1500 }));
    await until(() => es.addon.standin.authRecords()[0]?.answers === 1, "the watchdog answer");
    const [r] = es.addon.standin.authRecords();
    expect([r.answeredWith, r.flags, r.result, r.cache]).toEqual(["flags", 0xffffffff, "allow", false]);
    expect(r.answerUs!).toBeLessThan(r.deadlineUs);
    expect(r.answerUs!).toBeGreaterThanOrEqual(es.addon.internals.watchdogDelayMs(1500)! * 1000 - 50_000);
    await until(() => ids.length === 1, "the AUTH event in JavaScript");
    expect(es.addon.respond(h, ids[0], false)).toBe("tooLate");
    expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 1, lateJsAnswers: 1, allowed: 1, denied: 0, retainedNow: 0 });
  });

  it("fail-closed: the watchdog answers DENY (no flags)", async () => {
    const h = es.start({ failClosed: true });
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    es.addon.standin.enqueue(open("slow", KEYCHAIN, { deadlineMs: 1200 }));
    await until(() => es.addon.standin.authRecords()[0]?.answers === 1, "the watchdog answer");
    expect(es.addon.standin.authRecords()[0]).toMatchObject({ answeredWith: "flags", flags: 0, result: "deny" });
    expect(es.addon.esStats(h)).toMatchObject({ watchdogAnswers: 1, denied: 1 });
  });

  it("stopEs answers a pending AUTH open once and releases it", async () => {
    const h = es.start();
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    es.addon.standin.enqueue(open("pending", KEYCHAIN));
    await until(() => es.events.length === 1, "the AUTH event");
    expect(es.addon.standin.authRecords()[0].answers).toBe(0);
    expect(es.addon.esStats(h).retainedNow).toBe(1);
    es.stop();
    expect(es.addon.standin.authRecords()[0]).toMatchObject({ answers: 1, answeredWith: "flags", result: "allow" });
    expect(es.addon.standin.state().liveMessages).toBe(0);
  });
});

describe("AUTH_OPEN pre-filter", () => {
  it("opens no block rule guards are allowed natively at once and still reported; candidates go to JavaScript", async () => {
    const toJs: string[] = [];
    const h = es.start({}, (ev, hh) => {
      toJs.push(String(ev.file?.path));
      es.addon.respond(hh, ev.auth!.id, false);
    });
    es.addon.setFileEvents(h, {
      kinds: ["open"],
      authOpen: true,
      openPrefilter: { pathPrefix: ["/Library/Keychains/"], pathContains: ["/library/keychains/"], nameEquals: ["Cookies"] },
    });
    const paths: (string | Uint8Array)[] = [
      "/usr/lib/libSystem.B.dylib",
      KEYCHAIN,
      "/Library/Keychains/System.keychain",
      "/USERS/ANN/LIBRARY/KEYCHAINS/x", // ASCII case folded
      "/Users/ann/Library/Application Support/Google/Chrome/Default/Cookies",
      "/Users/ann/Cookies.txt",
      "/Users/ann/Library/Keychainsfoo",
      "/é", // non-ASCII: always a candidate
    ];
    es.addon.standin.enqueue(paths.map((p, i) => open(`o${i}`, p)));
    // A truncated path is a candidate whatever it reads.
    es.addon.standin.enqueue(open("truncated", "/tmp/harmless", { pathTruncated: true }));
    await until(() => es.events.length === paths.length + 1 && es.addon.standin.authRecords().every((r) => r.answers === 1), "all answered");
    expect(toJs).toEqual([
      KEYCHAIN,
      "/Library/Keychains/System.keychain",
      "/USERS/ANN/LIBRARY/KEYCHAINS/x",
      "/Users/ann/Library/Application Support/Google/Chrome/Default/Cookies",
      "/é",
      "/tmp/harmless",
    ]);
    const byTag = Object.fromEntries(es.addon.standin.authRecords().map((r) => [r.tag, [r.answeredWith, r.result, r.cache]]));
    expect(byTag).toMatchObject({
      o0: ["flags", "allow", false],
      o1: ["flags", "deny", false],
      o5: ["flags", "allow", false],
      o6: ["flags", "allow", false],
      truncated: ["flags", "deny", false],
    });
    // Natively allowed opens are reported without an auth request.
    expect(es.events.filter((e) => e.auth === undefined).map((e) => e.file?.path)).toEqual([
      "/usr/lib/libSystem.B.dylib",
      "/Users/ann/Cookies.txt",
      "/Users/ann/Library/Keychainsfoo",
    ]);
    expect(es.addon.esStats(h)).toMatchObject({ prefiltered: 3, prefilteredOpens: 3, authToJs: 6, retainedNow: 0, pendingAuth: 0 });
  });

  it("an empty spec allows every open natively; no pre-filter sends every open to JavaScript", async () => {
    const h = es.start({}, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: {} });
    es.addon.standin.enqueue([open("a", KEYCHAIN), open("b", "/etc/hosts")]);
    await until(() => es.events.length === 2, "2 events");
    expect(es.addon.esStats(h)).toMatchObject({ prefilteredOpens: 2, authToJs: 0 });
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: null });
    es.addon.standin.enqueue([open("c", "/etc/hosts")]);
    await until(() => es.events.length === 3 && es.addon.standin.authRecords().every((r) => r.answers === 1), "3 events");
    expect(es.addon.esStats(h)).toMatchObject({ prefilteredOpens: 2, authToJs: 1 });
  });

  it("natively allowed opens are not reported when no rule wants opens; candidates still are", async () => {
    const h = es.start({}, (ev, hh) => es.addon.respond(hh, ev.auth!.id, false));
    es.addon.setFileEvents(h, { kinds: ["create"], authOpen: true, openPrefilter: { pathEquals: [KEYCHAIN] } });
    es.addon.standin.enqueue([open("lib", "/usr/lib/libz.dylib"), open("keychain", KEYCHAIN), open("hosts", "/etc/hosts")]);
    await until(() => es.addon.standin.authRecords().length === 3 && es.addon.standin.authRecords().every((r) => r.answers === 1), "3 answers");
    expect(es.addon.standin.waitIdle(10_000)).toBe(true);
    await until(() => es.events.length >= 1, "the candidate");
    expect(es.events.map((e) => e.file?.path)).toEqual([KEYCHAIN]);
    expect(es.addon.esStats(h)).toMatchObject({ prefilteredOpens: 2, authToJs: 1, toJs: 1, queueDrops: 0 });
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.result])).toEqual([["lib", "allow"], ["keychain", "deny"], ["hosts", "allow"]]);
  });

  it("the exec pre-filter does not judge opens, nor the open pre-filter execs", async () => {
    const h = es.start({ authExec: true, prefilter: { argEquals: [] } }, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: true, openPrefilter: { pathEquals: ["/etc/hosts"] } });
    es.addon.standin.enqueue([
      open("hosts", "/etc/hosts"),
      { type: "auth_exec", tag: "exec", args: ["/etc/hosts"], target: { pid: 5, executable: "/etc/hosts" } },
      { type: "notify_exec", tag: "exec", args: ["/etc/hosts"], target: { pid: 5, executable: "/etc/hosts" } },
    ]);
    await until(() => es.events.length === 2 && es.addon.standin.authRecords().every((r) => r.answers === 1), "both answered");
    // The exec pre-filter allowed the AUTH exec natively; only its NOTIFY reports it.
    expect(es.events.map((e) => [e.kind, e.auth !== undefined])).toEqual([["open", true], ["exec", false]]);
    expect(es.addon.standin.authRecords().map((r) => r.answeredWith)).toEqual(["flags", "auth"]);
  });
});

describe("relevance over file paths", () => {
  it("a file event whose path the rules cannot want rides along with the next wanted one", async () => {
    const batches: RawEvent[][] = [];
    const h = es.addon.startEs({ holdMs: 1000 }, (batch) => batches.push(batch));
    es.track(h);
    es.addon.setRelevance(h, {
      kinds: ["open"], execPrefilter: null, filePrefilter: { pathEquals: [], pathPrefix: ["/etc/"], pathSuffix: [], pathContains: [], nameEquals: [] },
    });
    es.addon.setFileEvents(h, { kinds: ["open"], authOpen: false, openPrefilter: null });
    es.addon.standin.enqueue([
      { type: "notify_open", process: stealer, path: "/tmp/a" },
      { type: "notify_open", process: stealer, path: "/etc/hosts" },
    ]);
    await until(() => batches.flat().length === 2, "two opens");
    expect(batches.map((b) => b.map((e) => e.file?.path))).toEqual([["/tmp/a", "/etc/hosts"]]);
    expect(() =>
      es.addon.setRelevance(h, { kinds: ["open"], execPrefilter: null, filePrefilter: { pathPrefix: ["/é"] } as never }),
    ).toThrow(/setRelevance: pre-filter pathPrefix: item "\/é" is not ASCII/);
  });
});
