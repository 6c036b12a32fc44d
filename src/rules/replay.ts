import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import type { EqlEvent } from "../eql/index.js";
import { buildAlert, type ResponseOutcome } from "../response/alert.js";
import type { RuleAction } from "./ruleMetadata.js";
import type { Detection, RuleSet } from "./ruleSet.js";

/** Where alerts go: the alert log, or NDJSON on stdout. */
export interface AlertSink {
  write(alert: EcsEvent): void;
}

export interface ReplayOptions {
  /** NDJSON of ECS events: a file path, or a stream (stdin). */
  input: string | Readable;
  rules: RuleSet;
  sink: AlertSink;
  /** A line that is not a JSON object: reported here with its 1-based number; the replay goes on. */
  onBadLine?: (lineNumber: number, reason: string) => void;
  /** Fixed alert time (tests); default the wall clock per alert. */
  now?: () => Date;
  agent?: { id: string; version: string; name?: string };
}

export interface ReplayStats {
  events: number;
  alerts: number;
  badLines: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * What a rule's action amounts to over recorded events: a report is a report, but nothing can be blocked or killed
 * any more — the event happened long ago — so those say so instead of pretending.
 */
export function replayOutcome(action: RuleAction): ResponseOutcome {
  if (action === "report") return { action, result: "success" };
  return { action, result: "not_applicable", reason: "replay" };
}

function alertFor(detection: Detection, options: ReplayOptions): EcsEvent {
  const hit = detection.hit;
  let event: EcsEvent;
  let sequenceEvents: EcsEvent[] | undefined;
  if (hit.kind === "event") {
    event = hit.event;
  } else {
    sequenceEvents = hit.events.filter((e): e is EqlEvent => e !== null);
    event = sequenceEvents[sequenceEvents.length - 1] ?? {};
  }
  return buildAlert({
    rule: detection.rule.metadata,
    event,
    sequenceEvents,
    response: replayOutcome(detection.action),
    agent: options.agent,
    now: options.now?.(),
  });
}

/**
 * Runs recorded ECS events (NDJSON) through the rules and writes an alert per detection. The input is streamed
 * chunk by chunk and split on newlines here (cheaper than readline's per-line events); memory stays flat whatever
 * the input's length. Blank lines are ignored; bad lines are reported and skipped.
 */
export async function replayEvents(options: ReplayOptions): Promise<ReplayStats> {
  const started = process.hrtime.bigint();
  const stream = typeof options.input === "string" ? createReadStream(options.input, { highWaterMark: 1 << 20 }) : options.input;
  stream.setEncoding("utf8");
  const rules = options.rules;
  const sink = options.sink;
  let events = 0;
  let alerts = 0;
  let badLines = 0;
  let lineNumber = 0;
  let rest = "";

  const handleLine = (line: string): void => {
    lineNumber++;
    if (line.length === 0 || (line.length < 8 && line.trim() === "")) return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (err) {
      badLines++;
      options.onBadLine?.(lineNumber, `not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      badLines++;
      options.onBadLine?.(lineNumber, `expected a JSON object (one ECS event), found ${Array.isArray(event) ? "an array" : JSON.stringify(event)}`);
      return;
    }
    events++;
    const detections = rules.push(event as EqlEvent);
    for (let i = 0; i < detections.length; i++) {
      sink.write(alertFor(detections[i], options));
      alerts++;
    }
  };

  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    let nl = chunk.indexOf("\n");
    if (nl === -1) {
      rest += chunk;
      continue;
    }
    if (rest.length > 0) {
      handleLine(stripCr(rest + chunk.slice(0, nl)));
      rest = "";
      start = nl + 1;
      nl = chunk.indexOf("\n", start);
    }
    while (nl !== -1) {
      handleLine(stripCr(chunk.slice(start, nl)));
      start = nl + 1;
      nl = chunk.indexOf("\n", start);
    }
    rest = chunk.slice(start);
  }
  if (rest.length > 0) handleLine(stripCr(rest));
  for (const detection of rules.finish()) {
    sink.write(alertFor(detection, options));
    alerts++;
  }

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, alerts, badLines, seconds, eventsPerSecond: seconds > 0 ? events / seconds : 0 };
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
