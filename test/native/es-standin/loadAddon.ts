// Builds (when missing or older than its sources) and loads the Endpoint Security test addon: macsensor's ES
// backend compiled against the Linux ES stand-in. Several test files may call this at once (vitest forks):
// a lock directory makes one of them build while the others wait.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { EsBinding } from "../../../src/sensor/esBackend.js";
import type { RawText } from "../../../src/sensor/rawEvent.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
export const addonPath = join(here, "build", "Release", "macsensor_es_test.node");
const lockDir = join(here, "build.lock");

export interface TokenSpec {
  pid?: number;
  pidversion?: number;
  euid?: number;
  ruid?: number;
  egid?: number;
  rgid?: number;
  auid?: number;
  asid?: number;
}

export interface ProcSpec extends TokenSpec {
  ppid?: number;
  originalPpid?: number;
  groupId?: number;
  sessionId?: number;
  csFlags?: number;
  platformBinary?: boolean;
  esClient?: boolean;
  cdhash?: string;
  signingId?: RawText;
  teamId?: RawText;
  executable?: RawText;
  executableTruncated?: boolean;
  tty?: RawText;
  startTimeMs?: number;
  responsible?: TokenSpec;
  parent?: TokenSpec;
}

export interface MessageSpec {
  type: "auth_exec" | "notify_exec" | "fork" | "exit" | "auth_open" | "notify_open" | "create" | "close" | "rename" | "unlink";
  version?: number;
  deadlineMs?: number;
  tag?: string;
  skipSeq?: number;
  process?: ProcSpec;
  target?: ProcSpec;
  args?: RawText[];
  env?: RawText[];
  cwd?: RawText;
  script?: RawText;
  exitStatus?: number;
  /** File events: the file (open, close, unlink; create/rename to an existing file). */
  path?: RawText;
  pathTruncated?: boolean;
  /** create / rename: the destination as directory + name (ES_DESTINATION_TYPE_NEW_PATH). */
  newPath?: { dir: RawText; name: RawText };
  /** rename: the source. */
  source?: RawText;
  sourceTruncated?: boolean;
  /** open: the kernel fflag (FREAD 1, FWRITE 2); default FREAD. */
  fflag?: number;
  /** close: whether the file was modified (default true). */
  modified?: boolean;
}

/** An AUTH message, from the moment ES queued it. Times count from delivery (from enqueue while undelivered). */
export interface AuthRecord {
  tag: string;
  answers: number;
  result: "allow" | "deny" | null;
  cache?: boolean;
  answerUs?: number;
  /** The budget: time from delivery to the deadline (negative: delivered after it). */
  deadlineUs: number;
  delivered: boolean;
  /** Still queued when the client was deleted: never delivered, no answer expected. */
  dropped: boolean;
  /** How long it waited in ES's queue before delivery. */
  waitedUs?: number;
  /** Which respond function gave the answer. */
  answeredWith?: "auth" | "flags";
  /** es_respond_flags_result's mask (AUTH_OPEN). */
  flags?: number;
  requestedFflag: number;
}

export interface StandinState {
  clientAlive: boolean;
  killed: boolean;
  violations: string[];
  delivered: number;
  suppressed: number;
  queued: number;
  liveMessages: number;
  retains: number;
  releases: number;
  clientsCreated: number;
  subscriptions: number[];
  mutedPaths: { path: string; type: number }[];
  mutedPids: number[];
  held: boolean;
  /** The Mach timebase in force: ns = ticks * numer / denom. */
  timebase: { numer: number; denom: number };
  clientsDeleted: number;
}

/** The Mach timebases the stand-in models: Apple silicon (24 MHz ticks) and Intel (1 ns ticks). */
export const TIMEBASES = {
  appleSilicon: { numer: 125, denom: 3 },
  intel: { numer: 1, denom: 1 },
} as const;
export type TimebaseName = keyof typeof TIMEBASES;

export type PrefilterSpec = Partial<import("../../../src/sensor/esPrefilter.js").PrefilterSpec>;
export type { EsHandle, EsStartOptions, EsRespondStatus as RespondStatus } from "../../../src/sensor/esBackend.js";

