/**
 * Is the agent running? On macOS launchd knows (`launchctl print system/<label>`); elsewhere the pid file the
 * agent writes, checked against the live process: a stale file after a crash (pid gone) or a pid reused by a
 * process that started after the file was written says "not running".
 */
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { LAUNCHD_LABEL } from "../config/paths.js";

export interface RunningState {
  running: boolean;
  pid?: number;
  /** How it was found out: "launchd" or "pid file". */
  via: "launchd" | "pid file";
  /** One line for a person, e.g. "running (pid 812)" or "not running: pid file names pid 99, which is not alive". */
  detail: string;
  /** launchd's last exit status, when it reports one. */
  lastExit?: string;
}

/** Parses the parts of `launchctl print system/<label>` we need (state, pid, last exit code). */
export function parseLaunchctlPrint(text: string): { state?: string; pid?: number; lastExit?: string } {
  const state = /^\s*state = (.+)$/m.exec(text)?.[1]?.trim();
  const pid = /^\s*pid = (\d+)$/m.exec(text)?.[1];
  const lastExit = /^\s*last exit code = (.+)$/m.exec(text)?.[1]?.trim();
  return { ...(state ? { state } : {}), ...(pid ? { pid: Number(pid) } : {}), ...(lastExit ? { lastExit } : {}) };
}

export function launchdState(launchctl = "/bin/launchctl"): RunningState {
  const r = spawnSync(launchctl, ["print", `system/${LAUNCHD_LABEL}`], { encoding: "utf8", timeout: 10_000 });
  if (r.error) return { running: false, via: "launchd", detail: `cannot run ${launchctl}: ${r.error.message}` };
  if (r.status !== 0) {
    const hint = process.geteuid?.() === 0 ? "" : "; run with sudo to be sure";
    return { running: false, via: "launchd", detail: `not loaded (launchctl print system/${LAUNCHD_LABEL} found no job${hint})` };
  }
  const { state, pid, lastExit } = parseLaunchctlPrint(r.stdout);
  const running = state === "running" && pid !== undefined;
  return {
    running,
    via: "launchd",
    ...(pid !== undefined ? { pid } : {}),
    ...(lastExit ? { lastExit } : {}),
    detail: running ? `running (pid ${pid})` : `loaded but ${state ?? "not running"}${lastExit ? `, last exit code ${lastExit}` : ""}`,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When a process started (ms since the epoch), from /proc where it exists; undefined elsewhere. */
function startTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after "(comm) ": state is field 3, starttime (clock ticks after boot) field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"))?.[1]);
    const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture we run on
    return Number.isFinite(ticks) && Number.isFinite(boot) ? (boot + ticks / CLOCK_TICKS_PER_SECOND) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** What a pid file's text and modification time say: the pid it names, and whether that agent is alive. */
export interface PidFileJudgement {
  pid?: number;
  alive: boolean;
  /** Why it is not alive, for a person: "holds no pid", "names pid 99, which is gone (stale pid file)", ... */
  why?: string;
}

export function judgePidFile(pidFile: string, text: string, writtenMs: number | undefined): PidFileJudgement {
  const m = /^\s*(\d+)\s*$/.exec(text);
  if (!m || Number(m[1]) < 1) return { alive: false, why: `${pidFile} holds no pid` };
  const pid = Number(m[1]);
  if (!alive(pid)) return { pid, alive: false, why: `${pidFile} names pid ${pid}, which is gone (stale pid file)` };
  // The agent writes its pid file after it starts; a process that started later reuses a dead agent's pid.
  const started = startTimeMs(pid);
  if (started !== undefined && writtenMs !== undefined && started > writtenMs + 2000) {
    return { pid, alive: false, why: `${pidFile} names pid ${pid}, now another program started after the file was written (stale pid file)` };
  }
  return { pid, alive: true };
}

export function pidFileState(pidFile: string): RunningState {
  let text: string;
  try {
    text = readFileSync(pidFile, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no pid file" : code === "EACCES" ? "pid file not readable (run with sudo)" : (e as Error).message;
    return { running: false, via: "pid file", detail: `not running: ${why} at ${pidFile}` };
  }
  let written: number | undefined;
  try {
    written = statSync(pidFile).mtimeMs;
  } catch {
    written = undefined;
  }
  const judged = judgePidFile(pidFile, text, written);
  const pid = judged.pid !== undefined ? { pid: judged.pid } : {};
  if (!judged.alive) return { running: false, via: "pid file", ...pid, detail: `not running: ${judged.why}` };
  return { running: true, via: "pid file", ...pid, detail: `running (pid ${judged.pid})` };
}
