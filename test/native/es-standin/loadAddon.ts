// Builds (when missing or older than its sources) and loads the Endpoint Security test addon: macsensor's ES
// backend compiled against the Linux ES stand-in. Several test files may call this at once (vitest forks):
// a lock directory makes one of them build while the others wait.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
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

export interface AuthRecord {
  tag: string;
  answers: number;
  result: "allow" | "deny" | null;
  cache?: boolean;
  answerUs?: number;
  deadlineUs: number;
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
}

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

let cached: EsTestAddon | undefined;

export function loadEsTestAddon(): EsTestAddon {
  if (cached) return cached;
  buildIfStale();
  cached = createRequire(import.meta.url)(addonPath) as EsTestAddon;
  return cached;
}

/** Polls until pred() holds (the ES thread delivers through the event loop). */
export async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
