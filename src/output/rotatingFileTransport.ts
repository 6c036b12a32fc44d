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
 * When a write fails (disk full, quota, I/O error) the file is cut back to its last whole line, so a line is never
 * torn and nothing is appended to a fragment; the records not written wait, in order, in a bounded memory spool
 * (recordSpool.ts) and are written once the file can be written again: retried on a timer with back-off, at each
 * new record, and at flush and close. What the spool cannot hold is counted in `lost`. Each such stretch is told
 * once when it begins, once if records start being lost, and once when it ends (onEpisode), never per record.
 *
 * Naming: `alerts.ndjson` is always the live file; on rotation it becomes `alerts.ndjson.1`, `.1` becomes `.2`,
 * and so on; at most `maxFiles` files exist (the live one included), the oldest is deleted whole. A file never
 * exceeds `maxBytes` unless a single record is larger (then that record is alone in its file, never split).
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, renameSync, unlinkSync, writeSync } from "node:fs";
import TransportStream from "winston-transport";
import { FLUSH_MARKER, flushMarkerOf } from "./flushMarker.js";
import { toNdjsonLine } from "./ndjson.js";
import { ensureLogDirectory, LogFileError, openLogFile } from "./logFiles.js";
import { DEFAULT_SPOOL_MAX_BYTES, DEFAULT_SPOOL_MAX_RECORDS, RecordSpool } from "./recordSpool.js";

const MESSAGE = Symbol.for("message");
const BATCH_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
/** Retry delays while the file cannot be written: doubled after each failed retry, back to the least on progress. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/** The calls on the write path, replaceable so that tests can fail them (partial writes, ENOSPC) without root. */
export interface FileIo {
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
  fstatSync(fd: number): { size: number; nlink: number; ino: number };
  ftruncateSync(fd: number, length: number): void;
}

const SYSTEM_IO: FileIo = { writeSync, fstatSync, ftruncateSync };

/**
 * A stretch of time in which the file could not be written (disk full, quota, I/O error, folder gone), told once
 * at each change rather than once per record:
 * - `spooling`: the first failed write; records now wait in memory (`spooled` of them so far).
 * - `dropping`: the spool is full; the oldest waiting records are being lost (`lost` so far in this episode).
 * - `resumed`: everything waiting is written; `writtenLate` records waited, `lost` were dropped.
 * - `abandoned`: the log was closed with `lost` records still waiting; they are lost.
 * `error` is the failure that began the episode (its message names the file and the errno).
 */
export type WriteEpisode =
  | { kind: "spooling"; file: string; error: LogFileError; spooled: number }
  | { kind: "dropping"; file: string; error: LogFileError; lost: number }
  | { kind: "resumed"; file: string; error: LogFileError; writtenLate: number; lost: number; seconds: number }
  | { kind: "abandoned"; file: string; error: LogFileError; writtenLate: number; lost: number };

export interface RotatingFileOptions {
  file: string;
  /** Rotate before a record would make the live file larger than this; default 50 MiB. */
  maxBytes?: number;
  /** Files kept, the live one included; default 10. */
  maxFiles?: number;
  /** Lowest winston level written (default: the logger's). */
  level?: string;
  /** Records kept in memory while the file cannot be written; default 10,000 records and 8 MiB. */
  spoolMaxRecords?: number;
  spoolMaxBytes?: number;
  /** Other failures (cannot rotate, written after close); default: a line on stderr. */
  onError?: (error: LogFileError) => void;
  /** Start, losses and end of each stretch the file cannot be written; default: a line on stderr for each. */
  onEpisode?: (episode: WriteEpisode) => void;
  /** Replaces the write-path system calls (tests). */
  io?: FileIo;
}

export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 10;

interface Episode {
  error: LogFileError;
  started: number;
  writtenLate: number;
  lost: number;
  dropping: boolean;
}

interface AppendResult {
  /** Bytes of the data now in the file: all, or after a failure the whole lines written before it. */
  kept: number;
  error?: unknown;
}

