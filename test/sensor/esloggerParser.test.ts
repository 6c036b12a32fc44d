import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseJsonKeepingBigIntegers } from "../../src/sensor/esloggerJson.js";
import { EsloggerFieldError, esloggerMessageToRaw, parseAuditToken, parseEsloggerTime } from "../../src/sensor/esloggerParser.js";

const fixtures = new URL("../fixtures/eslogger/", import.meta.url).pathname;
const lines = (name: string) => readFileSync(fixtures + name, "utf8").trim().split("\n").map((l) => parseJsonKeepingBigIntegers(l) as Record<string, any>);

function fieldError(fn: () => unknown): EsloggerFieldError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EsloggerFieldError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("eslogger message → RawEvent", () => {
  it("v6 exec: the new image from target, parent from target.ppid, argv[0] unresolved", () => {
    const r = esloggerMessageToRaw(lines("v6-session.jsonl")[1]);
    expect(r.kind).toBe("event");
    if (r.kind !== "event") return;
    expect(r.event).toMatchObject({
      source: "eslogger",
      kind: "exec",
      seq: 4412,
      pid: 4101,
      ppid: 4000,
      pgid: 4101,
      sid: 3990,
      uid: 501,
      euid: 501,
      executable: "/usr/bin/security",
      args: ["security", "dump-keychain", "-d"],
      cwd: "/Users/alice",
      tty: "/dev/ttys003",
      messageVersion: 6,
      codeSignature: { signingId: "com.apple.security", cdhash: "9b2f47d1c0a8e35b6d4f2a1c9e8b7d6f5a4c3b2e", flags: 637623057, platformBinary: true },
    });
    expect(r.event.codeSignature?.teamId).toBeUndefined();
    expect(r.event.auditToken?.pidversion).toBe(12002);
    expect(r.event.time).toBe(Date.UTC(2024, 2, 5, 10, 15, 2, 116) + 0.012);
    expect(r.event.startTime).toBe(Date.UTC(2024, 2, 5, 10, 15, 2, 114) + 0.522);
    expect(r.event.env).toBeUndefined();
    expect(r.instigator).toMatchObject({ pid: 4101, executable: "/bin/zsh" });
  });

  it("keeps only the configured environment variables", () => {
    const r = esloggerMessageToRaw(lines("v6-session.jsonl")[1], { envNames: ["DYLD_INSERT_LIBRARIES", "NOPE"] });
    expect(r.kind === "event" && r.event.env).toEqual(["DYLD_INSERT_LIBRARIES=/tmp/x.dylib"]);
  });

  it("v10 fork: array audit tokens, the child's pid and parent", () => {
    const r = esloggerMessageToRaw(lines("v10-session.jsonl")[0]);
    if (r.kind !== "event") throw new Error("not an event");
    expect(r.event).toMatchObject({ kind: "fork", pid: 7010, ppid: 7000, executable: "/bin/bash" });
    expect(r.event.auditToken).toEqual({ auid: 501, euid: 501, egid: 20, ruid: 501, rgid: 20, pid: 7010, asid: 100004, pidversion: 51001 });
    expect(r.event.responsibleAuditToken?.pid).toBe(611);
  });

  it("exit: the wait status and the exiting process", () => {
    const r = esloggerMessageToRaw(lines("v10-session.jsonl")[3]);
    expect(r.kind === "event" && r.event).toMatchObject({ kind: "exit", pid: 7010, exitStatus: 256 });
  });

  it("other event types are skipped, not errors", () => {
    expect(esloggerMessageToRaw(lines("v10-session.jsonl")[2])).toEqual({ kind: "skipped", eventType: "lookup", version: 10 });
  });

  it("branches on version, not schema_version, and reads newer versions", () => {
    const m = lines("v6-session.jsonl")[1];
    m.schema_version = 99;
    m.version = 12;
    const r = esloggerMessageToRaw(m);
    expect(r.kind === "event" && r.version).toBe(12);
  });

  it("bad fields are errors that name the field", () => {
    const m = lines("v6-session.jsonl")[1];
    m.event.exec.target.audit_token.pid = "x";
    expect(fieldError(() => esloggerMessageToRaw(m)).field).toBe("event.exec.target.audit_token.pid");
    const n = lines("v6-session.jsonl")[1];
    n.event.exec.args = ["a", 3];
    expect(fieldError(() => esloggerMessageToRaw(n)).field).toBe("event.exec.args[1]");
    const o = lines("v6-session.jsonl")[1];
    o.event_type = 11;
    expect(fieldError(() => esloggerMessageToRaw(o)).field).toBe("event_type");
    const p = lines("v6-session.jsonl")[1];
    p.event.exec.target.ppid = "1152921500312524417";
    expect(fieldError(() => esloggerMessageToRaw(p)).reason).toMatch(/out of range/);
    expect(fieldError(() => esloggerMessageToRaw({ version: 6, event: {} })).field).toBe("event");
  });

  it("audit tokens in both shapes, and eslogger times with 9 and 6 digits", () => {
    expect(parseAuditToken([4294967295, 0, 0, 0, 0, 1, 100000, 1], "t")).toEqual({ auid: 4294967295, euid: 0, egid: 0, ruid: 0, rgid: 0, pid: 1, asid: 100000, pidversion: 1 });
    expect(fieldError(() => parseAuditToken([1, 2], "t")).field).toBe("t");
    expect(parseEsloggerTime("2025-01-01T00:00:00.123456789Z", "t")).toBe(Date.UTC(2025, 0, 1) + 123.457 - 0.001);
    expect(parseEsloggerTime("2025-01-01T00:00:00Z", "t")).toBe(Date.UTC(2025, 0, 1));
    expect(fieldError(() => parseEsloggerTime("yesterday", "t")).field).toBe("t");
  });
});

