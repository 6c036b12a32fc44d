import { FILE_EVENT_KINDS, type RawEvent, type RawFile } from "../sensor/rawEvent.js";
import { toBase64 } from "./rawText.js";

/**
 * RawEvent as JSON (the `macsensor ecs --format raw` input, one object per line): the TypeScript shape as is,
 * except that text which was not valid UTF-8 (a Uint8Array) is written as {"base64": "<its exact bytes>"}.
 */
export function rawEventToJson(raw: RawEvent): string {
  return JSON.stringify(raw, (_key, value: unknown) => (value instanceof Uint8Array ? { base64: toBase64(value) } : value));
}

/** Why a JSON value is not a RawEvent: the field and what is wrong. */
export interface RawEventProblem {
  field: string;
  reason: string;
}

const KINDS = new Set<string>(["exec", "fork", "exit", ...FILE_EVENT_KINDS]);
const FILE_KINDS = new Set<string>(FILE_EVENT_KINDS);
const SOURCES = new Set(["linux", "es", "eslogger", "replay"]);
const TEXT_FIELDS = ["executable", "cwd", "tty", "script"] as const;
const TEXT_LIST_FIELDS = ["args", "env"] as const;
const NUMBER_FIELDS = ["ppid", "originalPpid", "pgid", "sid", "uid", "euid", "gid", "egid", "startTime", "exitStatus", "messageVersion"] as const;

function isBytesObject(v: unknown): v is { base64: string } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { base64?: unknown }).base64 === "string";
}

function text(v: unknown, field: string, problems: RawEventProblem[]): string | Uint8Array | undefined {
  if (typeof v === "string") return v;
  if (isBytesObject(v)) return new Uint8Array(Buffer.from(v.base64, "base64"));
  problems.push({ field, reason: 'expected a string or {"base64": "…"}' });
  return undefined;
}

/** A parsed JSON value → RawEvent, or the problems that make it not one. */
export function rawEventFromJson(value: unknown): { event: RawEvent } | { problems: RawEventProblem[] } {
  const problems: RawEventProblem[] = [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { problems: [{ field: "(record)", reason: "expected an object" }] };
  const v = value as Record<string, unknown>;
  if (!KINDS.has(v.kind as string)) problems.push({ field: "kind", reason: `expected one of ${[...KINDS].join(", ")}` });
  if (v.source !== undefined && !SOURCES.has(v.source as string)) problems.push({ field: "source", reason: "expected linux, es, eslogger or replay" });
  for (const field of ["pid", "seq", "time"]) {
    if (typeof v[field] !== "number" || !Number.isFinite(v[field])) problems.push({ field, reason: "expected a number" });
  }
  for (const field of NUMBER_FIELDS) {
    if (v[field] !== undefined && (typeof v[field] !== "number" || !Number.isFinite(v[field]))) problems.push({ field, reason: "expected a number" });
  }
  const event = { ...v, source: v.source ?? "replay" } as unknown as RawEvent & Record<string, unknown>;
  for (const field of TEXT_FIELDS) {
    if (v[field] !== undefined) event[field] = text(v[field], field, problems) as never;
  }
  for (const field of TEXT_LIST_FIELDS) {
    const list = v[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      problems.push({ field, reason: "expected an array" });
      continue;
    }
    event[field] = list.map((item, i) => text(item, `${field}[${i}]`, problems)) as never;
  }
  if (v.file !== undefined) {
    const file = fileFromJson(v.file, problems);
    if (file) event.file = file;
  } else if (FILE_KINDS.has(v.kind as string)) {
    problems.push({ field: "file", reason: `${v.kind === "open" ? "an" : "a"} ${String(v.kind)} event needs a file ({"path": …})` });
  }
  return problems.length > 0 ? { problems } : { event };
}

function fileFromJson(value: unknown, problems: RawEventProblem[]): RawFile | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push({ field: "file", reason: "expected an object" });
    return undefined;
  }
  const v = value as Record<string, unknown>;
  const before = problems.length;
  const file = { ...v } as unknown as RawFile & Record<string, unknown>;
  if (v.path === undefined) problems.push({ field: "file.path", reason: "missing" });
  else file.path = text(v.path, "file.path", problems) as RawFile["path"];
  if (v.originalPath !== undefined) file.originalPath = text(v.originalPath, "file.originalPath", problems);
  for (const field of ["pathTruncated", "originalPathTruncated"]) {
    if (v[field] !== undefined && typeof v[field] !== "boolean") problems.push({ field: `file.${field}`, reason: "expected true or false" });
  }
  if (v.openFlags !== undefined && (typeof v.openFlags !== "number" || !Number.isInteger(v.openFlags))) {
    problems.push({ field: "file.openFlags", reason: "expected an integer" });
  }
  return problems.length > before ? undefined : file;
}
