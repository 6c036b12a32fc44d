/**
 * What `status` learns from the agent's own NDJSON log (src/output/opsLogger.ts), read backwards from the end
 * to the newest "agent started" record (the start of the latest run, with its pid): that run's last heartbeat
 * (`macsensor.counts`) with the slowest rule of its last over-budget event (`macsensor.slow_rule`, see
 * src/agent/slowRules.ts), and the latest `macsensor.backend` and `macsensor.rules.{loaded,skipped}` any of its
 * records carried (the start and "rules loaded" records, or the heartbeat). Nothing before that start counts:
 * an earlier run's heartbeat is never shown as the current one. A log with no start record at all (older agents
 * did not write the pid) gives its newest records, as before.
 */
import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { field } from "./alertFiles.js";

/** The message of the agent's start record (src/agent/agent.ts), which carries process.pid. */
export const AGENT_STARTED = "agent started";

/** The rule named after the last over-budget event the agent profiled (the heartbeat's `macsensor.slow_rule`). */
export interface SlowRuleSummary {
  id: string;
  name?: string;
  /** The rule alone on the event; the whole event's evaluation; the budget. */
  ms?: number;
  event_ms?: number;
  budget_ms?: number;
  time?: string;
}

/** What the Linux agent holds opens of (its latest "file guards" record, src/agent/agent.ts). */
export interface GuardsSummary {
  active: boolean;
  configured: string[];
  marks: { kind: string; path: string; rules: string[]; note?: string }[];
  /** Block rules whose opens cannot be held. */
  unguarded: string[];
}

export interface OpsSummary {
  file: string;
  guards?: GuardsSummary;
  /** The latest run's last heartbeat; absent before its first one. */
  heartbeat?: { time?: string; counts: Record<string, number>; slow_rule?: SlowRuleSummary };
  backend?: string;
  rules?: { loaded?: number; skipped?: number };
  /**
   * The run the heartbeat, backend and rules belong to: its pid and start time from its "agent started" record.
   * Absent when no start record was found. When the running agent's pid is given and the latest start record names
   * another pid (the agent has not logged its start yet), this names the running pid and nothing else is reported.
   */
  run?: { pid?: number; started?: string };
  /** The newest record's time: when the agent last wrote anything. */
  lastRecordTime?: string;
  /** Why the log could not be read (missing, permission denied). */
  error?: string;
}

export interface ReadOpsOptions {
  /** The pid of the agent running now, if one is: only its run counts. */
  runningPid?: number;
  /** The files to read, newest first; default the log and its rotated `.1`. */
  files?: string[];
}

const CHUNK = 64 * 1024;

/** Lines of a file from the last to the first, reading fixed-size chunks from the end. */
export function* linesBackwards(file: string): Generator<string> {
  const fd = openSync(file, "r");
  try {
    let position = fstatSync(fd).size;
    let carry = Buffer.alloc(0);
    while (position > 0) {
      const size = Math.min(CHUNK, position);
      position -= size;
      const chunk = Buffer.alloc(size);
      readSync(fd, chunk, 0, size, position);
      let data = Buffer.concat([chunk, carry]);
      let end = data.length;
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== 0x0a) continue;
        if (i + 1 < end) yield data.subarray(i + 1, end).toString("utf8");
        end = i;
      }
      carry = Buffer.from(data.subarray(0, end));
      data = Buffer.alloc(0);
    }
    if (carry.length > 0) yield carry.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

function countsOf(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === null || typeof value !== "object") return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === "number") out[k] = v;
  return out;
}

function slowRuleOf(value: unknown): SlowRuleSummary | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== "string") return undefined;
  const num = (k: string) => (typeof v[k] === "number" ? { [k]: v[k] as number } : {});
  return {
    id: v.id,
    ...(typeof v.name === "string" ? { name: v.name } : {}),
    ...num("ms"),
    ...num("event_ms"),
    ...num("budget_ms"),
    ...(typeof v["@timestamp"] === "string" ? { time: v["@timestamp"] } : {}),
  };
}