describe("eslogger file events → RawEvent (fileEvents)", () => {
  const v6 = lines("v6-session.jsonl");
  const openMessage = v6[2];
  /** The v6 open message with another event body. */
  const withEvent = (name: string, eventType: number, body: unknown) => ({ ...openMessage, event_type: eventType, event: { [name]: body } });
  const file = (path: string, truncated = false) => ({ path, path_truncated: truncated, stat: {} });
  const parse = (message: unknown) => {
    const r = esloggerMessageToRaw(message, { fileEvents: true });
    if (r.kind !== "event") throw new Error(`skipped ${r.eventType}`);
    return r.event;
  };

  it("a real open (v6): the file, the read flag, and the acting process from `process`", () => {
    const event = parse(openMessage);
    expect(event).toMatchObject({ source: "eslogger", kind: "open", file: { path: "/Users/alice/Library/Keychains/login.keychain-db", openFlags: 1 } });
    expect(event.executable).toBe(openMessage.process.executable.path);
    expect(event.pid).toBe(openMessage.process.audit_token.pid);
    expect(event.codeSignature?.signingId).toBe(openMessage.process.signing_id);
  });

  it("without the option, file events are skipped as before", () => {
    expect(esloggerMessageToRaw(openMessage)).toEqual({ kind: "skipped", eventType: "open", version: 6 });
  });

  it("create, rename (both destination shapes), unlink, and close only when modified", () => {
    const newPath = { dir: file("/private/tmp"), filename: "l.keychain-db", mode: 420 };
    expect(parse(withEvent("create", 13, { destination_type: 1, destination: { new_path: newPath }, acl: null })).file).toEqual({ path: "/private/tmp/l.keychain-db" });
    expect(parse(withEvent("create", 13, { destination_type: 0, destination: { existing_file: file("/tmp/x", true) } })).file).toEqual({ path: "/tmp/x", pathTruncated: true });
    const renamed = parse(withEvent("rename", 25, { source: file("/Users/a/Library/Keychains/login.keychain-db"), destination_type: 1, destination: { new_path: { dir: file("/"), filename: "k" } } }));
    expect(renamed).toMatchObject({ kind: "rename", file: { path: "/k", originalPath: "/Users/a/Library/Keychains/login.keychain-db" } });
    expect(parse(withEvent("unlink", 32, { target: file("/tmp/gone"), parent_dir: file("/tmp") }))).toMatchObject({ kind: "delete", file: { path: "/tmp/gone" } });
    expect(parse(withEvent("close", 12, { target: file("/tmp/w"), modified: true, was_mapped_writable: false }))).toMatchObject({ kind: "modify", file: { path: "/tmp/w" } });
    expect(esloggerMessageToRaw(withEvent("close", 12, { target: file("/tmp/r"), modified: false }), { fileEvents: true })).toEqual({ kind: "skipped", eventType: "close", version: 6 });
  });

  it("names the field that is wrong", () => {
    expect(fieldError(() => parse(withEvent("open", 10, { fflag: 1 }))).field).toBe("event.open.file");
    expect(fieldError(() => parse(withEvent("create", 13, { destination_type: 2, destination: {} }))).field).toBe("event.create.destination_type");
    expect(fieldError(() => parse(withEvent("rename", 25, { source: file("/a"), destination_type: 1, destination: { new_path: { dir: file("/b") } } }))).field).toBe("event.rename.destination.new_path.filename");
    expect(fieldError(() => parse(withEvent("unlink", 13, { target: file("/a") }))).field).toBe("event_type");
  });
});