export class RotatingFileTransport extends TransportStream {
  readonly acknowledgesFlushMarkers = true;
  readonly file: string;
  readonly maxBytes: number;
  readonly maxFiles: number;
  /** Records in the file (counted when written, not when added). */
  written = 0;
  /** Records that will never be written: dropped from a full spool, still waiting at close, or added after close. */
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
  /** Set while the file cannot be written; records then wait in `spool`, in order, behind any already there. */
  private episode: Episode | undefined;
  private readonly spool: RecordSpool;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  /** A rollback that failed: the file (inode) still has a torn tail past `size`, cut before anything else is written. */
  private tornTail: { ino: number; size: number } | undefined;
  private readonly io: FileIo;
  private readonly onError: (error: LogFileError) => void;
  private readonly onEpisode: (episode: WriteEpisode) => void;
  private readonly writeScheduled = (): void => {
    this.scheduled = false;
    if (this.episode !== undefined) this.drain();
    else this.writePending();
  };

  constructor(options: RotatingFileOptions) {
    super({ level: options.level });
    this.file = options.file;
    this.maxBytes = positiveInteger(options.maxBytes ?? DEFAULT_MAX_BYTES, "maxBytes", options.file);
    this.maxFiles = positiveInteger(options.maxFiles ?? DEFAULT_MAX_FILES, "maxFiles", options.file);
    this.spool = new RecordSpool(
      positiveInteger(options.spoolMaxRecords ?? DEFAULT_SPOOL_MAX_RECORDS, "spoolMaxRecords", options.file),
      positiveInteger(options.spoolMaxBytes ?? DEFAULT_SPOOL_MAX_BYTES, "spoolMaxBytes", options.file),
    );
    this.io = options.io ?? SYSTEM_IO;
    this.onError = options.onError ?? reportToStderr;
    this.onEpisode = options.onEpisode ?? ((episode) => process.stderr.write(`macsensor: ${describeEpisode(episode)}\n`));
    ensureLogDirectory(this.file);
    this.open();
    while (this.rotatedFiles < this.maxFiles - 1 && existsSync(`${this.file}.${this.rotatedFiles + 1}`)) this.rotatedFiles++;
  }

  /** Records waiting in memory for the file to be writable again. */
  get spooled(): number {
    return this.spool.count;
  }

  override log(info: object, next: () => void): void {
    const marker = flushMarkerOf(info);
    if (marker !== undefined) {
      this.writePending();
      if (this.episode !== undefined) this.drain();
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
    if (this.episode === undefined) {
      const used = this.size + this.pendingBytes;
      if (used > 0 && used + bytes > this.maxBytes) {
        this.writePending();
        if (this.episode === undefined) this.rotateOrKeepGoing();
      }
      if (this.pendingBytes + bytes > BATCH_BYTES) this.writePending();
    }
    if (this.episode !== undefined) {
      // Behind the records already waiting; a retry is made at the end of this turn.
      this.spoolRecord(Buffer.from(`${text}\n`, "utf8"));
      this.schedule();
      return;
    }
    if (bytes > BATCH_BYTES) {
      this.writeOut(Buffer.from(`${text}\n`, "utf8"), 1);
      return;
    }
    this.batch.write(text, this.pendingBytes, "utf8");
    this.batch[this.pendingBytes + bytes - 1] = NEWLINE;
    this.pendingBytes += bytes;
    this.pendingRecords++;
    this.schedule();
  }

  /** Writes the gathered records now (while the file cannot be written, there are none: records go to the spool). */
  writePending(): void {
    if (this.pendingRecords === 0) return;
    const records = this.pendingRecords;
    const data = this.batch.subarray(0, this.pendingBytes);
    this.pendingBytes = 0;
    this.pendingRecords = 0;
    this.writeOut(data, records);
  }

  override close(): void {
    if (this.shut) return;
    this.writePending();
    if (this.episode !== undefined) this.drain();
    this.shut = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const episode = this.episode;
    if (episode !== undefined && this.spool.count > 0) {
      const abandoned = this.spool.clear();
      this.lost += abandoned;
      episode.lost += abandoned;
      this.tell({ kind: "abandoned", file: this.file, error: episode.error, writtenLate: episode.writtenLate, lost: episode.lost });
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.writeScheduled);
    }
  }

