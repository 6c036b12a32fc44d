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
 * and `onError` is told once; the process is not brought down.
 */
export function createStreamAlertSink(stream: Writable, name = "stream", onError?: (error: Error) => void): AlertLog {
  let pending: string[] = [];
  let pendingLength = 0;
  let scheduled = false;
  let written = 0;
  let failed = false;
  let closing: Promise<void> | undefined;

  stream.on("error", (error: Error) => {
    if (failed) return;
    failed = true;
    (onError ?? ((e: Error) => process.stderr.write(`macsensor: alerts to ${name}: ${e.message}\n`)))(error);
  });

  const push = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join("");
    pending = [];
    pendingLength = 0;
    if (!failed) stream.write(chunk);
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
      const line = `${ecsNdjsonLine(alert)}\n`;
      pending.push(line);
      pendingLength += line.length;
      written++;
      if (pendingLength >= CHUNK_BYTES) push();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(push);
      }
    },
    flush,
    close(): Promise<void> {
      closing ??= flush().then(() => unregister());
      return closing;
    },
    get written() {
      return written;
    },
  };
  const unregister = registerFlushable(sink);
  return sink;
}
