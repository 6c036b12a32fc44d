/**
 * One agent per pid file: the pid file is the lock.
 *
 * The file is made whole and then put in place atomically: our pid is written to a private temporary file beside
 * it, which is then hard-linked to the pid file's name; link(2) fails if the name exists, so of two starters
 * exactly one wins, and no reader ever sees the file empty or half written. A pid file that names a live agent
 * refuses the start. One that names a pid that is gone (the agent crashed or was killed, SIGKILL included), a pid
 * now used by a program that started after the file was written, or no pid at all is stale and is taken over:
 * it is renamed aside and checked to be the very file judged stale (same inode) before it is removed. A file that
 * another starter put in place meanwhile is put back, and that starter wins.
 *
 * Nothing here needs the lock holder's cooperation to recover: a stale file never blocks the next start.
 * Any number of starters racing for an absent or live-held file, and two racing to take over a stale one, end
 * with exactly one agent. Three or more taking over the same stale file at the same instant could, in a window of
 * microseconds, each see a different file; that needs a crashed agent and three simultaneous restarts.
 */
import { linkSync, mkdirSync, openSync, closeSync, fstatSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { MacsensorError } from "../errors.js";
import { judgePidFile } from "./running.js";

/** Another agent holds the pid file. */
export class AgentRunningError extends MacsensorError {
  override name = "AgentRunningError";
  constructor(
    readonly pid: number,
    readonly pidFile: string,
  ) {
    super(`another macsensor agent is already running (pid ${pid}, pid file ${pidFile}); stop it first, or give this one its own MACSENSOR_PID_FILE`);
  }
}

export interface PidLock {
  readonly file: string;
  /** Removes the pid file if it is still ours; never one that names another agent. Idempotent. */
  release(): void;
}

/** A start racing us that takes over a stale file can make us retry; more than this many rounds is a bug. */
const MAX_ATTEMPTS = 8;

/** Creates `file` naming this process, or throws AgentRunningError naming the live agent that holds it. */
export function acquirePidLock(file: string, pid = process.pid): PidLock {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${pid}.tmp`;
  writeFileSync(temporary, `${pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        linkSync(temporary, file);
        return heldLock(file, statSync(temporary).ino, pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = inspect(file);
      if (holder === undefined) continue; // removed since link failed: try again
      if (holder.alivePid !== undefined) throw new AgentRunningError(holder.alivePid, file);
      takeOverStale(file, holder.ino, pid);
    }
    throw new MacsensorError(`could not take the pid file ${file}: it kept changing (${MAX_ATTEMPTS} attempts)`);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function heldLock(file: string, ino: number, pid: number): PidLock {
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try {
        const now = statSync(file);
        if (now.ino === ino && readFileSync(file, "utf8").trim() === String(pid)) rmSync(file, { force: true });
      } catch {
        // Gone already (or unreadable): nothing of ours to remove.
      }
    },
  };
}

/** The inode of the pid file now there and the live agent it names, if any; undefined if there is none. */
function inspect(file: string): { ino: number; alivePid?: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const judged = judgePidFile(file, readFileSync(fd, "utf8"), stat.mtimeMs);
    return judged.alive && judged.pid !== undefined ? { ino: stat.ino, alivePid: judged.pid } : { ino: stat.ino };
  } finally {
    closeSync(fd);
  }
}

/** Removes the stale pid file with inode `ino`, unless another starter has replaced it meanwhile. */
function takeOverStale(file: string, ino: number, pid: number): void {
  const aside = `${file}.${pid}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    if (statSync(aside).ino !== ino) {
      // Not the file judged stale: a starter that won the race put it there. Give it back.
      try {
        linkSync(aside, file);
      } catch {
        // A third starter's file is there now; it is the holder.
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}
