/**
 * A winston transport that appends NDJSON lines to a file and rotates it by size, losing nothing.
 *
 * Why not winston's File transport: it loses lines when a burst crosses its size limit (winstonjs/winston#1655)
 * and can stall with `tailable` and no `maxFiles`. Here one writer owns the file and writes synchronously:
 * records gathered during one turn of the event loop (at most 64 KiB) go out in one write(2) on an O_APPEND
 * descriptor at the end of that turn, a record is never split across writes, and rotation (close, rename, open)
 * happens between two writes, so there is never anything in flight to lose. A flush marker (flushLogger) writes
 * what is gathered at once. A live file deleted under the writer is noticed before the next write, which goes to
 * a new file of the same name.
 *
 * Naming: `alerts.ndjson` is always the live file; on rotation it becomes `alerts.ndjson.1`, `.1` becomes `.2`,
 * and so on; at most `maxFiles` files exist (the live one included), the oldest is deleted whole. A file never
 * exceeds `maxBytes` unless a single record is larger (then that record is alone in its file, never split).
 */
import { closeSync, existsSync, fstatSync, renameSync, unlinkSync, writeSync } from "node:fs";
import TransportStream from "winston-transport";
import { FLUSH_MARKER, flushMarkerOf } from "./flushMarker.js";
import { toNdjsonLine } from "./ndjson.js";
import { ensureLogDirectory, LogFileError, openLogFile } from "./logFiles.js";

const MESSAGE = Symbol.for("message");
const BATCH_BYTES = 64 * 1024;

export interface RotatingFileOptions {
  file: string;
  /** Rotate before a record would make the live file larger than this; default 50 MiB. */
  maxBytes?: number;
  /** Files kept, the live one included; default 10. */
  maxFiles?: number;
  /** Lowest winston level written (default: the logger's). */
  level?: string;
  /** Called when records cannot be written even after reopening the file (disk full, I/O error). */
  onError?: (error: LogFileError) => void;
}

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 10;

export class RotatingFileTransport extends TransportStream {
  readonly acknowledgesFlushMarkers = true;
  readonly file: string;
  readonly maxBytes: number;
  readonly maxFiles: number;
  /** Records written to the file since the transport was created. */
  written = 0;
  /** Records that could not be written (reported through onError). */
  lost = 0;
  private fd: number | undefined;
  /** Bytes in the live file. */
  private size = 0;
  /** Lines gathered for the next write, encoded straight into one reused buffer (no string concatenation). */
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private pendingBytes = 0;
  private pendingRecords = 0;
  private scheduled = false;
  private shut = false;
  /** How many of file.1, file.2, ... exist, so rotation renames only those. */
  private rotatedFiles = 0;
  private readonly onError: (error: LogFileError) => void;
  private readonly writeScheduled = (): void => {
    this.scheduled = false;
    this.writePending();
  };

  constructor(options: RotatingFileOptions) {
    super({ level: options.level });
    this.file = options.file;
    this.maxBytes = positiveInteger(options.maxBytes ?? DEFAULT_MAX_BYTES, "maxBytes", options.file);
    this.maxFiles = positiveInteger(options.maxFiles ?? DEFAULT_MAX_FILES, "maxFiles", options.file);
    this.onError = options.onError ?? reportToStderr;
    ensureLogDirectory(this.file);
    this.open();
    while (this.rotatedFiles < this.maxFiles - 1 && existsSync(`${this.file}.${this.rotatedFiles + 1}`)) this.rotatedFiles++;
  }

  override log(info: object, next: () => void): void {
    const marker = flushMarkerOf(info);
    if (marker !== undefined) {
      this.writePending();
      marker.arrived();
    } else {
      this.add(lineOf(info));
    }
    next();
  }

