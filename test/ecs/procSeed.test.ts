import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessTable } from "../../src/ecs/processTable.js";
import { readProcProcess, readProcProcesses, seedFromProc, splitCmdline } from "../../src/ecs/procSeed.js";

const root = mkdtempSync(join(tmpdir(), "macsensor-proc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeProcess(pid: number, stat: string, cmdline: Buffer, exe?: string, status = "Uid:\t1000\t0\t0\t0\nGid:\t1000\t27\t27\t27\n"): void {
  const dir = join(root, String(pid));
  mkdirSync(dir);
  writeFileSync(join(dir, "stat"), stat);
  writeFileSync(join(dir, "cmdline"), cmdline);
  writeFileSync(join(dir, "status"), status);
  if (exe) symlinkSync(exe, join(dir, "exe"));
  symlinkSync("/tmp", join(dir, "cwd"));
}

writeFileSync(join(root, "stat"), "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n");
// comm with a space and a parenthesis, as /proc shows it
fakeProcess(1, "1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", Buffer.from("/sbin/init\0splash\0"), "/usr/lib/systemd/systemd");
fakeProcess(42, "42 (my (odd) name) S 1 42 42 34819 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", Buffer.from([0x61, 0xff, 0, 0x62, 0]), "/usr/bin/odd");
fakeProcess(2, "2 (kthreadd) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", Buffer.alloc(0));

describe("seeding from /proc", () => {
  it("reads stat, cmdline, exe, cwd and status into an exec-like record, start time from btime and USER_HZ", () => {
    const r = readProcProcess(42, 1_700_000_000_000, root)!;
    expect(r).toMatchObject({ kind: "exec", pid: 42, ppid: 1, pgid: 42, sid: 42, uid: 1000, euid: 0, gid: 1000, egid: 27, executable: "/usr/bin/odd", cwd: "/tmp" });
    expect(r.startTime).toBe(1_700_000_000_000 + 123_450);
    expect(r.tty).toBe("136:3");
    expect(r.args).toEqual([new Uint8Array([0x61, 0xff]), "b"]);
  });

  it("a kernel thread has no executable and says so", () => {
    const r = readProcProcess(2, 1_700_000_000_000, root)!;
    expect(r.executable).toBeUndefined();
    expect(r.args).toEqual([]);
    expect(r.partial).toMatch(/executable/);
  });

  it("a process that is gone gives nothing", () => {
    expect(readProcProcess(99999, 0, root)).toBeUndefined();
  });

  it("seeds the table so parents and ancestry of later events are known", () => {
    const table = new ProcessTable({ hostId: "h" });
    expect(seedFromProc(table, root)).toBe(3);
    const r = table.apply({ source: "linux", kind: "exec", seq: 1, time: 1_800_000_000_000, pid: 500, ppid: 42, executable: "/bin/ls", args: ["ls"] });
    expect(r.parent?.name).toBe("odd");
    expect(table.ancestry(r.entry)).toEqual([table.get(42)!.entityId, table.get(1)!.entityId]);
  });

  it("splits cmdline on NUL without a trailing empty argument, but keeps empty arguments inside", () => {
    expect(splitCmdline(Buffer.from("a\0\0b\0"))).toEqual(["a", "", "b"]);
    expect(splitCmdline(Buffer.from("a"))).toEqual(["a"]);
  });

  it.runIf(process.platform === "linux")("reads this machine's /proc and finds this test process", () => {
    const records = readProcProcesses();
    const me = records.find((r) => r.pid === process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.executable).toBe(process.execPath);
    expect(Math.abs(me!.startTime! - (Date.now() - process.uptime() * 1000))).toBeLessThan(60_000);
  });
});
