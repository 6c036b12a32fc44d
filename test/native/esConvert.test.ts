// ES message → raw event, through the real ES backend built against the ES stand-in: every message version,
// the hard argument cases, environment capture, fork/exit, sequence gaps and muting.
import { describe, expect, it } from "vitest";

import type { MessageSpec, ProcSpec } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

const es = recordEsSessions((addon) => expect(addon.standin.state().violations).toEqual([]));

const caller: ProcSpec = {
  pid: 400, pidversion: 7, euid: 501, ruid: 501, egid: 20, rgid: 20, auid: 501, asid: 100001,
  ppid: 1, originalPpid: 1, groupId: 400, sessionId: 300, executable: "/bin/zsh", signingId: "com.apple.zsh",
  platformBinary: true, csFlags: 0x2000, tty: "/dev/ttys003", startTimeMs: 1_700_000_000_000,
};

const target: ProcSpec = {
  pid: 400, pidversion: 8, euid: 0, ruid: 501, egid: 20, rgid: 20, auid: 501, asid: 100001,
  ppid: 399, originalPpid: 398, groupId: 400, sessionId: 300,
  executable: "/usr/bin/security", signingId: "com.apple.security", teamId: "", csFlags: 0x2a003301,
  platformBinary: true, cdhash: "00112233445566778899aabbccddeeff01234567", tty: "/dev/ttys003",
  startTimeMs: 1_700_000_000_123.456,
  responsible: { pid: 90, pidversion: 2, euid: 501, ruid: 501, egid: 20, rgid: 20 },
  parent: { pid: 399, pidversion: 5, euid: 501, ruid: 501, egid: 20, rgid: 20 },
};

function execSpec(version: number, extra: Partial<MessageSpec> = {}): MessageSpec {
  return {
    type: "notify_exec", version, process: caller, target,
    args: ["security", "find-generic-password", "-wa", "Chrome"], cwd: "/Users/ann", script: "/Users/ann/x.sh",
    ...extra,
  };
}

describe("exec conversion per message version", () => {
  it("v1: only the v1 fields (no tty, script, cwd, start time, parent/responsible tokens)", async () => {
    es.start();
    const [ev] = await es.deliver([execSpec(1)]);
    expect(ev).toMatchObject({
      source: "es", kind: "exec", messageVersion: 1, pid: 400, ppid: 399, originalPpid: 398, pgid: 400, sid: 300,
      uid: 501, euid: 0, gid: 20, egid: 20, executable: "/usr/bin/security",
      args: ["security", "find-generic-password", "-wa", "Chrome"],
      auditToken: { pid: 400, pidversion: 8, euid: 0, ruid: 501, egid: 20, rgid: 20, auid: 501, asid: 100001 },
      codeSignature: {
        signingId: "com.apple.security", cdhash: "00112233445566778899aabbccddeeff01234567",
        flags: 0x2a003301, platformBinary: true,
      },
    });
    for (const key of ["tty", "script", "cwd", "startTime", "parentAuditToken", "responsibleAuditToken"]) {
      expect(ev, key).not.toHaveProperty(key);
    }
    expect(ev.codeSignature).not.toHaveProperty("teamId");
    expect(Math.abs(ev.time - Date.now())).toBeLessThan(60_000);
  });

  it("v2: adds tty and script, still no cwd or start time", async () => {
    es.start();
    const [ev] = await es.deliver([execSpec(2)]);
    expect(ev).toMatchObject({ messageVersion: 2, tty: "/dev/ttys003", script: "/Users/ann/x.sh" });
    expect(ev).not.toHaveProperty("cwd");
    expect(ev).not.toHaveProperty("startTime");
    expect(ev).not.toHaveProperty("parentAuditToken");
  });

  it("v2: a null script (a binary, not a script, was exec'd) is left out", async () => {
    es.start();
    const spec = execSpec(2);
    delete spec.script;
    const [ev] = await es.deliver([spec]);
    expect(ev).not.toHaveProperty("script");
    expect(ev.tty).toBe("/dev/ttys003");
  });

  for (const version of [4, 6, 7]) {
    it(`v${version}: every field, including cwd, start time and the parent and responsible audit tokens`, async () => {
      es.start();
      const [ev] = await es.deliver([execSpec(version)]);
      expect(ev).toMatchObject({
        messageVersion: version, cwd: "/Users/ann", script: "/Users/ann/x.sh", tty: "/dev/ttys003",
        startTime: 1_700_000_000_123.456,
        parentAuditToken: { pid: 399, pidversion: 5, euid: 501, ruid: 501, egid: 20, rgid: 20 },
        responsibleAuditToken: { pid: 90, pidversion: 2 },
      });
    });
  }

  it("a truncated executable path says so", async () => {
    es.start();
    const [ev] = await es.deliver([execSpec(7, { target: { ...target, executable: "/very/long", executableTruncated: true } })]);
    expect(ev.executable).toBe("/very/long");
    expect(ev.executableTruncated).toBe(true);
  });
});

