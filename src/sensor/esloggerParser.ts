import { MacsensorError } from "../errors.js";
import type { FileEventKind, RawAuditToken, RawCodeSignature, RawEvent, RawFile } from "./rawEvent.js";

/**
 * Apple eslogger JSON messages (macOS 13+) → RawEvent. Format facts: shared/reference/eslogger-format.md.
 * - The layout follows `version` (the ES message version), never `schema_version` (always 1).
 * - Audit tokens are objects, except in v10 where they are [auid, euid, egid, ruid, rgid, pid, asid, pidversion];
 *   both shapes are accepted in every version because Apple has changed it back and forth.
 * - exec: the new program is `event.exec.target`; its parent is `target.ppid`, not `process` (the same pid, old image).
 * - fork: the child is `event.fork.child`; exit: `process` with `event.exit.stat` (a wait status word).
 * - File events (open, create, close when modified, rename, unlink): the acting process is `process`; a close of
 *   an unmodified file is skipped (only a modification is an event).
 */

/** The ES message versions whose layout we know; later ones are read the same way, with a warning. */
export const KNOWN_ESLOGGER_VERSIONS = { min: 1, max: 11 } as const;

export const ESLOGGER_EVENT_TYPES = { exec: 9, fork: 11, exit: 15, open: 10, close: 12, create: 13, rename: 25, unlink: 32 } as const;

/** The RawEvent kind of each eslogger file event. */
const FILE_KIND: Readonly<Record<string, FileEventKind>> = { open: "open", close: "modify", create: "create", rename: "rename", unlink: "delete" };

/** FREAD / FWRITE of an open's fflag (the contract's RAW_OPEN_READ / RAW_OPEN_WRITE bits). */
const OPEN_ACCESS_BITS = 0x3;

/** A field of a message that is missing or has the wrong type. */
export class EsloggerFieldError extends MacsensorError {
  override name = "EsloggerFieldError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${reason} (field ${field})`);
  }
}

export interface EsloggerParseOptions {
  /** Environment variable names to keep (as NAME=value); all others are dropped, as Defend does. */
  envNames?: readonly string[];
  /** Read open, create, close (modified), rename and unlink as file events; without it they are skipped. */
  fileEvents?: boolean;
}

/** What one message turned into: an event, or a message of another type that we skip. */
export type EsloggerMessageResult =
  | {
      kind: "event";
      event: RawEvent;
      version: number;
      /** The message's instigating `process` (fork: the parent; exec: the image before the exec) as an exec-like record. */
      instigator?: RawEvent;
    }
  | { kind: "skipped"; eventType: string; version: number };

type Json = Record<string, unknown>;