  /** Adds one record (a line without its newline); it is written by the end of this turn of the event loop. */
  add(line: string): void {
    if (this.shut) {
      this.lost++;
      this.report(new LogFileError(`log ${this.file} is closed; record dropped`, this.file));
      return;
    }
    const text = line.includes("\n") ? line.replace(/\n/g, "\\n") : line;
    const bytes = Buffer.byteLength(text, "utf8") + 1;
    const used = this.size + this.pendingBytes;
    if (used > 0 && used + bytes > this.maxBytes) {
      this.writePending();
      this.rotateOrKeepGoing();
    }
    if (this.pendingBytes + bytes > BATCH_BYTES) this.writePending();
    if (bytes > BATCH_BYTES) {
      this.writeOut(Buffer.from(`${text}\n`, "utf8"), 1);
      return;
    }
    this.batch.write(text, this.pendingBytes, "utf8");
    this.batch[this.pendingBytes + bytes - 1] = 0x0a;
    this.pendingBytes += bytes;
    this.pendingRecords++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.writeScheduled);
    }
  }

  /** Writes the gathered records now. */
  writePending(): void {
    if (this.pendingRecords === 0) return;
    const records = this.pendingRecords;
    const data = this.batch.subarray(0, this.pendingBytes);
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.writeOut(data, records);
  }

  private writeOut(data: Buffer, records: number): void {
    try {
      // A live file deleted under us (by hand, or to hide alerts) would swallow every later line: start a new one.
      if (this.fd !== undefined && fstatSync(this.fd).nlink === 0) this.reopen();
      this.append(data);
    } catch (first) {
      // The folder or file may have been removed under us: reopen once and retry.
      try {
        this.reopen();
        this.append(data);
      } catch (second) {
        this.lost += records;
        const cause = second instanceof LogFileError ? second.cause ?? second : second;
        this.report(new LogFileError(`cannot write to ${this.file}: ${messageOf(cause)} (${records} records lost)`, this.file, { cause: first }));
        return;
      }
    }
    this.written += records;
  }

  override close(): void {
    if (this.shut) return;
    this.writePending();
    this.shut = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Tells onError; a throwing handler must not take the writer (and the agent) down. */
  private report(error: LogFileError): void {
    try {
      this.onError(error);
    } catch {
      // Nothing better to do: the record count in `lost` still says it.
    }
  }

  private append(bytes: Buffer): void {
    if (this.fd === undefined) this.open();
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd as number, bytes, offset, bytes.length - offset);
    this.size += bytes.length;
  }

  private open(): void {
    this.fd = openLogFile(this.file);
    this.size = fstatSync(this.fd).size;
  }

  private reopen(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Already unusable; we are replacing it.
      }
      this.fd = undefined;
    }
    ensureLogDirectory(this.file);
    this.open();
  }

  /** Rotates; if that fails the live file grows past maxBytes rather than losing records. */
  private rotateOrKeepGoing(): void {
    try {
      this.rotate();
    } catch (error) {
      this.report(new LogFileError(`cannot rotate ${this.file}: ${messageOf(error)}`, this.file, { cause: error }));
      try {
        if (this.fd === undefined) this.reopen();
      } catch {
        // writePending reopens and reports again.
      }
    }
  }

  private rotate(): void {
    closeSync(this.fd as number);
    this.fd = undefined;
    if (this.maxFiles === 1) {
      removeIfPresent(this.file);
    } else {
      const oldest = this.maxFiles - 1;
      if (this.rotatedFiles >= oldest) removeIfPresent(`${this.file}.${oldest}`);
      for (let i = Math.min(this.rotatedFiles, oldest - 1); i >= 1; i--) renameIfPresent(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      renameSync(this.file, `${this.file}.1`);
      this.rotatedFiles = Math.min(this.rotatedFiles + 1, oldest);
    }
    this.open();
  }
}

function lineOf(info: object): string {
  const formatted = (info as { [MESSAGE]?: unknown })[MESSAGE];
  if (typeof formatted === "string") return formatted;
  const { [FLUSH_MARKER]: _marker, ...plain } = info as Record<string | symbol, unknown>;
  return toNdjsonLine(plain);
}

function positiveInteger(value: number, name: string, file: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LogFileError(`log ${file}: ${name} must be a positive integer, got ${value}`, file);
  }
  return value;
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let reported = 0;
/** Default error report: the first failure and then every 1000th, so a full disk does not flood stderr. */
function reportToStderr(error: LogFileError): void {
  if (reported++ % 1000 === 0) process.stderr.write(`macsensor: ${error.message} (${reported} so far)\n`);
}