describe("string tokens are read by length", () => {
  // The stand-in puts no NUL after any token: '#' bytes follow up to a guard page, so a C-string read crashes.
  it("every kind of token, empty ones and ones longer than a page, arrives exact", async () => {
    es.start({ captureEnv: ["LONG", "EMPTY"] });
    const long = `/${"d".repeat(5000)}/bin`;
    const [ev] = await es.deliver([execSpec(7, {
      target: { ...target, executable: long, signingId: "", teamId: "T3AM1D", tty: "/dev/ttys009" },
      args: ["", long, "x"], env: [`LONG=${long}`, "EMPTY="], cwd: long, script: "/s",
    })]);
    expect(ev).toMatchObject({
      executable: long, args: ["", long, "x"], env: [`LONG=${long}`, "EMPTY="], cwd: long, script: "/s",
      tty: "/dev/ttys009", codeSignature: { teamId: "T3AM1D" },
    });
    expect(ev.codeSignature).not.toHaveProperty("signingId");
  });
});

describe("arguments", () => {
  it("no arguments at all", async () => {
    es.start();
    const [ev] = await es.deliver([execSpec(7, { args: [] })]);
    expect(ev.args).toEqual([]);
  });

  it("10,000 arguments, each exact and in order", async () => {
    es.start();
    const args = Array.from({ length: 10_000 }, (_, i) => `a${i}`);
    const [ev] = await es.deliver([execSpec(7, { args })]);
    expect(ev.args).toEqual(args);
  });

  it("one argument of 1 MB", async () => {
    es.start();
    const big = "x".repeat(1 << 20) + "END";
    const [ev] = await es.deliver([execSpec(7, { args: ["cat", big] })]);
    expect(ev.args?.[1]).toBe(big);
  });

  it("invalid UTF-8 arrives as the exact bytes; neighbours stay strings", async () => {
    es.start();
    const bad = new Uint8Array([0x66, 0xff, 0xfe, 0x6f, 0xc3]);
    const [ev] = await es.deliver([execSpec(7, { args: ["echo", bad, "ok"] })]);
    expect(ev.args?.[0]).toBe("echo");
    expect(ev.args?.[1]).toBeInstanceOf(Uint8Array);
    expect(Array.from(ev.args?.[1] as Uint8Array)).toEqual(Array.from(bad));
    expect(ev.args?.[2]).toBe("ok");
  });

  it("embedded newlines, tabs and quotes are kept; arguments are not joined or split", async () => {
    es.start();
    const args = ["sh", "-c", "echo one\necho two\n", "a b\tc", "'\"", ""];
    const [ev] = await es.deliver([execSpec(7, { args })]);
    expect(ev.args).toEqual(args);
  });

  it("an invalid UTF-8 executable path arrives as bytes", async () => {
    es.start();
    const path = new Uint8Array([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xe9]);
    const [ev] = await es.deliver([execSpec(7, { target: { ...target, executable: path } })]);
    expect(Array.from(ev.executable as Uint8Array)).toEqual(Array.from(path));
  });
});

