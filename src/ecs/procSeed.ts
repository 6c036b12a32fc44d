import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { RawEvent, RawText } from "../sensor/rawEvent.js";
import type { ProcessTable } from "./processTable.js";

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux architecture we run on. */
const CLOCK_TICKS_PER_SECOND = 100;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function rawText(bytes: Uint8Array): RawText {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new Uint8Array(bytes);
  }
}

function readBytes(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function readLinkBytes(path: string): Buffer | undefined {
  try {
    return readlinkSync(path, { encoding: "buffer" });
  } catch {
    return undefined;
  }
}

/** Boot time in epoch ms from /proc/stat's btime line. */
export function bootTimeMs(procRoot = "/proc"): number | undefined {
  const m = /^btime (\d+)$/m.exec(readBytes(`${procRoot}/stat`)?.toString("latin1") ?? "");
  return m ? Number(m[1]) * 1000 : undefined;
}

/** /proc/<pid>/cmdline → argv: NUL-separated, the terminating NUL is not an empty last argument. */
export function splitCmdline(bytes: Uint8Array): RawText[] {
  const args: RawText[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      args.push(rawText(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < bytes.length) args.push(rawText(bytes.subarray(start)));
  return args;
}

/**
 * One exec-like record for a running process, or undefined when it is gone. Start time is stat field 22 turned
 * into epoch ms with btime and USER_HZ, as the Linux backend computes it, so entity ids agree.
 */
export function readProcProcess(pid: number, bootMs: number, procRoot = "/proc"): RawEvent | undefined {
  const dir = `${procRoot}/${pid}`;
  const stat = readBytes(`${dir}/stat`)?.toString("latin1");
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const startTime = bootMs + (Number(fields[19]) * 1000) / CLOCK_TICKS_PER_SECOND;
  const raw: RawEvent = {
    source: "linux",
    kind: "exec",
    seq: 0,
    time: startTime,
    pid,
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
    startTime,
  };
  const ttyNr = Number(fields[4]);
  if (ttyNr !== 0) raw.tty = `${(ttyNr >> 8) & 0xfff}:${(ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)}`;
  const exe = readLinkBytes(`${dir}/exe`);
  if (exe) raw.executable = rawText(exe);
  const cmdline = readBytes(`${dir}/cmdline`);
  if (cmdline) raw.args = splitCmdline(cmdline);
  const cwd = readLinkBytes(`${dir}/cwd`);
  if (cwd) raw.cwd = rawText(cwd);
  const status = readBytes(`${dir}/status`)?.toString("latin1") ?? "";
  const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  if (uids) {
    raw.uid = Number(uids[1]);
    raw.euid = Number(uids[2]);
  }
  const gids = /^Gid:\s+(\d+)\s+(\d+)/m.exec(status);
  if (gids) {
    raw.gid = Number(gids[1]);
    raw.egid = Number(gids[2]);
  }
  if (!exe) raw.partial = "executable unreadable (kernel thread, exited, or no permission)";
  return raw;
}

/** Every running process under procRoot as exec-like records. */
export function readProcProcesses(procRoot = "/proc"): RawEvent[] {
  const bootMs = bootTimeMs(procRoot);
  if (bootMs === undefined) return [];
  const out: RawEvent[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const raw = readProcProcess(Number(name), bootMs, procRoot);
    if (raw) out.push(raw);
  }
  return out;
}

/** Seeds the table with the processes running now (Linux). Returns how many were loaded. */
export function seedFromProc(table: ProcessTable, procRoot = "/proc"): number {
  const records = readProcProcesses(procRoot);
  table.seed(records);
  return records.length;
}
