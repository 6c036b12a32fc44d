import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createEcsMapper } from "../../src/ecs/mapper.js";
import { validateEcsEvent } from "../../src/ecs/validate.js";
import { exec, exit, fixtures, fork, get, mapEsloggerFixture, testAgent, testHost, testMapper } from "./helpers.js";

const goldens = ["v6-session.jsonl", "v10-session.jsonl", "v11-pretty.json", "v2-exec.jsonl"];

describe("ECS mapping of eslogger fixtures", () => {
  it.each(goldens)("%s matches its golden ECS output", async (name) => {
    const docs = await mapEsloggerFixture(name);
    const golden = `${fixtures}ecs/${name.replace(/\.jsonl?$/, "")}.ndjson`;
    const text = docs.map((d) => JSON.stringify(d)).join("\n") + "\n";
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, "utf8"));
    for (const doc of docs) expect(validateEcsEvent(doc)).toEqual([]);
  });

  it("v6: keychain dump exec has Defend's exec shape, the shell as parent, and the fork's entity id", async () => {
    const [forkDoc, execDoc, exitDoc] = await mapEsloggerFixture("v6-session.jsonl");
    expect(get(execDoc, "event.category")).toEqual(["process"]);
    expect(get(execDoc, "event.type")).toEqual(["start"]);
    expect(get(execDoc, "event.action")).toBe("exec");
    expect(get(execDoc, "host.os.type")).toBe("macos");
    expect(get(execDoc, "process.executable")).toBe("/usr/bin/security");
    expect(get(execDoc, "process.name")).toBe("security");
    expect(get(execDoc, "process.args")).toEqual(["security", "dump-keychain", "-d"]);
    expect(get(execDoc, "process.args_count")).toBe(3);
    expect(get(execDoc, "process.command_line")).toBe("security dump-keychain -d");
    expect(get(execDoc, "process.working_directory")).toBe("/Users/alice");
    expect(get(execDoc, "process.parent.pid")).toBe(4000);
    expect(get(execDoc, "process.parent.name")).toBe("zsh");
    expect(get(execDoc, "process.parent.executable")).toBe("/bin/zsh");
    expect(get(execDoc, "process.parent.code_signature.signing_id")).toBe("com.apple.zsh");
    expect(get(execDoc, "user.id")).toBe("501");
    expect(get(execDoc, "user.name")).toBe("alice");
    expect(get(execDoc, "group.name")).toBe("staff");
    expect(get(execDoc, "process.code_signature")).toMatchObject({ exists: true, trusted: true, signing_id: "com.apple.security", team_id: "" });
    expect(get(execDoc, "process.hash.cdhash")).toBe("9b2f47d1c0a8e35b6d4f2a1c9e8b7d6f5a4c3b2e");
    expect(get(execDoc, "process.tty.char_device")).toEqual({ major: 16, minor: 3 });
    expect(get(execDoc, "process.previous")).toEqual([{ executable: "/bin/zsh" }]);
    expect(get(execDoc, "process.env_vars")).toBeUndefined();
    // fork → exec → exit of one process keep one entity id; the fork's parent is the exec's parent
    expect(get(forkDoc, "process.entity_id")).toBe(get(execDoc, "process.entity_id"));
    expect(get(exitDoc, "process.entity_id")).toBe(get(execDoc, "process.entity_id"));
    expect(get(forkDoc, "process.parent.entity_id")).toBe(get(execDoc, "process.parent.entity_id"));
    expect(get(execDoc, "process.Ext.ancestry")).toEqual([get(execDoc, "process.parent.entity_id")]);
    expect(get(forkDoc, "process.name")).toBe("zsh");
    expect(get(forkDoc, "process.command_line")).toBeUndefined();
    expect(get(exitDoc, "event.type")).toEqual(["end"]);
    expect(get(exitDoc, "event.action")).toBe("end");
    expect(get(exitDoc, "process.exit_code")).toBe(0);
    expect(get(exitDoc, "process.end")).toBe("2024-03-05T10:15:02.391Z");
  });

  it("v6: an argument with a newline and quotes is kept exactly", async () => {
    const docs = await mapEsloggerFixture("v6-session.jsonl");
    const sh = docs.find((d) => get(d, "process.name") === "sh" && get(d, "event.action") === "exec")!;
    expect(get(sh, "process.args")).toEqual(["sh", "-c", "printf '%s\\n' \"line one\nline two\""]);
    expect(get(sh, "process.command_line")).toBe("sh -c printf '%s\\n' \"line one\nline two\"");
    const end = docs.find((d) => get(d, "process.name") === "sh" && get(d, "event.action") === "end")!;
    expect(get(end, "process.exit_code")).toBe(1);
  });

  it("v10: array audit tokens give the same identities as object ones", async () => {
    const [forkDoc, execDoc] = await mapEsloggerFixture("v10-session.jsonl");
    expect(get(execDoc, "process.pid")).toBe(7010);
    expect(get(execDoc, "process.parent.pid")).toBe(7000);
    expect(get(execDoc, "process.parent.name")).toBe("bash");
    expect(get(execDoc, "user.id")).toBe("501");
    expect(get(execDoc, "group.id")).toBe("20");
    expect(get(execDoc, "process.group_leader.pid")).toBe(7010);
    expect(get(execDoc, "process.session_leader.pid")).toBe(6990);
    expect(get(forkDoc, "process.entity_id")).toBe(get(execDoc, "process.entity_id"));
    // the responsible process (Terminal, never seen in the capture) is neither the process nor its parent
    expect(get(execDoc, "process.Ext.effective_parent")).toEqual({ pid: 611 });
  });

  it("effective parent: the responsible process's image when the table knows it", () => {
    const mapper = testMapper();
    const token = (pid: number) => ({ pid, pidversion: 1, euid: 501, ruid: 501, egid: 20, rgid: 20 });
    mapper.map(exec(900, { executable: "/Applications/Cursor.app/Contents/MacOS/Cursor", args: ["Cursor"], startTime: 1 }));
    mapper.map(exec(901, { ppid: 900, executable: "/bin/zsh", args: ["zsh"], startTime: 2 }));
    const doc = mapper.map(exec(902, { ppid: 901, executable: "/usr/bin/curl", args: ["curl"], responsibleAuditToken: token(900) }));
    expect(get(doc, "process.Ext.effective_parent")).toEqual({
      pid: 900,
      entity_id: mapper.table.get(900)!.entityId,
      name: "Cursor",
      executable: "/Applications/Cursor.app/Contents/MacOS/Cursor",
    });
    const self = mapper.map(exec(903, { ppid: 901, executable: "/bin/ls", responsibleAuditToken: token(903) }));
    expect(get(self, "process.Ext.effective_parent")).toBeUndefined();
  });

  it("v11 pretty-printed: a Developer ID app's child runs curl; the app is trusted through its team id", async () => {
    const [forkDoc, execDoc] = await mapEsloggerFixture("v11-pretty.json");
    expect(get(forkDoc, "process.code_signature")).toMatchObject({ exists: true, trusted: true, team_id: "ABCDE12345" });
    expect(get(execDoc, "process.name")).toBe("curl");
    expect(get(execDoc, "process.parent.executable")).toBe("/Applications/Example Helper.app/Contents/MacOS/Example Helper");
    expect(get(execDoc, "process.parent.code_signature.team_id")).toBe("ABCDE12345");
    expect(get(execDoc, "process.interactive")).toBeUndefined();
  });

  it("v2 (no cwd, no start time, no parent token): maps what is there", async () => {
    const [doc] = await mapEsloggerFixture("v2-exec.jsonl");
    expect(get(doc, "process.name")).toBe("security");
    expect(get(doc, "process.working_directory")).toBeUndefined();
    expect(get(doc, "process.parent.pid")).toBe(299);
    expect(get(doc, "process.entity_id")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe("ECS mapping edge cases", () => {
  it("an exec with no arguments has args [] and an empty command line", () => {
    const doc = testMapper().map(exec(10, { executable: "/bin/true", args: [] }));
    expect(get(doc, "process.args")).toEqual([]);
    expect(get(doc, "process.args_count")).toBe(0);
    expect(get(doc, "process.command_line")).toBe("");
    expect(get(doc, "process.name")).toBe("true");
  });

  it("10,000 arguments are all kept, in order", () => {
    const args = Array.from({ length: 10_000 }, (_, i) => `arg${i}`);
    const doc = testMapper().map(exec(11, { executable: "/bin/echo", args: ["echo", ...args] }));
    expect(get(doc, "process.args_count")).toBe(10_001);
    expect((get(doc, "process.args") as string[])[10_000]).toBe("arg9999");
    expect((get(doc, "process.command_line") as string).length).toBe(["echo", ...args].join(" ").length);
  });

  it("a 1 MB argument is kept whole", () => {
    const big = "x".repeat(1 << 20);
    const doc = testMapper().map(exec(12, { executable: "/bin/echo", args: ["echo", big] }));
    expect((get(doc, "process.args") as string[])[1]).toHaveLength(1 << 20);
    expect(get(doc, "process.command_line")).toBe(`echo ${big}`);
  });

  it("the table keeps a bounded copy of a huge argv for parent views; the event itself has it whole", () => {
    const mapper = testMapper();
    const big = "y".repeat(200_000);
    const own = mapper.map(exec(16, { executable: "/bin/sh", args: ["sh", "-c", big], startTime: 5 }));
    expect((get(own, "process.args") as string[])[2]).toHaveLength(200_000);
    expect(get(own, "process.Ext.command_line_truncated")).toBeUndefined();
    const child = mapper.map(exec(17, { ppid: 16, executable: "/bin/true", args: ["true"] }));
    const parentArgs = get(child, "process.parent.args") as string[];
    expect(parentArgs.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(parentArgs.join(" ").length).toBeLessThanOrEqual(65536);
    expect(get(child, "process.parent.Ext.command_line_truncated")).toBe(true);
    const forked = mapper.map(fork(18, 16));
    expect(get(forked, "process.Ext.command_line_truncated")).toBe(true);
  });

  it("invalid UTF-8: U+FFFD in the field, exact bytes in macsensor.raw_bytes", () => {
    const badArg = new Uint8Array([0x61, 0xff, 0x62]);
    const badPath = new Uint8Array([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xc3, 0x28]);
    const doc = testMapper().map(exec(13, { executable: badPath, args: ["x", badArg], cwd: "/tmp" }));
    expect(get(doc, "process.args")).toEqual(["x", "a\uFFFDb"]);
    expect(get(doc, "process.executable")).toBe("/tmp/\uFFFD(");
    expect(get(doc, "process.name")).toBe("\uFFFD(");
    expect(get(doc, "macsensor.raw_bytes")).toEqual([
      { field: "process.executable", base64: Buffer.from(badPath).toString("base64") },
      { field: "process.args", index: 1, base64: Buffer.from(badArg).toString("base64") },
    ]);
    expect(Buffer.from((get(doc, "macsensor.raw_bytes") as { base64: string }[])[1].base64, "base64")).toEqual(Buffer.from(badArg));
  });

  it("a process gone before it was read: partial event with what is there and the reason", () => {
    const doc = testMapper().map(exec(14, { ppid: 1, partial: "process exited before /proc was read: cmdline, exe, cwd" }));
    expect(get(doc, "macsensor.partial")).toBe("process exited before /proc was read: cmdline, exe, cwd");
    expect(get(doc, "process.pid")).toBe(14);
    expect(get(doc, "process.parent.pid")).toBe(1);
    expect(get(doc, "process.executable")).toBeUndefined();
    expect(get(doc, "process.args")).toBeUndefined();
    expect(validateEcsEvent(doc)).toEqual([]);
  });

  it("partial exec with argv but no executable names the process after argv[0]", () => {
    const doc = testMapper().map(exec(15, { args: ["/usr/bin/env", "x"], partial: "exe unreadable" }));
    expect(get(doc, "process.name")).toBe("env");
    expect(get(doc, "process.executable")).toBeUndefined();
  });

  it("Linux fork then exec: the child shows its parent's image, then its own, with one entity id", () => {
    const mapper = testMapper();
    mapper.map(exec(100, { executable: "/usr/bin/bash", args: ["bash"], ppid: 1, startTime: 1_699_999_000_000 }));
    const f = mapper.map(fork(101, 100));
    const e = mapper.map(exec(101, { executable: "/usr/bin/ls", args: ["ls", "-l"], ppid: 100, uid: 1000, euid: 0, gid: 1000, egid: 0 }));
    expect(get(f, "process.name")).toBe("bash");
    expect(get(f, "process.args")).toEqual(["bash"]);
    expect(get(e, "process.name")).toBe("ls");
    expect(get(e, "process.entity_id")).toBe(get(f, "process.entity_id"));
    expect(get(e, "process.parent.name")).toBe("bash");
    expect(get(e, "process.parent.args")).toEqual(["bash"]);
    expect(get(e, "process.parent.command_line")).toBe("bash");
    expect(get(e, "process.previous")).toEqual([{ executable: "/usr/bin/bash", args: ["bash"], args_count: 1 }]);
    expect(get(e, "user.id")).toBe("0");
    expect(get(e, "user.name")).toBe("root");
    expect(get(e, "user.Ext.real.id")).toBe("1000");
    expect(get(e, "process.real_user.id")).toBe("1000");
    expect(get(e, "group.Ext.real.id")).toBe("1000");
    expect(get(e, "process.code_signature")).toBeUndefined();
  });

  it("exit codes: normal exit status and signals (128 + signal)", () => {
    const mapper = testMapper();
    expect(get(mapper.map(exit(200, { exitStatus: 3 << 8 })), "process.exit_code")).toBe(3);
    const killed = mapper.map(exit(201, { exitStatus: 9 }));
    expect(get(killed, "process.exit_code")).toBe(137);
    expect(get(killed, "macsensor.exit_signal")).toBe(9);
  });

  it("env vars, script, truncation flags and Linux tty numbers are mapped", () => {
    const doc = testMapper().map(
      exec(300, { executable: "/bin/sh", args: ["sh", "x.sh"], env: ["DYLD_INSERT_LIBRARIES=/tmp/a.dylib"], script: "/tmp/x.sh", argsTruncated: true, executableTruncated: true, tty: "/dev/pts/3" }),
    );
    expect(get(doc, "process.env_vars")).toEqual(["DYLD_INSERT_LIBRARIES=/tmp/a.dylib"]);
    expect(get(doc, "process.Ext.script.path")).toBe("/tmp/x.sh");
    expect(get(doc, "process.Ext.command_line_truncated")).toBe(true);
    expect(get(doc, "macsensor.executable_truncated")).toBe(true);
    expect(get(doc, "process.tty.char_device")).toEqual({ major: 136, minor: 3 });
  });

  it("event fields: ids as strings, sequence, created from the clock, ingested left to the pipeline", () => {
    const doc = createEcsMapper({ host: testHost, agent: testAgent, now: () => 0 }).map(exec(400, { seq: 77, time: Date.UTC(2025, 0, 1), executable: "/bin/ls" }));
    expect(get(doc, "@timestamp")).toBe("2025-01-01T00:00:00.000Z");
    expect(get(doc, "event.created")).toBe("1970-01-01T00:00:00.000Z");
    expect(get(doc, "event.sequence")).toBe(77);
    expect(get(doc, "event.ingested")).toBeUndefined();
    expect(get(doc, "event.kind")).toBe("event");
    expect(get(doc, "event.id")).toMatch(/^[A-Za-z0-9_-]{16}-77$/);
    expect(get(doc, "agent.type")).toBe("endpoint");
    expect(get(doc, "ecs.version")).toBe("8.17.0");
    expect(get(doc, "user")).toBeUndefined();
  });

  it("code signatures: ad-hoc and linker-signed are untrusted, unsigned does not exist", () => {
    const mapper = testMapper();
    const sig = (flags: number, extra = {}) =>
      get(mapper.map(exec(500 + flags, { executable: "/x", codeSignature: { flags, signingId: "x-1", platformBinary: false, ...extra } })), "process.code_signature");
    expect(sig(0x22020203)).toMatchObject({ exists: true, valid: true, trusted: false, team_id: "" });
    expect(sig(0x22000203)).toMatchObject({ exists: true, trusted: false });
    expect(sig(0x22010301, { teamId: "ABCDE12345" })).toMatchObject({ exists: true, trusted: true, team_id: "ABCDE12345" });
    expect(sig(0x22010300, { teamId: "ABCDE12345" })).toMatchObject({ exists: true, valid: false, trusted: false });
    expect(sig(0)).toMatchObject({ exists: false, trusted: false });
  });
});
