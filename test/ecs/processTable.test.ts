import { describe, expect, it } from "vitest";
import { processEntityId } from "../../src/ecs/entityId.js";
import { ProcessTable } from "../../src/ecs/processTable.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

const T0 = 1_700_000_000_000;
let seq = 0;
function raw(kind: RawEvent["kind"], pid: number, fields: Partial<RawEvent> = {}): RawEvent {
  return { source: "linux", kind, seq: ++seq, time: T0 + seq, pid, ...fields };
}

describe("ProcessTable", () => {
  it("entity ids hash host id, pid and start time: stable for the same process, different on pid reuse", () => {
    const id = processEntityId("host-1", 42, T0);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(processEntityId("host-1", 42, T0)).toBe(id);
    expect(processEntityId("host-1", 42, T0 + 1)).not.toBe(id);
    expect(processEntityId("host-2", 42, T0)).not.toBe(id);
  });

  it("gives the parent of an exec from earlier events and the ancestry parent first", () => {
    const t = new ProcessTable({ hostId: "h" });
    t.seed([raw("exec", 1, { ppid: 0, executable: "/sbin/init", args: ["/sbin/init"], startTime: T0 - 1000 })]);
    t.apply(raw("fork", 10, { ppid: 1 }));
    t.apply(raw("exec", 10, { ppid: 1, executable: "/bin/bash", args: ["bash", "-l"] }));
    t.apply(raw("fork", 20, { ppid: 10 }));
    const r = t.apply(raw("exec", 20, { ppid: 10, executable: "/usr/bin/security", args: ["security", "dump-keychain", "-d"] }));
    expect(r.parent?.pid).toBe(10);
    expect(r.parent?.name).toBe("bash");
    expect(r.parent?.args).toEqual(["bash", "-l"]);
    expect(r.parent?.commandLine).toBe("bash -l");
    expect(t.ancestry(r.entry)).toEqual([t.get(10)!.entityId, t.get(1)!.entityId]);
  });

  it("a forked child inherits its parent's image and keeps its entity id through exec until exit", () => {
    const t = new ProcessTable({ hostId: "h" });
    t.apply(raw("exec", 5, { executable: "/bin/zsh", args: ["-zsh"], startTime: T0 - 50 }));
    const forked = t.apply(raw("fork", 6, { ppid: 5, startTime: T0 + 100 }));
    expect(forked.entry.name).toBe("zsh");
    expect(forked.entry.args).toEqual(["-zsh"]);
    const execd = t.apply(raw("exec", 6, { ppid: 5, executable: "/bin/ls", args: ["ls"], startTime: T0 + 100 }));
    expect(execd.entry.entityId).toBe(forked.entry.entityId);
    expect(execd.previous).toEqual({ executable: "/bin/zsh", args: ["-zsh"] });
    const again = t.apply(raw("exec", 6, { ppid: 5, executable: "/bin/cat", args: ["cat"], startTime: T0 + 100 }));
    expect(again.entry.entityId).toBe(forked.entry.entityId);
    expect(again.previous).toEqual({ executable: "/bin/ls", args: ["ls"] });
    const ended = t.apply(raw("exit", 6, { exitStatus: 0 }));
    expect(ended.entry.entityId).toBe(forked.entry.entityId);
    // the parent's own process did not change
    expect(t.get(5)?.name).toBe("zsh");
  });

  it("an exec whose fork carried no start time keeps the fork's id even though /proc's start differs slightly", () => {
    const t = new ProcessTable({ hostId: "h" });
    const f = t.apply({ source: "linux", kind: "fork", seq: 1, time: T0 + 7, pid: 9, ppid: 1 });
    const e = t.apply({ source: "linux", kind: "exec", seq: 2, time: T0 + 9, pid: 9, startTime: T0, executable: "/bin/true" });
    expect(e.entry.entityId).toBe(f.entry.entityId);
  });

  it("a pid reused after a missed exit (start time far off) is a new process with a new entity id", () => {
    const t = new ProcessTable({ hostId: "h" });
    const first = t.apply(raw("exec", 7, { executable: "/bin/a", startTime: T0 }));
    const second = t.apply(raw("exec", 7, { executable: "/bin/b", startTime: T0 + 60_000 }));
    expect(second.entry.entityId).not.toBe(first.entry.entityId);
    expect(second.previous).toBeUndefined();
  });

  it("keeps exited processes for late look-ups, then forgets them after the retention time", () => {
    const t = new ProcessTable({ hostId: "h", exitedRetentionMs: 30_000 });
    t.apply({ source: "linux", kind: "exec", seq: 1, time: T0, pid: 50, executable: "/bin/sh", startTime: T0 });
    t.apply({ source: "linux", kind: "fork", seq: 2, time: T0 + 1, pid: 51, ppid: 50, startTime: T0 + 1 });
    t.apply({ source: "linux", kind: "exit", seq: 3, time: T0 + 2, pid: 50 });
    // the child's exec arrives after its parent exited: the parent is still known
    const late = t.apply({ source: "linux", kind: "exec", seq: 4, time: T0 + 10, pid: 51, ppid: 50, executable: "/bin/x" });
    expect(late.parent?.name).toBe("sh");
    expect(t.stats.exited).toBe(1);
    t.apply({ source: "linux", kind: "exec", seq: 5, time: T0 + 40_000, pid: 60, executable: "/bin/y" });
    expect(t.get(50)).toBeUndefined();
    expect(t.stats.exited).toBe(0);
  });

  it("is bounded: live entries beyond maxLive and exited ones beyond maxExited are dropped, oldest first", () => {
    const t = new ProcessTable({ hostId: "h", maxLive: 100, maxExited: 10 });
    for (let pid = 1; pid <= 250; pid++) t.apply(raw("exec", pid, { executable: "/bin/x", startTime: T0 }));
    expect(t.stats.live).toBe(100);
    expect(t.stats.evicted).toBe(150);
    expect(t.get(150)).toBeUndefined();
    expect(t.get(250)?.pid).toBe(250);
    for (let pid = 151; pid <= 250; pid++) t.apply(raw("exit", pid));
    expect(t.stats.live).toBe(0);
    expect(t.stats.exited).toBe(10);
    expect(t.get(250)?.exitedAt).toBeDefined();
    expect(t.get(240)).toBeUndefined();
  });

  it("ancestry is bounded and survives a ppid loop", () => {
    const t = new ProcessTable({ hostId: "h", maxAncestry: 5 });
    for (let pid = 1; pid <= 30; pid++) t.apply(raw("exec", pid, { ppid: pid - 1, executable: `/bin/p${pid}`, startTime: T0 }));
    const leaf = t.get(30)!;
    const ancestry = t.ancestry(leaf);
    expect(ancestry).toHaveLength(5);
    expect(ancestry[0]).toBe(t.get(29)!.entityId);
    expect(ancestry[4]).toBe(t.get(25)!.entityId);
    const loop = new ProcessTable({ hostId: "h" });
    loop.apply(raw("exec", 2, { ppid: 3, executable: "/a", startTime: T0 }));
    loop.apply(raw("exec", 3, { ppid: 2, executable: "/b", startTime: T0 }));
    expect(loop.ancestry(loop.get(2)!)).toEqual([loop.get(3)!.entityId]);
  });

  it("does not take a later process that reused the parent's pid as the parent", () => {
    const t = new ProcessTable({ hostId: "h" });
    t.seed([{ source: "linux", kind: "exec", seq: 0, time: T0, pid: 80, ppid: 70, executable: "/bin/child", startTime: T0 }]);
    t.apply(raw("exec", 70, { executable: "/bin/newcomer", startTime: T0 + 3_600_000 }));
    expect(t.parentOf(t.get(80)!)).toBeUndefined();
  });

  it("learn() adds an unknown instigator but never overrides what it knows", () => {
    const t = new ProcessTable({ hostId: "h" });
    expect(t.learn(raw("exec", 90, { executable: "/bin/zsh", startTime: T0 }))).toBe(true);
    expect(t.learn(raw("exec", 90, { executable: "/bin/other", startTime: T0 }))).toBe(false);
    expect(t.get(90)?.executable).toBe("/bin/zsh");
    expect(t.learn(raw("exec", 91, { executable: "/bin/nostart" }))).toBe(false);
  });
});

