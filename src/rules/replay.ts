import { isAscii } from "node:buffer";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import type { EqlEvent } from "../eql/index.js";
import { buildAlert, type ResponseOutcome } from "../response/alert.js";
import type { RuleAction } from "./ruleMetadata.js";
import { buildPrefilter } from "./prefilter.js";
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
  /**
   * Skip JSON.parse for lines that no rule can match (see prefilter.ts); such lines are only checked to look like
   * one JSON object (`{…}`). Default true; false parses (and so fully checks) every line.
   */
  prefilter?: boolean;
  /** Lines longer than this many bytes are reported and skipped (default MAX_LINE_BYTES; tests use less). */
  maxLineBytes?: number;
  /** A file's read buffer, in bytes (default 1 MB; tests use less to cut lines at every place). */
  readBytes?: number;
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

/**
 * What a pending sequence keeps of a replayed event: its line's text (one flat string) rather than the parsed
 * objects, which the garbage collector would copy and promote for as long as the sequence waits. Parsed again
 * for the alert. A class, so that no event read from the input can pass for one.
 */
class RetainedLine {
  constructor(readonly text: string) {}
}

function restored(event: EqlEvent): EqlEvent {
  return event instanceof RetainedLine ? (JSON.parse(event.text) as EqlEvent) : event;
}

