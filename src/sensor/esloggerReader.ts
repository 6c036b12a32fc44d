import { MacsensorError } from "../errors.js";
import { positionAt } from "../errors.js";
import { findJsonSyntaxError, parseJsonKeepingBigIntegers } from "./esloggerJson.js";
import { EsloggerFieldError, KNOWN_ESLOGGER_VERSIONS, esloggerMessageToRaw, type EsloggerParseOptions } from "./esloggerParser.js";
import { JsonObjectSplitter, type SplitItem } from "./esloggerSplitter.js";
import type { RawEvent } from "./rawEvent.js";

/** A bad object in eslogger input: where it is (file, line, column) and, for a bad field, which one. */
export class EsloggerInputError extends MacsensorError {
  override name = "EsloggerInputError";
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly field?: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}${field === undefined ? "" : ` (field ${field})`}`);
  }
}

export interface EsloggerReadStats {
  /** JSON objects read. */
  objects: number;
  /** exec/fork/exit events produced. */
  events: number;
  /** Messages of other event types, by event name (e.g. {"open": 3}). */
  skipped: Record<string, number>;
  /** Bad objects (each reported through onError). */
  errors: number;
  /** Message versions above the ones we know, read anyway. */
  newerVersions: number[];
}

export interface EsloggerReadOptions extends EsloggerParseOptions {
  /** Name used in error locations; "<stdin>" by default. */
  file?: string;
  /** Called for every bad object; reading goes on. */
  onError?: (error: EsloggerInputError) => void;
  /** Called once per message version newer than we know. */
  onNewerVersion?: (version: number) => void;
  /** Called with each event's instigating process (exec-like record, no args) before the event is yielded. */
  onInstigator?: (record: RawEvent) => void;
  /** Filled while reading. */
  stats?: EsloggerReadStats;
}

export function newEsloggerReadStats(): EsloggerReadStats {
  return { objects: 0, events: 0, skipped: {}, errors: 0, newerVersions: [] };
}

/**
 * Reads eslogger output (JSON lines, pretty-printed or concatenated objects) and yields a RawEvent for every
 * exec, fork and exit message. Other event types are counted and skipped; a malformed object is reported with
 * its line and column and reading continues.
 */
export async function* readEsloggerEvents(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: EsloggerReadOptions = {},
): AsyncGenerator<RawEvent> {
  const file = options.file ?? "<stdin>";
  const stats = options.stats ?? newEsloggerReadStats();
  const splitter = new JsonObjectSplitter();
  const decoder = new TextDecoder("utf-8");
  const convert = (item: SplitItem): RawEvent | undefined => {
    if (item.kind === "error") {
      stats.errors++;
      options.onError?.(new EsloggerInputError(item.reason, file, item.line, item.column));
      return undefined;
    }
    stats.objects++;
    let message: unknown;
    try {
      message = parseJsonKeepingBigIntegers(item.text);
    } catch (err) {
      stats.errors++;
      const found = findJsonSyntaxError(item.text) ?? { offset: 0, reason: String(err) };
      const at = absolutePosition(item, found.offset);
      options.onError?.(new EsloggerInputError(`invalid JSON: ${found.reason}`, file, at.line, at.column));
      return undefined;
    }
    try {
      const result = esloggerMessageToRaw(message, options);
      if (result.version > KNOWN_ESLOGGER_VERSIONS.max && !stats.newerVersions.includes(result.version)) {
        stats.newerVersions.push(result.version);
        options.onNewerVersion?.(result.version);
      }
      if (result.kind === "skipped") {
        stats.skipped[result.eventType] = (stats.skipped[result.eventType] ?? 0) + 1;
        return undefined;
      }
      stats.events++;
      if (result.instigator) options.onInstigator?.(result.instigator);
      return result.event;
    } catch (err) {
      if (!(err instanceof EsloggerFieldError)) throw err;
      stats.errors++;
      options.onError?.(new EsloggerInputError(err.reason, file, item.line, item.column, err.field));
      return undefined;
    }
  };
  for await (const chunk of input) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    for (const item of splitter.push(text)) {
      const event = convert(item);
      if (event) yield event;
    }
  }
  const tail = decoder.decode();
  for (const item of [...(tail ? splitter.push(tail) : []), ...splitter.end()]) {
    const event = convert(item);
    if (event) yield event;
  }
}

function absolutePosition(item: { line: number; column: number; text: string }, offset: number): { line: number; column: number } {
  const p = positionAt(item.text, offset);
  return p.line === 1 ? { line: item.line, column: item.column + p.column - 1 } : { line: item.line + p.line - 1, column: p.column };
}
