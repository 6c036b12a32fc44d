/** Where the logs live and how their folder and files are created (folder 0750, files 0640, whatever the umask). */
import { chmodSync, closeSync, constants, fchmodSync, mkdirSync, openSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MacsensorError } from "../errors.js";

export const LOG_DIR_MODE = 0o750;
export const LOG_FILE_MODE = 0o640;

/** A log file or folder that cannot be created, opened or written. */
export class LogFileError extends MacsensorError {
  override name = "LogFileError";
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

export function defaultLogDirectory(platform: NodeJS.Platform = process.platform): string {
  return platform === "darwin" ? "/Library/Logs/macsensor" : "/var/log/macsensor";
}

/** `/Library/Logs/macsensor/alerts.ndjson` on macOS, `/var/log/macsensor/alerts.ndjson` elsewhere. */
export function defaultAlertLogPath(platform: NodeJS.Platform = process.platform): string {
  return join(defaultLogDirectory(platform), "alerts.ndjson");
}

/** `/Library/Logs/macsensor/macsensor.log` on macOS, `/var/log/macsensor/macsensor.log` elsewhere. */
export function defaultOpsLogPath(platform: NodeJS.Platform = process.platform): string {
  return join(defaultLogDirectory(platform), "macsensor.log");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates the folder holding `file` (and any missing parents), each new folder with mode 0750. */
export function ensureLogDirectory(file: string): void {
  const dir = dirname(resolve(file));
  let firstCreated: string | undefined;
  try {
    firstCreated = mkdirSync(dir, { recursive: true, mode: LOG_DIR_MODE });
  } catch (error) {
    throw new LogFileError(`cannot create log folder ${dir}: ${describe(error)}`, dir, { cause: error });
  }
  if (firstCreated === undefined) return;
  // mkdir's mode is cut by the umask; set it exactly on every folder we created, deepest first.
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, LOG_DIR_MODE);
    if (d === firstCreated || d === dirname(d)) break;
  }
}

const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);

/**
 * Opens `file` for appending and returns its descriptor. A new file gets mode 0640 exactly; an existing one keeps
 * its mode. A symbolic link is refused (a root daemon must not be redirected to another file).
 */
export function openLogFile(file: string): number {
  try {
    const fd = openSync(file, APPEND_FLAGS | constants.O_CREAT | constants.O_EXCL, LOG_FILE_MODE);
    try {
      fchmodSync(fd, LOG_FILE_MODE);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new LogFileError(`cannot create log file ${file}: ${describe(error)}`, file, { cause: error });
    }
  }
  try {
    return openSync(file, APPEND_FLAGS);
  } catch (error) {
    throw new LogFileError(`cannot open log file ${file}: ${describe(error)}`, file, { cause: error });
  }
}