function alertFor(detection: Detection, options: ReplayOptions): EcsEvent {
  const hit = detection.hit;
  let event: EcsEvent;
  let sequenceEvents: EcsEvent[] | undefined;
  if (hit.kind === "event") {
    event = hit.event;
  } else {
    sequenceEvents = hit.events.filter((e): e is EqlEvent => e !== null).map(restored);
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

/** A line longer than this is reported and skipped rather than held in memory. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/**
 * Lines are scanned in blocks of about this size: strings this small are made in V8's young generation, while a
 * 1 MB one goes to large-object space and pays fresh page faults every time (measured: 6x slower per byte).
 */
const BLOCK_BYTES = 64 * 1024;
/**
 * A file is read into one buffer, reused for every read: fresh buffers per read (a read stream's) cost a page fault
 * per 4 KB and a garbage collector's sweep (measured: 2.5 times the CPU of the reads themselves). Larger than a
 * block, for fewer round trips through libuv's thread pool; grown only for a line longer than itself.
 */
const READ_BYTES = 1024 * 1024;

/**
 * Runs recorded ECS events (NDJSON) through the rules and writes an alert per detection. The input is streamed as
 * bytes and split on newlines here; memory stays flat whatever the input's length. Blank lines are ignored; bad
 * lines are reported and skipped.
 *
 * With the pre-filter (default), each line's values of the fields the rules test are looked up (by their keys,
 * with native string search, see prefilter.ts); a line no rule can match (and only ASCII) is counted as an event
 * without being decoded or parsed — it is only checked to look like one JSON object.
 */
export async function replayEvents(options: ReplayOptions): Promise<ReplayStats> {
  const started = process.hrtime.bigint();
  const rules = options.rules;
  const sink = options.sink;
  const filter = options.prefilter === false ? undefined : buildPrefilter(rules.rules, { categoryField: rules.compileOptions.categoryField });
  if (filter !== undefined) {
    // Later sequence stages count only while their rule holds a started sequence.
    for (let r = 0; r < rules.rules.length; r++) if (rules.sequenceHoldsState(r)) filter.setSequenceHoldsState(r, true);
    rules.watchSequenceState((rule, holds) => filter.setSequenceHoldsState(rule, holds));
    // … and only for lines holding a join-key value one of them waits for.
    filter.setSequenceKeyProbe((rule, key) => rules.sequenceHoldsKey(rule, key));
  }
  let events = 0;
  let alerts = 0;
  let badLines = 0;
  let lineNumber = 0;

  const bad = (reason: string): void => {
    badLines++;
    options.onBadLine?.(lineNumber, reason);
  };

  /** `flat`: the line as a string of its own (not a slice of a block's text), for a sequence to keep. */
  const parseLine = (line: string, flat: () => string): void => {
    if (line.trim() === "") return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (err) {
      bad(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      bad(`expected a JSON object (one ECS event), found ${Array.isArray(event) ? "an array" : JSON.stringify(event)}`);
      return;
    }
    events++;
    let kept: EqlEvent | undefined;
    const detections = rules.push(event as EqlEvent, () => (kept ??= new RetainedLine(flat()) as unknown as EqlEvent));
    for (let i = 0; i < detections.length; i++) {
      sink.write(alertFor(detections[i], options));
      alerts++;
    }
  };

  /** Complete lines, cut into blocks of about BLOCK_BYTES at line ends. */
  const processLines = (lines: Buffer): void => {
    let from = 0;
    while (from < lines.length) {
      let to = Math.min(lines.length, from + BLOCK_BYTES);
      if (to < lines.length) {
        const nl = lines.lastIndexOf(10, to - 1);
        if (nl >= from) to = nl + 1;
        else {
          const next = lines.indexOf(10, to);
          to = next === -1 ? lines.length : next + 1;
        }
      }
      processBlock(lines.subarray(from, to));
      from = to;
    }
  };

  /** Complete lines (the last one may lack its newline only at the end of input). */
  const processBlock = (block: Buffer): void => {
    let blockAscii = false;
    /** The block as latin1 text (one character per byte), for the filter, and to parse an ASCII line without decoding it again. */
    let text: string | undefined;
    if (filter !== undefined) {
      blockAscii = isAscii(block);
      // One character per byte: the filter finds keys with String.prototype.indexOf, offsets are the bytes'.
      text = block.toString("latin1");
      filter.beginBlock(text);
    }
    let start = 0;
    while (start < block.length) {
      // The text's indexOf is a builtin call, cheaper than the Buffer's (a call into C++) for every line.
      let nl = text !== undefined ? text.indexOf("\n", start) : block.indexOf(10, start);
      if (nl === -1) nl = block.length;
      lineNumber++;
      let end = nl;
      if (end > start && block[end - 1] === 13) end--;
      const ascii = filter !== undefined && (blockAscii || isAscii(block.subarray(start, end)));
      if (ascii && !filter.mayMatchAt(start, end)) {
        const shape = objectShape(block, start, end);
        if (shape === "blank") {
          start = nl + 1;
          continue;
        }
        if (shape === "object") {
          events++;
          start = nl + 1;
          continue;
        }
      }
      // ASCII reads the same as latin1 and as UTF-8: the block's text serves.
      if (ascii) {
        const lineStart = start;
        const lineEnd = end;
        parseLine(text!.slice(start, end), () => block.toString("latin1", lineStart, lineEnd));
      } else {
        const line = block.toString("utf8", start, end);
        parseLine(line, () => line);
      }
      start = nl + 1;
    }
  };

  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const tooLong = (): void => {
    lineNumber++;
    bad(`line longer than ${maxLineBytes} bytes`);
  };
  if (typeof options.input === "string") await readFileLines(options.input, options.readBytes ?? READ_BYTES, maxLineBytes, processLines, tooLong);
  else await readStreamLines(options.input, maxLineBytes, processLines, processBlock, tooLong);
  for (const detection of rules.finish()) {
    sink.write(alertFor(detection, options));
    alerts++;
  }
  rules.watchSequenceState(undefined);

  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, alerts, badLines, seconds, eventsPerSecond: seconds > 0 ? events / seconds : 0 };
}

/**
 * Reads a file into one reused buffer and hands over its complete lines (the last one may lack its newline only at
 * the end of the file). A line that does not fit grows the buffer, up to maxLineBytes; past that it is reported
 * (tooLong) and skipped to its end.
 */
async function readFileLines(
  path: string,
  readBytes: number,
  maxLineBytes: number,
  lines: (bytes: Buffer) => void,
  tooLong: () => void,
): Promise<void> {
  const file = await open(path, "r");
  try {
    let buffer = Buffer.allocUnsafeSlow(Math.max(1, Math.min(readBytes, maxLineBytes + 1)));
    /** Bytes of an unfinished line kept at the buffer's start (at most maxLineBytes). */
    let kept = 0;
    let discarding = false;
    for (;;) {
      if (kept === buffer.length) {
        const grown = Buffer.allocUnsafeSlow(Math.min(buffer.length * 2, maxLineBytes + 1));
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      const { bytesRead } = await file.read(buffer, kept, buffer.length - kept, null);
      if (bytesRead === 0) break;
      const end = kept + bytesRead;
      let from = 0;
      if (discarding) {
        const nl = buffer.indexOf(10, kept);
        if (nl === -1 || nl >= end) {
          kept = 0;
          continue;
        }
        discarding = false;
        from = nl + 1;
      }
      const lastNl = end > from ? buffer.lastIndexOf(10, end - 1) : -1;
      if (lastNl >= from) {
        lines(buffer.subarray(from, lastNl + 1));
        from = lastNl + 1;
      }
      // Lines handed over are done with (decoded or skipped): the unfinished one moves to the start.
      buffer.copyWithin(0, from, end);
      kept = end - from;
      if (kept > maxLineBytes) {
        tooLong();
        discarding = true;
        kept = 0;
      }
    }
    if (kept > 0 && !discarding) lines(buffer.subarray(0, kept));
  } finally {
    await file.close();
  }
}

/** The same over a stream (stdin): chunks as they come, an unfinished line carried over in a copy of its own. */
async function readStreamLines(
  stream: Readable,
  maxLineBytes: number,
  lines: (bytes: Buffer) => void,
  block: (bytes: Buffer) => void,
  tooLong: () => void,
): Promise<void> {
  let carry: Buffer | undefined;
  let discarding = false;
  for await (const raw of stream as AsyncIterable<Buffer | string>) {
    let chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
    if (discarding) {
      const nl = chunk.indexOf(10);
      if (nl === -1) continue;
      discarding = false;
      chunk = chunk.subarray(nl + 1);
    }
    if (carry !== undefined) {
      // Finish the line begun in an earlier chunk on its own, so the chunk itself is never copied.
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        carry = Buffer.concat([carry, chunk]);
        if (carry.length > maxLineBytes) {
          tooLong();
          carry = undefined;
          discarding = true;
        }
        continue;
      }
      block(Buffer.concat([carry, chunk.subarray(0, nl + 1)]));
      carry = undefined;
      chunk = chunk.subarray(nl + 1);
    }
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      if (chunk.length > maxLineBytes) {
        tooLong();
        discarding = true;
      } else if (chunk.length > 0) {
        carry = Buffer.from(chunk);
      }
      continue;
    }
    lines(chunk.subarray(0, lastNl + 1));
    if (lastNl + 1 < chunk.length) carry = Buffer.from(chunk.subarray(lastNl + 1));
  }
  if (carry !== undefined && !discarding) lines(carry);
}

/** Whether bytes [start, end) are blank, look like one JSON object (`{…}` around optional spaces), or neither. */
function objectShape(block: Buffer, start: number, end: number): "blank" | "object" | "other" {
  let first = start;
  while (first < end && block[first] <= 32) first++;
  if (first === end) return "blank";
  let last = end - 1;
  while (last > first && block[last] <= 32) last--;
  return block[first] === 123 && block[last] === 125 ? "object" : "other";
}