function fail(field: string, reason: string): never {
  throw new EsloggerFieldError(field, reason);
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}` : typeof v;
}

function object(v: unknown, field: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, `expected an object, got ${typeName(v)}`);
  return v as Json;
}

function integer(v: unknown, field: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  // Only integers a double cannot hold come back as strings from parseJsonKeepingBigIntegers.
  if (typeof v === "string" && /^-?\d{16,}$/.test(v) && !Number.isSafeInteger(Number(v))) fail(field, `integer ${v} is out of range`);
  return fail(field, `expected an integer, got ${typeName(v)}`);
}

function optionalInteger(v: unknown, field: string): number | undefined {
  return v === undefined || v === null ? undefined : integer(v, field);
}

function string(v: unknown, field: string): string {
  if (typeof v !== "string") fail(field, `expected a string, got ${typeName(v)}`);
  return v;
}

function optionalString(v: unknown, field: string): string | undefined {
  return v === undefined || v === null ? undefined : string(v, field);
}

function optionalBoolean(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") fail(field, `expected true or false, got ${typeName(v)}`);
  return v;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** eslogger time ("…:05.123456789Z", ns; start_time µs) → epoch ms, keeping µs as a fraction. */
export function parseEsloggerTime(v: unknown, field: string): number {
  const text = string(v, field);
  const m = ISO_TIME.exec(text);
  if (!m) fail(field, `expected an ISO 8601 time, got ${typeName(v)}`);
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(ms)) fail(field, `invalid time ${JSON.stringify(text)}`);
  if (m[8] !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    ms -= sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6))) * 60_000;
  }
  if (m[7]) {
    // Whole microseconds: finer digits would only add float noise to the epoch-ms number.
    const micros = Number((m[7] + "00000").slice(0, 6));
    ms += micros / 1000;
  }
  return ms;
}

/** An audit token in either shape → named fields. */
export function parseAuditToken(v: unknown, field: string): RawAuditToken {
  if (Array.isArray(v)) {
    if (v.length !== 8) fail(field, `expected 8 integers, got ${v.length}`);
    const n = v.map((x, i) => integer(x, `${field}[${i}]`));
    return { auid: n[0] >>> 0, euid: n[1] >>> 0, egid: n[2] >>> 0, ruid: n[3] >>> 0, rgid: n[4] >>> 0, pid: n[5], asid: n[6], pidversion: n[7] };
  }
  const t = object(v, field);
  return {
    pid: integer(t.pid, `${field}.pid`),
    pidversion: integer(t.pidversion, `${field}.pidversion`),
    euid: integer(t.euid, `${field}.euid`),
    ruid: integer(t.ruid, `${field}.ruid`),
    egid: integer(t.egid, `${field}.egid`),
    rgid: integer(t.rgid, `${field}.rgid`),
    auid: optionalInteger(t.auid, `${field}.auid`),
    asid: optionalInteger(t.asid, `${field}.asid`),
  };
}

/** A file object's path (and whether it was cut off), or undefined for null. */
function filePath(v: unknown, field: string): { path: string; truncated: boolean } | undefined {
  if (v === undefined || v === null) return undefined;
  const f = object(v, field);
  return { path: string(f.path, `${field}.path`), truncated: optionalBoolean(f.path_truncated, `${field}.path_truncated`) ?? false };
}

/** Fills the RawEvent fields that come from one es_process_t object. */
function readProcess(p: Json, field: string, into: RawEvent): void {
  const token = parseAuditToken(p.audit_token, `${field}.audit_token`);
  into.pid = token.pid;
  into.auditToken = token;
  into.uid = token.ruid;
  into.euid = token.euid;
  into.gid = token.rgid;
  into.egid = token.egid;
  if (p.parent_audit_token !== undefined && p.parent_audit_token !== null) {
    into.parentAuditToken = parseAuditToken(p.parent_audit_token, `${field}.parent_audit_token`);
  }
  if (p.responsible_audit_token !== undefined && p.responsible_audit_token !== null) {
    into.responsibleAuditToken = parseAuditToken(p.responsible_audit_token, `${field}.responsible_audit_token`);
  }
  into.ppid = optionalInteger(p.ppid, `${field}.ppid`) ?? into.parentAuditToken?.pid;
  const originalPpid = optionalInteger(p.original_ppid, `${field}.original_ppid`);
  if (originalPpid !== undefined) into.originalPpid = originalPpid;
  const pgid = optionalInteger(p.group_id, `${field}.group_id`);
  if (pgid !== undefined) into.pgid = pgid;
  const sid = optionalInteger(p.session_id, `${field}.session_id`);
  if (sid !== undefined) into.sid = sid;
  if (p.start_time !== undefined && p.start_time !== null) into.startTime = parseEsloggerTime(p.start_time, `${field}.start_time`);

  const executable = filePath(p.executable, `${field}.executable`);
  if (!executable) fail(`${field}.executable`, "missing");
  into.executable = executable.path;
  if (executable.truncated) into.executableTruncated = true;
  const tty = filePath(p.tty, `${field}.tty`);
  if (tty) into.tty = tty.path;

  const cs: RawCodeSignature = {};
  const signingId = optionalString(p.signing_id, `${field}.signing_id`);
  if (signingId !== undefined) cs.signingId = signingId;
  const teamId = optionalString(p.team_id, `${field}.team_id`);
  if (teamId !== undefined && teamId !== "") cs.teamId = teamId;
  const cdhash = optionalString(p.cdhash, `${field}.cdhash`);
  if (cdhash !== undefined && cdhash !== "") cs.cdhash = cdhash.toLowerCase();
  const flags = optionalInteger(p.codesigning_flags, `${field}.codesigning_flags`);
  if (flags !== undefined) cs.flags = flags >>> 0;
  const platform = optionalBoolean(p.is_platform_binary, `${field}.is_platform_binary`);
  if (platform !== undefined) cs.platformBinary = platform;
  if (signingId !== undefined || flags !== undefined || cdhash !== undefined) into.codeSignature = cs;
}

function stringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) fail(field, `expected an array of strings, got ${typeName(v)}`);
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") fail(`${field}[${i}]`, `expected a string, got ${typeName(v[i])}`);
  return v as string[];
}

/**
 * One parsed eslogger message → a RawEvent (exec, fork, exit) or "skipped" for any other event type.
 * Throws EsloggerFieldError naming the field when the message is not what eslogger writes.
 */
export function esloggerMessageToRaw(message: unknown, options: EsloggerParseOptions = {}): EsloggerMessageResult {
  const m = object(message, "(message)");
  const version = integer(m.version, "version");
  if (version < KNOWN_ESLOGGER_VERSIONS.min) fail("version", `unsupported message version ${version}`);
  const body = object(m.event, "event");
  const keys = Object.keys(body);
  if (keys.length !== 1) fail("event", `expected exactly one event key, got ${keys.length === 0 ? "none" : keys.join(", ")}`);
  const eventName = keys[0];
  const eventType = optionalInteger(m.event_type, "event_type");
  const expected = (ESLOGGER_EVENT_TYPES as Record<string, number>)[eventName];
  if (expected === undefined) {
    if (eventType !== undefined && (Object.values(ESLOGGER_EVENT_TYPES) as number[]).includes(eventType)) {
      fail("event_type", `event_type ${eventType} does not match the event key "${eventName}"`);
    }
    return { kind: "skipped", eventType: eventName, version };
  }
  if (eventType !== undefined && eventType !== expected) {
    fail("event_type", `event_type ${eventType} does not match the event key "${eventName}" (${expected})`);
  }

  const fileKind = FILE_KIND[eventName];
  if (fileKind !== undefined && !options.fileEvents) return { kind: "skipped", eventType: eventName, version };
  const inner = object(body[eventName], `event.${eventName}`);
  if (eventName === "close" && optionalBoolean(inner.modified, "event.close.modified") !== true) return { kind: "skipped", eventType: "close", version };
  const raw: RawEvent = {
    source: "eslogger",
    kind: fileKind ?? (eventName as "exec" | "fork" | "exit"),
    seq: integer(m.global_seq_num ?? m.seq_num, m.global_seq_num === undefined ? "seq_num" : "global_seq_num"),
    time: parseEsloggerTime(m.time, "time"),
    pid: 0,
    messageVersion: version,
  };
  if (fileKind !== undefined) {
    readProcess(object(m.process, "process"), "process", raw);
    raw.file = readFileEvent(eventName, inner);
  } else if (eventName === "exec") {
    readProcess(object(inner.target, "event.exec.target"), "event.exec.target", raw);
    raw.args = stringArray(inner.args, "event.exec.args");
    const cwd = filePath(inner.cwd, "event.exec.cwd");
    if (cwd) raw.cwd = cwd.path;
    const script = filePath(inner.script, "event.exec.script");
    if (script) raw.script = script.path;
    if (options.envNames && options.envNames.length > 0 && inner.env !== undefined && inner.env !== null) {
      const wanted = options.envNames;
      const env = stringArray(inner.env, "event.exec.env").filter((kv) => {
        const eq = kv.indexOf("=");
        return eq > 0 && wanted.includes(kv.slice(0, eq));
      });
      if (env.length > 0) raw.env = env;
    }
  } else if (eventName === "fork") {
    readProcess(object(inner.child, "event.fork.child"), "event.fork.child", raw);
  } else {
    readProcess(object(m.process, "process"), "process", raw);
    raw.exitStatus = integer(inner.stat, "event.exit.stat");
  }
  let instigator: RawEvent | undefined;
  if (eventName !== "exit" && fileKind === undefined && m.process !== undefined && m.process !== null) {
    instigator = { source: "eslogger", kind: "exec", seq: raw.seq, time: raw.time, pid: 0, messageVersion: version };
    readProcess(object(m.process, "process"), "process", instigator);
  }
  return { kind: "event", event: raw, version, instigator };
}

/** A file event body → the file it is about (shapes: shared/reference/eslogger-format.md, "Other file events"). */
function readFileEvent(eventName: string, inner: Json): RawFile {
  const at = `event.${eventName}`;
  const required = (v: unknown, field: string) => filePath(v, field) ?? fail(field, "missing");
  const fileOf = (p: { path: string; truncated: boolean }): RawFile => (p.truncated ? { path: p.path, pathTruncated: true } : { path: p.path });
  switch (eventName) {
    case "open": {
      const file = fileOf(required(inner.file, `${at}.file`));
      file.openFlags = integer(inner.fflag, `${at}.fflag`) & OPEN_ACCESS_BITS;
      return file;
    }
    case "close":
    case "unlink":
      return fileOf(required(inner.target, `${at}.target`));
    case "create":
      return fileOf(destination(inner, at));
    default: {
      // rename
      const source = required(inner.source, `${at}.source`);
      const file = fileOf(destination(inner, at));
      file.originalPath = source.path;
      if (source.truncated) file.originalPathTruncated = true;
      return file;
    }
  }
}

/** create / rename: `destination.existing_file` (destination_type 0) or `destination.new_path` = {dir, filename}. */
function destination(inner: Json, at: string): { path: string; truncated: boolean } {
  const type = integer(inner.destination_type, `${at}.destination_type`);
  const dest = object(inner.destination, `${at}.destination`);
  if (type === 0) return filePath(dest.existing_file, `${at}.destination.existing_file`) ?? fail(`${at}.destination.existing_file`, "missing");
  if (type !== 1) fail(`${at}.destination_type`, `expected 0 (existing_file) or 1 (new_path), got ${type}`);
  const newPath = object(dest.new_path, `${at}.destination.new_path`);
  const dir = filePath(newPath.dir, `${at}.destination.new_path.dir`) ?? fail(`${at}.destination.new_path.dir`, "missing");
  const name = string(newPath.filename, `${at}.destination.new_path.filename`);
  return { path: dir.path.endsWith("/") ? dir.path + name : `${dir.path}/${name}`, truncated: dir.truncated };
}
