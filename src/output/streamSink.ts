/**
 * Alerts as NDJSON on a stream (standard output for replay): the same lines as the alert log, gathered into
 * chunks of up to 64 KiB and written at the latest on the next turn of the event loop.
 */
import type { Writable } from "node:stream";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import type { AlertLog } from "./alertLog.js";
import { ecsNdjsonLine } from "./formats.js";
import { LogFileError } from "./logFiles.js";
import { registerFlushable } from "./shutdown.js";

const CHUNK_BYTES = 64 * 1024;

/**
 * A sink writing to `stream`. If the stream fails (e.g. EPIPE: the reader went away) later alerts are dropped
 * (counted in `lost`) and `onError` is told once; the process is not brought down.
 */
export function createStreamAlertSink(stream: Writable, name = "stream", onError?: (error: Error) => void): AlertLog {
  // Lines are encoded straight into the chunk buffer: joining strings is slow once one holds non-Latin-1 text.
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let usedRecords = 0;
  let scheduled = false;
  let accepted = 0;
  let written = 0;
  let lost = 0;
  let failure: Error | undefined;
  let failed = false;
  let closing: Promise<void> | undefined;

  stream.on("error", (error: Error) => {
    if (failed) return;
    failed = true;
    failure = error;
    (onError ?? ((e: Error) => process.stderr.write(`macsensor: alerts to ${name}: ${e.message}\n`)))(error);
  });

  const push = (): void => {
    scheduled = false;
    if (used === 0) return;
    // The stream may keep what it is given until written out: hand over a copy of a small chunk, or the whole
    // buffer (and start a new one) when it is mostly full.
    let full: Buffer;
    if (used < CHUNK_BYTES / 4) {
      full = Buffer.from(chunk.subarray(0, used));
    } else {
      full = chunk.subarray(0, used);
      chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    }
    const records = usedRecords;
    used = 0;
    usedRecords = 0;
    handOver(full, records);
  };

  const handOver = (data: Buffer | string, records: number): void => {
    if (failed) {
      lost += records;
      return;
    }
    stream.write(data);
    written += records;
  };

  const flush = async (): Promise<void> => {
    push();
    if (failed || stream.destroyed) return;
    // A write's callback runs after every earlier write has been handed to the OS.
    await new Promise<void>((resolve) => stream.write("", () => resolve()));
  };

  const sink: AlertLog = {
    write(alert: EcsEvent): void {
      if (closing !== undefined) throw new LogFileError(`alert sink ${name} is closed`, name);
      const line = ecsNdjsonLine(alert);
      const bytes = Buffer.byteLength(line, "utf8") + 1;
      accepted++;
      if (used + bytes > CHUNK_BYTES) push();
      if (bytes > CHUNK_BYTES) {
        handOver(`${line}\n`, 1);
        return;
      }
      chunk.write(line, used, "utf8");
      chunk[used + bytes - 1] = 0x0a;
      used += bytes;
      usedRecords++;
      if (!scheduled) {
        scheduled = true;
        setImmediate(push);
      }
    },
    flush,
    close(): Promise<void> {
      closing ??= flush().then(() => unregister());
      return closing;
    },
    get accepted() {
      return accepted;
    },
    get written() {
      return written;
    },
    spooled: 0,
    get lost() {
      return lost;
    },
    get lossCause() {
      return failure === undefined || lost === 0 ? undefined : `${name}: ${failure.message}`;
    },
  };
  const unregister = registerFlushable(sink);
  return sink;
}
