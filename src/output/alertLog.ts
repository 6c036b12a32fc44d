/**
 * The alert log: winston with our rotating file transport, one ECS NDJSON line per alert.
 * See docs/alerts.md for the file names and rotation.
 */
import winston from "winston";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { alertLineFormat, DOCUMENT } from "./formats.js";
import { flushLogger } from "./flushMarker.js";
import { LogFileError } from "./logFiles.js";
import { describeEpisode, RotatingFileTransport, type WriteEpisode } from "./rotatingFileTransport.js";
import { registerFlushable } from "./shutdown.js";
import { createStreamAlertSink } from "./streamSink.js";

export interface AlertLogOptions {
  file: string;
  /** Rotate before the live file would exceed this many bytes; default 50 MiB (as the config file's alerts.max_bytes). */
  maxBytes?: number;
  /** Files kept, the live one included; default 10. */
  maxFiles?: number;
  /** Alerts kept in memory while the file cannot be written (disk full); default 10,000 alerts and 8 MiB. */
  spoolMaxAlerts?: number;
  spoolMaxBytes?: number;
  /** The agent's own log, told once when alerts start waiting or being lost, and when writing resumes; default stderr. */
  ops?: EpisodeLog;
  /** Other failures (cannot rotate); default: a line on stderr. */
  onError?: (error: LogFileError) => void;
}

/** What the alert log needs of the agent's log (an OpsLogger is one). */
export interface EpisodeLog {
  log(level: string, message: string, meta: object): unknown;
}

export interface AlertLog {
  /**
   * Queues one alert. Its line is made at once (a snapshot: later changes to the object do not show), and it is
   * on disk when flush() resolves.
   */
  write(alert: EcsEvent): void;
  /**
   * Resolves when every alert written before the call is on disk, or waiting in memory for the disk (spooled),
   * or counted lost. Then accepted = written + spooled + lost.
   */
  flush(): Promise<void>;
  /** Flushes, then closes the file; alerts still waiting are counted lost. Writing after close throws. */
  close(): Promise<void>;
  /** Alerts accepted by write() so far. */
  readonly accepted: number;
  /** Alerts on disk (handed to the stream, for a stream sink). */
  readonly written: number;
  /** Alerts waiting in memory because the file cannot be written now. */
  readonly spooled: number;
  /** Alerts that will never be written. */
  readonly lost: number;
  /** Why alerts were last lost (names the file and the error); undefined while none was. */
  readonly lossCause: string | undefined;
}

/** Opens (creating folder 0750 and file 0640 as needed) the alert log; throws LogFileError if it cannot. */
const passThrough = winston.format((info) => info);

export function createAlertLog(options: AlertLogOptions): AlertLog {
  let lossCause: string | undefined;
  const transport = new RotatingFileTransport({
    file: options.file,
    maxBytes: options.maxBytes,
    maxFiles: options.maxFiles,
    spoolMaxRecords: options.spoolMaxAlerts,
    spoolMaxBytes: options.spoolMaxBytes,
    onError: options.onError,
    onEpisode: (episode) => {
      if (episode.kind !== "spooling" && episode.lost > 0) lossCause = episode.error.message;
      if (options.ops !== undefined) logEpisode(options.ops, episode);
      else process.stderr.write(`macsensor: ${describeEpisode(episode, "alerts")}\n`);
    },
  });
  // The line is made by alertLineFormat in write(); the logger itself must not reformat it (its default is json()).
  const logger = winston.createLogger({ levels: { alert: 0 }, level: "alert", format: passThrough(), transports: [transport], exitOnError: false });
  const format = alertLineFormat();
  let accepted = 0;
  let closing: Promise<void> | undefined;

  const log: AlertLog = {
    write(alert: EcsEvent): void {
      if (closing !== undefined) throw new LogFileError(`alert log ${options.file} is closed`, options.file);
      logger.log(format.transform({ level: "alert", message: "", [DOCUMENT]: alert }) as winston.LogEntry);
      accepted++;
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
    get accepted() {
      return accepted;
    },
    get written() {
      return transport.written;
    },
    get spooled() {
      return transport.spooled;
    },
    get lost() {
      return transport.lost;
    },
    get lossCause() {
      return lossCause ?? (transport.lost > 0 ? `alert log ${options.file} was closed` : undefined);
    },
  };
  const unregister = registerFlushable(log);
  return log;
}

const EPISODE_LEVELS: Record<WriteEpisode["kind"], string> = { spooling: "error", dropping: "error", resumed: "warn", abandoned: "error" };

/** One agent-log record per change: `event.action` alert-log-<kind>, counts under macsensor.alert_log. */
function logEpisode(ops: EpisodeLog, episode: WriteEpisode): void {
  const cause = episode.error.cause instanceof Error ? episode.error.cause : episode.error;
  const level = episode.kind === "resumed" && episode.lost === 0 ? "info" : EPISODE_LEVELS[episode.kind];
  const { kind, file: _file, error: _error, ...counts } = episode;
  ops.log(level, `alert log: ${describeEpisode(episode, "alerts")}`, {
    event: { action: `alert-log-${kind}` },
    file: { path: episode.file },
    error: cause,
    macsensor: { alert_log: counts },
  });
}

/** Alerts as NDJSON on standard output, the same lines as the alert log (replay's default). */
export function createStdoutAlertSink(): AlertLog {
  return createStreamAlertSink(process.stdout, "standard output");
}