  /** Writes `records` whole lines (the normal path); what does not reach the file starts an episode and waits. */
  private writeOut(data: Buffer, records: number): void {
    const { kept, error } = this.append(data);
    if (error === undefined) {
      this.written += records;
      return;
    }
    this.written += countLines(data, kept);
    this.episode = { error: failure(this.file, error), started: Date.now(), writtenLate: 0, lost: 0, dropping: false };
    // The batch buffer is reused: each waiting record gets its own copy.
    for (let from = kept; from < data.length; ) {
      const end = data.indexOf(NEWLINE, from) + 1;
      this.spoolRecord(Buffer.from(data.subarray(from, end)), false);
      from = end;
    }
    this.tell({ kind: "spooling", file: this.file, error: this.episode.error, spooled: this.spool.count });
    this.tellDroppingOnce();
    this.retryLater(false);
  }

  /** Writes waiting records, oldest first, rotating as usual; ends the episode once none is left. */
  private drain(): void {
    const episode = this.episode;
    if (episode === undefined) return;
    let progressed = false;
    while (this.spool.count > 0) {
      const first = this.spool.peek(0);
      if (this.size > 0 && this.size + first.length > this.maxBytes) this.rotateOrKeepGoing();
      let data: Buffer;
      let records = 0;
      if (first.length > BATCH_BYTES) {
        data = first;
        records = 1;
      } else {
        let used = 0;
        while (records < this.spool.count) {
          const record = this.spool.peek(records);
          if (used + record.length > BATCH_BYTES || (used > 0 && this.size + used + record.length > this.maxBytes)) break;
          record.copy(this.batch, used);
          used += record.length;
          records++;
        }
        data = this.batch.subarray(0, used);
      }
      const { kept, error } = this.append(data);
      const keptRecords = error === undefined ? records : countLines(data, kept);
      this.spool.shift(keptRecords);
      this.written += keptRecords;
      episode.writtenLate += keptRecords;
      if (keptRecords > 0) progressed = true;
      if (error !== undefined) {
        this.retryLater(progressed);
        return;
      }
    }
    // Only a write that worked ends an episode (the spool can be empty after dropping a record too large for it).
    if (!progressed) return;
    this.episode = undefined;
    this.retryDelay = RETRY_MIN_MS;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const seconds = Math.round((Date.now() - episode.started) / 100) / 10;
    this.tell({ kind: "resumed", file: this.file, error: episode.error, writtenLate: episode.writtenLate, lost: episode.lost, seconds });
  }

  /** Puts a record behind those waiting; what the full spool drops is lost (told at once unless `tell` is false). */
  private spoolRecord(record: Buffer, tell = true): void {
    const dropped = this.spool.push(record);
    if (dropped === 0) return;
    this.lost += dropped;
    (this.episode as Episode).lost += dropped;
    if (tell) this.tellDroppingOnce();
  }

  private tellDroppingOnce(): void {
    const episode = this.episode as Episode;
    if (episode.lost === 0 || episode.dropping) return;
    episode.dropping = true;
    this.tell({ kind: "dropping", file: this.file, error: episode.error, lost: episode.lost });
  }