function guardsOf(value: unknown): GuardsSummary | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);
  const marks = Array.isArray(v.marks) ? v.marks : [];
  return {
    active: v.active !== false,
    configured: strings(v.configured),
    marks: marks.flatMap((m: unknown) => {
      if (m === null || typeof m !== "object") return [];
      const r = m as Record<string, unknown>;
      if (typeof r.kind !== "string" || typeof r.path !== "string") return [];
      return [{ kind: r.kind, path: r.path, rules: strings(r.rules), ...(typeof r.note === "string" ? { note: r.note } : {}) }];
    }),
    unguarded: strings(v.unguarded),
  };
}

/** Scans one file backwards into `summary`; true once the latest run's start record is reached. */
function scan(f: string, summary: OpsSummary): boolean {
  for (const line of linesBackwards(f)) {
    let doc: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) continue;
      doc = parsed as Record<string, unknown>;
    } catch {
      continue;
    }
    const time = field(doc, "@timestamp");
    if (summary.lastRecordTime === undefined && typeof time === "string") summary.lastRecordTime = time;
    const message = field(doc, "message");
    if (summary.heartbeat === undefined && message === "heartbeat") {
      const slowRule = slowRuleOf(field(doc, "macsensor.slow_rule"));
      summary.heartbeat = {
        counts: countsOf(field(doc, "macsensor.counts")),
        ...(typeof time === "string" ? { time } : {}),
        ...(slowRule ? { slow_rule: slowRule } : {}),
      };
    }
    if (summary.guards === undefined && message === "file guards") {
      const guards = guardsOf(field(doc, "macsensor.guards"));
      if (guards) summary.guards = guards;
    }
    const backend = field(doc, "macsensor.backend");
    if (summary.backend === undefined && typeof backend === "string") summary.backend = backend;
    const loaded = field(doc, "macsensor.rules.loaded");
    const skipped = field(doc, "macsensor.rules.skipped");
    if (summary.rules === undefined && (typeof loaded === "number" || typeof skipped === "number")) {
      summary.rules = {
        ...(typeof loaded === "number" ? { loaded } : {}),
        ...(typeof skipped === "number" ? { skipped } : {}),
      };
    }
    if (message === AGENT_STARTED) {
      const pid = field(doc, "process.pid");
      summary.run = { ...(typeof pid === "number" ? { pid } : {}), ...(typeof time === "string" ? { started: time } : {}) };
      return true;
    }
  }
  return false;
}

/** Why a file cannot be read, in words for an admin; undefined when it can. */
export function unreadable(file: string): string | undefined {
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "no such file (has the agent run on this machine?)";
    if (code === "EACCES") return "permission denied (run with sudo)";
    return (e as Error).message;
  }
}

/** Reads the ops log (and, if the live file does not reach back to the latest start, its rotated `.1`) backwards. */
export function readOpsSummary(file: string, options: ReadOpsOptions = {}): OpsSummary {
  const summary: OpsSummary = { file };
  const why = unreadable(file);
  if (why) summary.error = why;
  for (const f of options.files ?? [file, `${file}.1`]) {
    if (!existsSync(f)) continue;
    try {
      if (scan(f, summary)) break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      summary.error ??= code === "EACCES" ? "permission denied (run with sudo)" : (e as Error).message;
    }
  }
  const running = options.runningPid;
  if (running !== undefined && summary.run?.pid !== undefined && summary.run.pid !== running) {
    // The latest run in the log is an earlier agent's: what it logged says nothing about the one running now.
    const { file: _file, lastRecordTime, error } = summary;
    return { file, run: { pid: running }, ...(lastRecordTime !== undefined ? { lastRecordTime } : {}), ...(error !== undefined ? { error } : {}) };
  }
  return summary;
}
