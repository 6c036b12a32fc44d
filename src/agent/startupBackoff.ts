/**
 * Crash-loop guard for the supervised agent (`macsensor run --supervised`, as the LaunchDaemon starts it). launchd
 * restarts a KeepAlive job that exits, at most every ThrottleInterval (10 s): with a configuration an admin broke,
 * that is a failed start, its log lines and an error report every 10 s, forever. Instead each failed start waits
 * longer before it exits — 10 s, 20 s, 40 s … up to 10 minutes — counted in a small state file across restarts,
 * and the wait ends at once when the configuration or a rule file changes, so a fix takes effect right away.
 * A start that then runs for a minute clears the count.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import { dirname } from "node:path";

export const FIRST_DELAY_MS = 10_000;
export const MAX_DELAY_MS = 600_000;
/** How long a start must run before its earlier failures are forgotten. */
export const HEALTHY_AFTER_MS = 60_000;
/** EX_CONFIG (sysexits.h): the configuration is wrong; launchd restarts it after the wait. */
export const EXIT_CONFIG = 78;

interface State {
  failures: number;
  lastFailure: string;
  reason: string;
}

export class StartupBackoff {
  constructor(private readonly stateFile: string) {}

  /** Failed starts in a row so far. */
  failures(): number {
    try {
      const state = JSON.parse(readFileSync(this.stateFile, "utf8")) as Partial<State>;
      return typeof state.failures === "number" && state.failures >= 0 ? Math.floor(state.failures) : 0;
    } catch {
      return 0;
    }
  }

  /** Counts one more failed start and returns how long to wait before exiting (ms). */
  recordFailure(reason: string, now = new Date()): { failures: number; delayMs: number } {
    const failures = this.failures() + 1;
    const state: State = { failures, lastFailure: now.toISOString(), reason: reason.slice(0, 2000) };
    mkdirSync(dirname(this.stateFile), { recursive: true, mode: 0o700 });
    // Written whole and renamed into place: a crash mid-write must not reset the count.
    const temp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(state) + "\n", { mode: 0o600 });
    renameSync(temp, this.stateFile);
    return { failures, delayMs: delayFor(failures) };
  }

  /** The start succeeded and stayed up: forget earlier failures. */
  reset(): void {
    rmSync(this.stateFile, { force: true });
  }
}

/** 10 s, 20 s, 40 s, … capped at 10 minutes. */
export function delayFor(failures: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

/**
 * Waits `ms`, or less if any of `paths` (files or their folders) changes; resolves with what ended the wait.
 * Paths that do not exist are watched through their folder, so creating the missing file also ends it.
 */
export function waitUnlessChanged(ms: number, paths: readonly string[]): Promise<"timeout" | "changed"> {
  return new Promise((resolve) => {
    const watchers: FSWatcher[] = [];
    const done = (why: "timeout" | "changed"): void => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      resolve(why);
    };
    const timer = setTimeout(() => done("timeout"), ms);
    for (const path of new Set(paths)) {
      for (const target of [path, dirname(path)]) {
        try {
          watchers.push(watch(target, { persistent: true }, () => done("changed")));
          break;
        } catch {
          // Not there (yet): try its folder.
        }
      }
    }
  });
}
