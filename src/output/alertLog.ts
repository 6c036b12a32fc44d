/**
 * The alert log: winston with our rotating file transport, one ECS NDJSON line per alert.
 * See README "## Alerts" for the file names and rotation.
 */
import winston from "winston";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { alertLineFormat, DOCUMENT } from "./formats.js";
import { flushLogger } from "./flushMarker.js";
import { LogFileError } from "./logFiles.js";
import { RotatingFileTransport } from "./rotatingFileTransport.js";
import { registerFlushable } from "./shutdown.js";
import { createStreamAlertSink } from "./streamSink.js";

export interface AlertLogOptions {
  file: string;
  /** Rotate before the live file would exceed this many bytes; default 50 MiB (as the config file's alerts.max_bytes). */
  maxBytes?: number;
  /** Files kept, the live one included; default 10. */
  maxFiles?: number;
  /** Called when an alert cannot be written even after reopening the file; default: a line on stderr. */
  onError?: (error: LogFileError) => void;
}

export interface AlertLog {
  /**
   * Queues one alert. Its line is made at once (a snapshot: later changes to the object do not show), and it is
   * on disk when flush() resolves.
   */
  write(alert: EcsEvent): void;
  /** Resolves when every alert written before the call is on disk (or reported lost). */
  flush(): Promise<void>;
  /** Flushes, then closes the file. Writing after close throws. */
  close(): Promise<void>;
  /** Alerts accepted by write() so far. */
  readonly written: number;
}

/** Opens (creating folder 0750 and file 0640 as needed) the alert log; throws LogFileError if it cannot. */
const passThrough = winston.format((info) => info);

export function createAlertLog(options: AlertLogOptions): AlertLog {
  const transport = new RotatingFileTransport({
    file: options.file,
    maxBytes: options.maxBytes,
    maxFiles: options.maxFiles,
    onError: options.onError,
  });
  // The line is made by alertLineFormat in write(); the logger itself must not reformat it (its default is json()).
  const logger = winston.createLogger({ levels: { alert: 0 }, level: "alert", format: passThrough(), transports: [transport], exitOnError: false });
  const format = alertLineFormat();
  let written = 0;
  let closing: Promise<void> | undefined;

  const log: AlertLog = {
    write(alert: EcsEvent): void {
      if (closing !== undefined) throw new LogFileError(`alert log ${options.file} is closed`, options.file);
      logger.log(format.transform({ level: "alert", message: "", [DOCUMENT]: alert }) as winston.LogEntry);
      written++;
    },
    flush: () => flushLogger(logger),
    close(): Promise<void> {
      closing ??= (async () => {
        await flushLogger(logger);
        unregister();
        transport.close();
        logger.close();
      })();
      return closing;
    },
    get written() {
      return written;
    },
  };
  const unregister = registerFlushable(log);
  return log;
}

/** Alerts as NDJSON on standard output, the same lines as the alert log (replay's default). */
export function createStdoutAlertSink(): AlertLog {
  return createStreamAlertSink(process.stdout, "standard output");
}
