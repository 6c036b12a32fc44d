/**
 * What `status` learns from the agent's own NDJSON log (src/output/opsLogger.ts), read backwards from the end:
 * the last heartbeat's counts (`macsensor.counts`) and slowest rule of its last over-budget event
 * (`macsensor.slow_rule`, see src/agent/slowRules.ts), and the latest `macsensor.backend` and
 * `macsensor.rules.{loaded,skipped}` any record carried (the start and "rules loaded" records, or the heartbeat).
 */
import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { field } from "./alertFiles.js";

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

export interface OpsSummary {
  file: string;
  heartbeat?: { time?: string; counts: Record<string, number>; slow_rule?: SlowRuleSummary };
  backend?: string;
  rules?: { loaded?: number; skipped?: number };
  /** The newest record's time: when the agent last wrote anything. */
  lastRecordTime?: string;
  /** Why the log could not be read (missing, permission denied). */
  error?: string;
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

/** Scans one file backwards into `summary`; true once everything is found. */
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
    if (summary.heartbeat === undefined && field(doc, "message") === "heartbeat") {
      const slowRule = slowRuleOf(field(doc, "macsensor.slow_rule"));
      summary.heartbeat = {
        counts: countsOf(field(doc, "macsensor.counts")),
        ...(typeof time === "string" ? { time } : {}),
        ...(slowRule ? { slow_rule: slowRule } : {}),
      };
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
    if (summary.heartbeat && summary.backend && summary.rules) return true;
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

/** Reads the ops log (and, if the live file lacks something, its rotated `.1`) backwards until all is found. */
export function readOpsSummary(file: string, files: string[] = [file, `${file}.1`]): OpsSummary {
  const summary: OpsSummary = { file };
  const why = unreadable(file);
  if (why) summary.error = why;
  for (const f of files) {
    if (!existsSync(f)) continue;
    try {
      if (scan(f, summary)) return summary;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      summary.error ??= code === "EACCES" ? "permission denied (run with sudo)" : (e as Error).message;
    }
  }
  return summary;
}