  /** Retries on a timer (that does not keep the process alive): soon after progress, later after each failure. */
  private retryLater(progressed: boolean): void {
    this.retryDelay = progressed ? RETRY_MIN_MS : Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    if (this.retryTimer !== undefined || this.shut) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drain();
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  /**
   * Appends `data` (whole lines). A failure leaves only whole lines in the file: what was written of a line cut
   * short is truncated away again, so nothing is ever appended to a fragment.
   */
  private append(data: Buffer): AppendResult {
    const first = this.appendOnce(data);
    if (first.error === undefined || isOutOfSpace(first.error)) return first;
    // The folder or file may have been removed under us, or the descriptor gone bad: reopen once and retry the rest.
    try {
      this.reopen();
    } catch (error) {
      return { kept: first.kept, error };
    }
    const second = this.appendOnce(data.subarray(first.kept));
    return { kept: first.kept + second.kept, error: second.error };
  }

  private appendOnce(data: Buffer): AppendResult {
    let fd: number;
    let start: number;
    try {
      if (this.fd === undefined) this.open();
      fd = this.fd as number;
      let stat = this.io.fstatSync(fd);
      // A live file deleted under us (by hand, or to hide alerts) would swallow every later line: start a new one.
      if (stat.nlink === 0) {
        this.reopen();
        fd = this.fd as number;
        stat = this.io.fstatSync(fd);
      }
      start = stat.size;
      if (this.tornTail !== undefined) {
        if (this.tornTail.ino === stat.ino && start > this.tornTail.size) {
          this.io.ftruncateSync(fd, this.tornTail.size);
          start = this.tornTail.size;
        }
        this.tornTail = undefined;
      }
    } catch (error) {
      return { kept: 0, error };
    }
    let offset = 0;
    try {
      while (offset < data.length) offset += this.io.writeSync(fd, data, offset, data.length - offset);
      this.size = start + data.length;
      return { kept: data.length };
    } catch (error) {
      const kept = offset === 0 ? 0 : data.lastIndexOf(NEWLINE, offset - 1) + 1;
      this.size = start + kept;
      if (offset > kept) this.rollBack(fd, start + kept);
      return { kept, error };
    }
  }

  /** Cuts a line written in part; if even that fails, it is cut before the next write to this file. */
  private rollBack(fd: number, size: number): void {
    try {
      this.io.ftruncateSync(fd, size);
    } catch {
      try {
        this.tornTail = { ino: this.io.fstatSync(fd).ino, size };
      } catch {
        // The descriptor is unusable; the next write reopens the file and checks nothing.
      }
    }
  }

  /** Tells onEpisode; a throwing handler must not take the writer (and the agent) down. */
  private tell(episode: WriteEpisode): void {
    try {
      this.onEpisode(episode);
    } catch {
      // The counts (written, spooled, lost) still say it.
    }
  }

  /** Tells onError; a throwing handler must not take the writer (and the agent) down. */
  private report(error: LogFileError): void {
    try {
      this.onError(error);
    } catch {
      // Nothing better to do: the record count in `lost` still says it.
    }
  }

  private open(): void {
    this.fd = openLogFile(this.file);
    this.size = this.io.fstatSync(this.fd).size;
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
        // The next write reopens and, failing, spools.
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

/** One sentence for a person, naming the file and the cause; `noun` is what the records are ("alerts"). */
export function describeEpisode(episode: WriteEpisode, noun = "records"): string {
  const cause = episode.error.message;
  switch (episode.kind) {
    case "spooling":
      return `${cause}; ${noun} wait in memory until it can be written again (${episode.spooled} waiting)`;
    case "dropping":
      return `${episode.file} still cannot be written and the memory spool is full: the oldest waiting ${noun} are being lost (cause: ${cause})`;
    case "resumed":
      return `${episode.file} is written again after ${episode.seconds} s: ${episode.writtenLate} ${noun} written late, ${episode.lost} lost (cause: ${cause})`;
    case "abandoned":
      return `${episode.file} closed with ${noun} that could not be written: ${episode.lost} lost, ${episode.writtenLate} written late (cause: ${cause})`;
  }
}

/** Records in data[0, end): its newlines. */
function countLines(data: Buffer, end: number): number {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i !== -1 && i < end; i = data.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** Space will not come back by reopening the file: wait instead. */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
}

function failure(file: string, error: unknown): LogFileError {
  if (error instanceof LogFileError) return error;
  return new LogFileError(`cannot write to ${file}: ${messageOf(error)}`, file, { cause: error });
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
/** Default error report: the first failure and then every 1000th, so a failing rotation does not flood stderr. */
function reportToStderr(error: LogFileError): void {
  if (reported++ % 1000 === 0) process.stderr.write(`macsensor: ${error.message} (${reported} so far)\n`);
}
