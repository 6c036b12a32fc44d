/**
 * Reading the local alert log back: the live file and its rotated predecessors (`alerts.ndjson.1` is the newest
 * rotated file, `.2` older, ... — the naming of src/output/rotatingFileTransport.ts), oldest first, line by line.
 */
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { MacsensorError } from "../errors.js";

export interface AlertRecord {
  /** The parsed alert document. */
  doc: Record<string, unknown>;
  /** The line exactly as stored (for lossless NDJSON output). */
  line: string;
  file: string;
  /** 1-based line number in `file`. */
  lineNumber: number;
  /** From `@timestamp`; undefined when missing or unreadable. */
  time?: Date;
}

export interface ReadAlertsOptions {
  /** Only alerts at or after this time (alerts without a readable @timestamp are then left out). */
  since?: Date;
  /** Only alerts whose rule.id equals this, or whose rule.name equals it ignoring case. */
  rule?: string;
  /** Called for each line that is not a JSON object; the line is skipped. */
  onBadLine?: (file: string, lineNumber: number, reason: string) => void;
}

/** The live log and its rotated files that exist, oldest first. */
export function alertLogFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    throw new MacsensorError(`cannot list ${dir}: ${code === "EACCES" ? "permission denied (run with sudo)" : (e as Error).message}`);
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) ? /^\d+$/.exec(n.slice(base.length + 1)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[0]))
    .sort((a, b) => b - a)
    .map((n) => join(dir, `${base}.${n}`));
  return existsSync(path) ? [...rotated, path] : rotated;
}

/** A field of an ECS document by its dotted name, stored nested ({rule: {id}}), flat ("rule.id") or mixed. */
export function field(doc: Record<string, unknown>, dotted: string): unknown {
  if (Object.hasOwn(doc, dotted)) return doc[dotted];
  const dot = dotted.indexOf(".");
  if (dot < 0) return undefined;
  const child = doc[dotted.slice(0, dot)];
  if (child === null || typeof child !== "object" || Array.isArray(child)) return undefined;
  return field(child as Record<string, unknown>, dotted.slice(dot + 1));
}

function matchesRule(doc: Record<string, unknown>, rule: string): boolean {
  const id = field(doc, "rule.id");
  const name = field(doc, "rule.name");
  return id === rule || (typeof name === "string" && name.toLowerCase() === rule.toLowerCase());
}

/** Streams the alerts of `files` (oldest first), filtered; never loads a file whole. */
export async function* readAlerts(files: string[], options: ReadAlertsOptions = {}): AsyncGenerator<AlertRecord> {
  const sinceMs = options.since?.getTime();
  for (const file of files) {
    // A rotated file last written before `since` holds nothing newer.
    if (sinceMs !== undefined && statSync(file).mtimeMs < sinceMs) continue;
    const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (e) {
        options.onBadLine?.(file, lineNumber, `not JSON (${(e as Error).message})`);
        continue;
      }
      if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
        options.onBadLine?.(file, lineNumber, "not a JSON object");
        continue;
      }
      const record = doc as Record<string, unknown>;
      const stamp = field(record, "@timestamp");
      const ms = typeof stamp === "string" ? Date.parse(stamp) : NaN;
      const time = Number.isNaN(ms) ? undefined : new Date(ms);
      if (sinceMs !== undefined && (time === undefined || time.getTime() < sinceMs)) continue;
      if (options.rule !== undefined && !matchesRule(record, options.rule)) continue;
      yield { doc: record, line, file, lineNumber, ...(time ? { time } : {}) };
    }
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since`: a duration back from `now` ("90s", "30m", "24h", "7d", "2w") or an ISO 8601 date/time. */
export function parseSince(text: string, now = new Date()): Date {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (m) return new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2].toLowerCase()]);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw new MacsensorError(`--since: expected a duration such as 24h, 30m, 7d or a date such as 2026-11-26T08:00:00Z, got '${text}'`);
}

/** ECS event.severity (Elastic Defend's 21/47/73/99) or rule.severity as a word. */
export function severityLabel(doc: Record<string, unknown>): string {
  const word = field(doc, "rule.severity");
  if (typeof word === "string") return word;
  const n = field(doc, "event.severity");
  if (typeof n !== "number") return "-";
  if (n >= 99) return "critical";
  if (n >= 73) return "high";
  if (n >= 47) return "medium";
  return "low";
}