/** The production ES surface (src/sensor/esBackend.ts), plus the stand-in's controls. */
export interface EsTestAddon extends EsBinding {
  standin: {
    enqueue(spec: MessageSpec | MessageSpec[]): void;
    waitIdle(timeoutMs?: number): boolean;
    authRecords(): AuthRecord[];
    state(): StandinState;
    reset(): void;
    setNewClientResult(result: number): void;
    /** true: ES is slow to deliver (the deadlines run on); "untilUnsubscribe": held until the client's next
     * es_unsubscribe(_all), which then waits until everything queued before it was delivered. */
    holdDelivery(hold: boolean | "untilUnsubscribe"): void;
    setTimebase(numer: number, denom: number): void;
    /** Commits a misuse the stand-in makes fatal; only in a child process. */
    selfTestMisuse(what: "cstring" | "deleteFromHandler" | "deleteFromOtherThread"): void;
    /** These ES calls fail (ES_RETURN_ERROR; es_clear_cache: throttled) until reset. */
    failCalls(calls: string[]): void;
    injectedFailures(): number;
    /** ES's AUTH_EXEC cache: its entries, and the scripted AUTH execs it answered instead of the client. */
    esCache(): {
      entries: { process: string; target: string; result: "allow" | "deny" }[];
      hits: { tag: string; result: "allow" | "deny" }[];
    };
    /** The file changed: ES drops the cache entries naming it. */
    modifyFile(path: string): void;
  };
  internals: {
    /**
     * When the watchdog answers a message whose deadline is remainingMs away, in ms after delivery; null: too
     * short for any rule (allowed at once). marginMs and minRuleMs default to 10 and 5, as startEs.
     */
    watchdogDelayMs(remainingMs: number, marginMs?: number, minRuleMs?: number): number | null;
  };
}

/** ES event type numbers (Apple's es_event_type_t). */
export const ES_EVENT = {
  AUTH_EXEC: 0, AUTH_OPEN: 1, NOTIFY_EXEC: 9, NOTIFY_OPEN: 10, NOTIFY_FORK: 11, NOTIFY_CLOSE: 12, NOTIFY_CREATE: 13,
  NOTIFY_EXIT: 15, NOTIFY_RENAME: 25, NOTIFY_UNLINK: 32,
} as const;

function newestSource(): number {
  let newest = 0;
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "build" || entry.name === "build.lock") continue;
      const p = join(dir, entry.name);
      if (entry.isDirectory()) visit(p);
      else if (/\.(cc|h|gyp)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  visit(join(repo, "native", "common"));
  visit(here);
  return newest;
}

function isFresh(): boolean {
  try {
    return statSync(addonPath).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function buildIfStale(): void {
  const deadline = Date.now() + 10 * 60_000;
  while (!isFresh()) {
    try {
      mkdirSync(lockDir);
    } catch {
      // Another test process is building; a lock older than 10 minutes is a leftover from a killed run.
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 10 * 60_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        /* removed meanwhile */
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for another process to build the ES test addon");
      sleepSync(500);
      continue;
    }
    try {
      if (!isFresh()) {
        execFileSync("npx", ["node-gyp", "rebuild", "--directory", here], {
          cwd: repo,
          env: { ...process.env, CC: "clang", CXX: "clang++" },
          stdio: ["ignore", "ignore", "pipe"],
        });
      }
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  }
}

const cached = new Map<TimebaseName, EsTestAddon>();

/**
 * The addon file for a timebase. The timebase is per loaded instance (MachClock keeps the first one it reads), and
 * Node loads a file once per process: each timebase but the default gets its own copy of the addon, loaded apart.
 */
function addonFileFor(timebase: TimebaseName): string {
  if (timebase === "appleSilicon") return addonPath;
  const copy = addonPath.replace(/\.node$/, `.${timebase}.node`);
  let fresh = false;
  try {
    fresh = statSync(copy).mtimeMs >= statSync(addonPath).mtimeMs;
  } catch {
    /* no copy yet */
  }
  if (!fresh) {
    const tmp = `${copy}.${process.pid}.tmp`;
    copyFileSync(addonPath, tmp);
    renameSync(tmp, copy); // atomic: a process loading the copy meanwhile sees the old file or the new one
  }
  return copy;
}

/** The ES test addon with the stand-in in the given Mach timebase (default: Apple silicon's 125/3). */
export function loadEsTestAddon(timebase: TimebaseName = "appleSilicon"): EsTestAddon {
  const known = cached.get(timebase);
  if (known) return known;
  buildIfStale();
  const addon = createRequire(import.meta.url)(addonFileFor(timebase)) as EsTestAddon;
  const { numer, denom } = TIMEBASES[timebase];
  if (timebase !== "appleSilicon") addon.standin.setTimebase(numer, denom);
  cached.set(timebase, addon);
  return addon;
}

/** Polls until pred() holds (the ES thread delivers through the event loop). */
export async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
