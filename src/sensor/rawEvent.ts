/**
 * The raw event contract: what every backend (Linux process connector, Endpoint Security, eslogger, replay)
 * hands to the ECS mapper. One shape for all sources; the C++ twin is native/common/raw_event.h.
 *
 * Text that came from the kernel is a string when its bytes were valid UTF-8, and the exact bytes
 * (a Uint8Array) otherwise, so nothing is lost before the mapper decides how to show it.
 */
export type RawText = string | Uint8Array;

/** Process life (exec, fork, exit) and file events (the rest; the file is in `RawEvent.file`). */
export type RawEventKind = ProcessEventKind | FileEventKind;

export type ProcessEventKind = "exec" | "fork" | "exit";

/** open; create (a new file); modify (closed after being written); rename; delete (unlink). */
export type FileEventKind = "open" | "create" | "modify" | "rename" | "delete";

export const FILE_EVENT_KINDS: readonly FileEventKind[] = ["open", "create", "modify", "rename", "delete"];

/** `RawFile.openFlags` bits: FREAD and FWRITE as macOS's fflag; Linux backends map O_ACCMODE onto them. */
export const RAW_OPEN_READ = 0x1;
export const RAW_OPEN_WRITE = 0x2;

/** The file a file event is about. */
export interface RawFile {
  /** The file's path; after a rename, the destination. */
  path: RawText;
  pathTruncated?: boolean;
  /** rename: the source path. */
  originalPath?: RawText;
  originalPathTruncated?: boolean;
  /** open: RAW_OPEN_READ | RAW_OPEN_WRITE. */
  openFlags?: number;
}

export type RawEventSource = "linux" | "es" | "eslogger" | "replay";

/** Apple audit token fields (libbsm accessors). */
export interface RawAuditToken {
  pid: number;
  pidversion: number;
  euid: number;
  ruid: number;
  egid: number;
  rgid: number;
  auid?: number;
  asid?: number;
}

/** Code-signing facts from Endpoint Security (macOS only). */
export interface RawCodeSignature {
  signingId?: string;
  teamId?: string;
  /** Code directory hash as lower-case hex. */
  cdhash?: string;
  /** CS_* flags from <kern/cs_blobs.h>. */
  flags?: number;
  platformBinary?: boolean;
}

/** Present on an AUTH_EXEC event: the agent must answer through the backend before deadlineMs (epoch ms). */
export interface RawAuthRequest {
  id: number;
  deadlineMs: number;
}

export interface RawEvent {
  source: RawEventSource;
  kind: RawEventKind;
  /** Per-backend sequence number, +1 per event; a gap means events were dropped. */
  seq: number;
  /** When the event happened, epoch milliseconds. */
  time: number;
  /**
   * When the kernel stamped the event, epoch milliseconds, where the source gives it (Linux: the process
   * connector's monotonic timestamp mapped to the wall clock); `time` is then when the backend read it.
   */
  kernelTime?: number;

  pid: number;
  ppid?: number;
  originalPpid?: number;
  pgid?: number;
  sid?: number;
  uid?: number;
  euid?: number;
  gid?: number;
  egid?: number;

  executable?: RawText;
  executableTruncated?: boolean;
  /** argv as passed, each argument's exact bytes; args[0] is not a resolved path. */
  args?: RawText[];
  argsTruncated?: boolean;
  /** Only environment variables whose names were configured for capture, as NAME=value. */
  env?: RawText[];
  cwd?: RawText;
  tty?: RawText;
  /** Script file when a script was exec'd directly (macOS, message v2+). */
  script?: RawText;
  /** Process start (fork) time, epoch milliseconds. */
  startTime?: number;
  /** exit: the wait(2) status word. */
  exitStatus?: number;

  codeSignature?: RawCodeSignature;
  auditToken?: RawAuditToken;
  parentAuditToken?: RawAuditToken;
  responsibleAuditToken?: RawAuditToken;
  /** macOS: Endpoint Security message version. */
  messageVersion?: number;

  /** File events only: the file; the acting process is `pid` (and the process fields the backend has). */
  file?: RawFile;

  /** Set when the event could not be read whole (e.g. the process exited before /proc was read): says what is missing. */
  partial?: string;
  /** Set on AUTH events only (AUTH_EXEC; AUTH_OPEN / a fanotify permission event for `open`). */
  auth?: RawAuthRequest;
}