describe("environment", () => {
  const env = ["PATH=/usr/bin:/bin", "DYLD_INSERT_LIBRARIES=/tmp/evil.dylib", "DYLD_INSERT_LIBRARIES_X=1", "HOME=/Users/ann"];

  it("is not captured by default", async () => {
    es.start();
    const [ev] = await es.deliver([execSpec(7, { env })]);
    expect(ev).not.toHaveProperty("env");
  });

  it("captures only the configured names, exactly", async () => {
    es.start({ captureEnv: ["DYLD_INSERT_LIBRARIES"] });
    const [ev] = await es.deliver([execSpec(7, { env })]);
    expect(ev.env).toEqual(["DYLD_INSERT_LIBRARIES=/tmp/evil.dylib"]);
  });
});

describe("fork and exit", () => {
  it("fork reports the child; exit reports the wait status", async () => {
    es.start();
    const child: ProcSpec = { ...caller, pid: 401, pidversion: 1, ppid: 400, originalPpid: 400 };
    const [fork, exit] = await es.deliver([
      { type: "fork", version: 4, process: caller, target: child },
      { type: "exit", version: 4, process: child, exitStatus: 256 },
    ]);
    expect(fork).toMatchObject({ kind: "fork", pid: 401, ppid: 400, executable: "/bin/zsh" });
    expect(exit).toMatchObject({ kind: "exit", pid: 401, exitStatus: 256 });
    expect(exit).not.toHaveProperty("args");
  });
});

describe("sequence numbers", () => {
  it("gaps in global_seq_num (v4+) are counted as drops and shown as gaps in seq", async () => {
    const h = es.start();
    const evs = await es.deliver([execSpec(7), execSpec(7, { skipSeq: 3 }), execSpec(7)]);
    expect(evs.map((e) => e.seq)).toEqual([1, 5, 6]);
    expect(es.addon.esStats(h)).toMatchObject({ seqGapDrops: 3, dropped: 3, received: 3 });
  });

  it("before v4, per-event-type seq_num gaps count", async () => {
    const h = es.start();
    await es.deliver([execSpec(2), { type: "fork", version: 2, process: caller }, execSpec(2, { skipSeq: 2 })]);
    expect(es.addon.esStats(h).seqGapDrops).toBe(2);
  });

  it("v1 messages carry no sequence numbers: nothing is counted", async () => {
    const h = es.start();
    await es.deliver([execSpec(1), execSpec(1, { skipSeq: 5 })]);
    expect(es.addon.esStats(h).seqGapDrops).toBe(0);
  });
});

describe("muting", () => {
  const self: ProcSpec = {
    pid: process.pid, pidversion: 1, euid: process.geteuid!(), ruid: process.getuid!(), egid: process.getegid!(),
    rgid: process.getgid!(), executable: process.execPath,
  };

  it("our own process is muted by its audit token", async () => {
    es.start();
    expect(es.addon.standin.state().mutedPids).toEqual([process.pid]);
    const evs = await es.deliver([execSpec(7, { process: self }), execSpec(7, { tag: "other" })], 1);
    expect(evs).toHaveLength(1);
    expect(es.addon.standin.state().suppressed).toBe(1);
  });

  it("configured executables are muted as the acting process and (macOS 13+) as the exec target", async () => {
    es.start({ muteExecutables: ["/usr/libexec/noisyd"] });
    const noisy: ProcSpec = { ...caller, executable: "/usr/libexec/noisyd" };
    const evs = await es.deliver(
      [
        execSpec(7, { process: noisy }),                   // noisyd runs something
        execSpec(7, { target: { ...target, executable: "/usr/libexec/noisyd" } }), // something runs noisyd
        { type: "fork", version: 7, process: noisy },
        execSpec(7),
      ],
      1,
    );
    expect(evs.map((e) => e.executable)).toEqual(["/usr/bin/security"]);
    expect(es.addon.standin.state().mutedPaths).toEqual([
      { path: "/usr/libexec/noisyd", type: 1 },
      { path: "/usr/libexec/noisyd", type: 3 },
    ]);
  });
});