describe("ProcessTable tentative exec (an AUTH exec not answered yet)", () => {
  const ev = (kind: RawEvent["kind"], pid: number, fields: Partial<RawEvent> = {}): RawEvent => ({ source: "es", kind, seq: 0, time: 1_000, pid, ...fields });

  it("undo restores the process's image, so a denied exec leaves no trace", () => {
    const table = new ProcessTable({ hostId: "h" });
    table.apply(ev("exec", 10, { ppid: 1, startTime: 500, executable: "/bin/zsh", args: ["zsh"] }));
    const before = table.get(10)!;
    const { result, undo } = table.applyTentativeExec(ev("exec", 10, { ppid: 1, startTime: 500, executable: "/usr/bin/security", args: ["security", "dump-keychain"] }));
    expect(result.entry.executable).toBe("/usr/bin/security");
    expect(result.previous).toEqual({ executable: "/bin/zsh", args: ["zsh"] });
    undo();
    expect(table.get(10)).toBe(before);
    expect(table.get(10)).toMatchObject({ executable: "/bin/zsh", name: "zsh", args: ["zsh"], commandLine: "zsh" });
  });

  it("undo forgets a process the tentative exec created, and one it replaced comes back", () => {
    const table = new ProcessTable({ hostId: "h" });
    table.applyTentativeExec(ev("exec", 20, { executable: "/bin/ls" })).undo();
    expect(table.get(20)).toBeUndefined();
    table.apply(ev("exec", 21, { startTime: 100, executable: "/bin/old" }));
    const old = table.get(21);
    // A start time far from the entry's: taken for pid reuse, a new entry; undo puts the old one back.
    table.applyTentativeExec(ev("exec", 21, { startTime: 900_000, executable: "/bin/new" })).undo();
    expect(table.get(21)).toBe(old);
    expect(table.get(21)?.executable).toBe("/bin/old");
  });
});
