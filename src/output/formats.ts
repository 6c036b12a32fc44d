/**
 * The winston formats of our logs. Each sets info[MESSAGE] (the line the transport writes) and never throws:
 * a record that cannot be serialized is replaced by a line saying so, so nothing disappears silently.
 */
import winston from "winston";
import type { Logform } from "winston";
import { withEcsBase, type Doc } from "./ecsFields.js";
import { flushMarkerOf } from "./flushMarker.js";
import { toNdjsonLine } from "./ndjson.js";
import { printableLine } from "./printable.js";

const MESSAGE = Symbol.for("message");

/** Where an alert log record carries its document, so winston's own info fields never mix into it. */
export const DOCUMENT = Symbol.for("macsensor.document");

/** The NDJSON line of `doc` with @timestamp and ecs.version; a line describing the failure if it has none. */
export function ecsNdjsonLine(doc: Doc): string {
  try {
    return toNdjsonLine(withEcsBase(doc));
  } catch (error) {
    return toNdjsonLine(
      withEcsBase({
        event: { kind: "pipeline_error" },
        message: "a record could not be serialized",
        error: { type: error instanceof Error ? error.name : "Error", message: error instanceof Error ? error.message : String(error) },
      }),
    );
  }
}

/** Alert log: the document under info[DOCUMENT] written unchanged apart from @timestamp and ecs.version. */
export const alertLineFormat: () => Logform.Format = winston.format((info) => {
  if (flushMarkerOf(info) !== undefined) return info;
  const doc = (info as { [DOCUMENT]?: Doc })[DOCUMENT] ?? {};
  (info as Record<symbol, unknown>)[MESSAGE] = ecsNdjsonLine(doc);
  return info;
});

const WINSTON_KEYS = new Set(["level", "message", "stack"]);

/** The ECS document of an agent log record: @timestamp, log.level, message, then the record's own fields. */
export function opsDocument(info: Logform.TransformableInfo): Doc {
  const doc: Doc = { "@timestamp": new Date().toISOString(), log: { level: info.level, logger: "macsensor" }, message: String(info.message ?? "") };
  for (const key of Object.keys(info)) {
    if (!WINSTON_KEYS.has(key)) doc[key] = info[key];
  }
  if (typeof info.stack === "string") {
    const error = doc.error !== null && typeof doc.error === "object" ? (doc.error as Doc) : {};
    doc.error = { ...error, stack_trace: info.stack };
  }
  return doc;
}

/** Agent log file: one ECS NDJSON line per record. */
export const opsLineFormat: () => Logform.Format = winston.format((info) => {
  if (flushMarkerOf(info) !== undefined) return info;
  (info as Record<symbol, unknown>)[MESSAGE] = ecsNdjsonLine(opsDocument(info));
  return info;
});

/** Console: `HH:MM:SS.mmm level message {fields}` for a person; flush markers are not printed. */
export const consoleLineFormat: () => Logform.Format = winston.format((info) => {
  if (flushMarkerOf(info) !== undefined) return false;
  const { "@timestamp": timestamp, log: _log, message, ecs: _ecs, ...fields } = opsDocument(info);
  const time = String(timestamp).slice(11, 23);
  let extra = "";
  try {
    if (Object.keys(fields).length > 0) extra = ` ${toNdjsonLine(fields)}`;
  } catch {
    extra = " (fields not printable)";
  }
  (info as Record<symbol, unknown>)[MESSAGE] = `${time} ${info.level.padEnd(5)} ${printableLine(String(message))}${extra}`;
  return info;
});
