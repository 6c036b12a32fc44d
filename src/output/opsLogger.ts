/**
 * The agent's own log (start, rules loaded and skipped, errors, heartbeats): ECS NDJSON in its own rotated file,
 * and a readable line per record on stderr when run interactively.
 *
 *   logger.info("rules loaded", { macsensor: { rules: { loaded: 12, skipped: 3 } } });
 *   logger.error("cannot read rule file", { error });   // an Error becomes error.{type,message,stack_trace}
 */
import winston from "winston";
import { flushLogger } from "./flushMarker.js";
import { consoleLineFormat, opsLineFormat } from "./formats.js";
import { defaultOpsLogPath, type LogFileError } from "./logFiles.js";
import { RotatingFileTransport } from "./rotatingFileTransport.js";
import { registerFlushable } from "./shutdown.js";

export interface OpsLoggerOptions {
  /** Log file; default `defaultOpsLogPath()`; false for none. */
  file?: string | false;
  /** Also print to stderr; default: when stderr is a terminal. */
  console?: boolean;
  /** Lowest level logged (winston npm levels: error, warn, info, http, verbose, debug, silly); default info. */
  level?: string;
  /** Rotation of the file; default 10 MiB × 5 files. */
  maxBytes?: number;
  maxFiles?: number;
  onError?: (error: LogFileError) => void;
}

export type OpsLogger = winston.Logger;

/** Creates the agent's logger; flushed with the alert logs on SIGTERM/SIGINT (see shutdown.ts). */
export function createOpsLogger(options: OpsLoggerOptions = {}): OpsLogger {
  const transports: winston.transport[] = [];
  if (options.file !== false) {
    transports.push(
      new RotatingFileTransport({
        file: options.file ?? defaultOpsLogPath(),
        maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
        maxFiles: options.maxFiles ?? 5,
        onError: options.onError,
      }),
    );
  }
  if (options.console ?? process.stderr.isTTY === true) {
    transports.push(new winston.transports.Console({ format: consoleLineFormat(), stderrLevels: Object.keys(winston.config.npm.levels) }));
  }
  const logger = winston.createLogger({
    level: options.level ?? "info",
    format: opsLineFormat(),
    transports,
    exitOnError: false,
    silent: transports.length === 0,
  });
  const unregister = registerFlushable({ flush: () => flushLogger(logger) });
  logger.once("finish", () => {
    unregister();
    for (const transport of transports) if (transport instanceof RotatingFileTransport) transport.close();
  });
  return logger;
}

/** Resolves when every record logged before the call is in the log file. */
export function flushOpsLogger(logger: OpsLogger): Promise<void> {
  return flushLogger(logger);
}

/**
 * Logs `heartbeat` with the current counts (under macsensor.counts), and what `details` adds beside them under
 * macsensor, every `intervalMs`; the timer does not keep the process alive. Returns the function that stops it.
 */
export function startHeartbeat(
  logger: OpsLogger,
  counts: () => Record<string, number>,
  intervalMs = 60_000,
  details: () => Record<string, unknown> = () => ({}),
): () => void {
  const timer = setInterval(() => {
    logger.info("heartbeat", { event: { action: "heartbeat" }, macsensor: { counts: counts(), ...details() } });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
