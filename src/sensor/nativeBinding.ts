/**
 * The addon's JavaScript surface (native/common/addon.cc), as the TypeScript side sees it. Members a platform
 * does not build are absent: check before calling (e.g. `binding.startLinux` only exists on Linux).
 */
import type { EventRelevanceSpec } from "./backend.js";
import type { FilePrefilterSpec } from "./esPrefilter.js";
import type { RawEvent, RawEventKind, RawText } from "./rawEvent.js";

export interface LinuxStartOptions {
  /** Events held between the reader thread and JavaScript; when full, new events are dropped and counted. Default 16384. */
  queueCapacity?: number;
  /** Most events handed to the callback in one call. Default 512. */
  batchMax?: number;
  /** Events about these pids are not reported (e.g. the agent's own). */
  ignorePids?: number[];
  /** Netlink socket receive buffer in bytes (absorbs bursts). Default 8 MiB. */
  rcvbufBytes?: number;
  /**
   * How long (ms, 0..60000) events no rule needs at once — forks, exits, and execs that setRelevance rules out —
   * may wait before JavaScript is woken for them; they then come in order with the next batch. The others wake
   * it at once. Default 50; 0 wakes JavaScript for every event.
   */
  holdMs?: number;
}

/** Counters of a Linux session; `dropped` = queueDropped + socketOverruns, and equals the gaps in `seq`. */
export interface NativeLinuxStats {
  /** Process fork/exec/exit messages from the kernel (threads excluded), ignored ones included. */
  received: number;
  /** Events handed to the JavaScript callback. */
  delivered: number;
  dropped: number;
  queueHighWater: number;
  /** Events refused because the queue was full. */
  queueDropped: number;
  /** Times the kernel reported its socket buffer overflowed (ENOBUFS); each stands for at least one lost event. */
  socketOverruns: number;
  ignored: number;
  /** Events delivered with `partial` set. */
  partial: number;
  /** Events waiting in the queue now. */
  queued: number;
  /** Callback invocations. */
  batches: number;
  /** Queued events never delivered: stopped without a drain (GC, teardown) or the callback threw during stop. */
  discarded: number;
  /** The last sequence number used (delivered, queued or dropped). */
  lastSeq: number;
  /** Of `received`, execs. */
  execsReceived: number;
  /**
   * Mean and largest delay from the kernel's exec timestamp to the reader thread's read, in µs (execs only:
   * forks and exits wait for the next exec on purpose, see LinuxStartOptions.holdMs).
   */
  kernelToReadUsMean: number;
  kernelToReadUsMax: number;
}

export interface NativeLinuxHandle {
  /** Stops the reader thread, hands what is still queued to the callback (synchronously), returns final counters. */
  stop(): NativeLinuxStats;
  stats(): NativeLinuxStats;
  /** The reader thread's fatal socket error, if it stopped on one. */
  lastError(): string | undefined;
  /** Which events wake JavaScript at once; the rest wait up to holdMs (LinuxStartOptions). */
  setRelevance(relevance: EventRelevanceSpec): void;
}

export interface FanotifyStartOptions {
  /** A path on each filesystem to watch (FAN_MARK_FILESYSTEM). Default ["/"]. */
  roots?: string[];
  /** File kinds to report at start; setKinds changes them. Default all five. Process kinds are skipped. */
  kinds?: RawEventKind[];
  /** Files, or directories guarding their children, whose opens wait for respond() (FAN_OPEN_PERM). */
  guardPaths?: string[];
  /** How long (ms) a guarded open waits for respond() before the reader answers it. Default 2000. */
  authBudgetMs?: number;
  /** What the reader answers when the budget runs out or the queue is full: deny (true) or allow. Default false. */
  denyOnTimeout?: boolean;
  /** Never reported; their guarded opens are always allowed (the agent's own pid goes here). */
  ignorePids?: number[];
  queueCapacity?: number;
  batchMax?: number;
  /**
   * While events keep coming, create/open/modify/rename/delete are read at most this often (ms), a few hundred at a
   * time; an event after a quiet spell is read at once. Default 5; 0 reads each as it comes.
   */
  readIntervalMs?: number;
}

/** Counters of a fanotify session; `dropped` = queueDropped + kernelOverflows. */
export interface NativeFanotifyStats {
  received: number;
  delivered: number;
  dropped: number;
  queueHighWater: number;
  queueDropped: number;
  /** FAN_Q_OVERFLOW events: the kernel's queue overflowed and lost events. */
  kernelOverflows: number;
  ignored: number;
  /** Events delivered with `partial` set (path or executable unreadable, e.g. a process already gone). */
  unresolved: number;
  queued: number;
  batches: number;
  discarded: number;
  lastSeq: number;
  /** Permission events answered at once on the reader thread: not a guarded path, or an ignored pid. */
  permAllowedNative: number;
  authRequests: number;
  authAnsweredJs: number;
  authAnsweredWatchdog: number;
  /** Answered by the reader because the queue was full, or allowed at stop. */
  authAnsweredNative: number;
  authLate: number;
  authDenied: number;
  /** File events no rule's path condition can match, dropped before the queue (not losses). */
  pathFiltered: number;
}

export type FanotifyRespondStatus = "answered" | "late" | "unknown";

export interface NativeFanotifyHandle {
  stop(): NativeFanotifyStats;
  stats(): NativeFanotifyStats;
  lastError(): string | undefined;
  setKinds(kinds: RawEventKind[]): void;
  /** File events whose path (or a rename's original path) fails the spec are counted (pathFiltered), never queued. */
  setPathFilter(spec: FilePrefilterSpec | null): void;
  respond(authId: number, allow: boolean): FanotifyRespondStatus;
  /**
   * Holds, besides guardPaths, the opens of children of `dirs` and of anything on the filesystems of `filesystems`
   * whose path passes `filter` (null: none); replaces the previous call's. Returns why each refused mark failed.
   */
  setGuards(guards: FanotifyGuards): string[];
}

export interface FanotifyGuards {
  dirs: string[];
  filesystems: string[];
  filter: FilePrefilterSpec | null;
}

export interface NativeBinding {
  /** Bumped when this surface changes incompatibly. */
  abiVersion: number;
  /** "linux" when the Linux backend is built in. */
  platform?: string;
  startLinux?(options: LinuxStartOptions, onEvents: (events: RawEvent[]) => void): NativeLinuxHandle;
  stopLinux?(handle: NativeLinuxHandle): NativeLinuxStats;
  linuxStats?(handle: NativeLinuxHandle): NativeLinuxStats;
  /**
   * What /proc/<pid> says now, parsed exactly as the backend parses it on exec: an exec event with seq 0 and
   * `partial` naming what could not be read. For seeding a process table at start-up.
   */
  readLinuxProcess?(pid: number): RawEvent;
  /** Linux, root: file events from fanotify (native/common/fanotify_binding.cc). */
  startFanotify?(options: FanotifyStartOptions, onEvents: (events: RawEvent[]) => void): NativeFanotifyHandle;
  /** Parses a KERN_PROCARGS2 buffer (exec path, argv, optionally the environment); every platform. */
  parseProcArgs?(bytes: Uint8Array, options?: { env?: boolean }): { argc: number; execPath?: RawText; args: RawText[]; argsTruncated?: true; env?: RawText[]; problem?: string };
  /** macOS: every running process as an exec-like record (sysctl KERN_PROC_ALL + KERN_PROCARGS2), oldest first. */
  listProcesses?(options?: { captureEnv?: string[] }): RawEvent[];
  // The macOS Endpoint Security members (registered under MACSENSOR_WITH_ES) are typed by src/sensor/esBackend.ts.
}
