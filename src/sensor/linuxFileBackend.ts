/** File events on Linux: fanotify through the native addon (root only), guarded opens answered through respond. */
import { MacsensorError } from "../errors.js";
import type { SensorContext } from "../agent/eventRelevance.js";
import type { BackendStats, EventRelevanceSpec, FileGuardReport, SensorBackend } from "./backend.js";
import { hostGuardFacts, planFileGuards, type GuardedRule, type GuardFacts } from "./fileGuards.js";
import { loadNative } from "./native.js";
import { ignoredPids, nativeStartError, stopNativeSession } from "./nativeSession.js";
import type { FanotifyGuards, FanotifyStartOptions, NativeBinding, NativeFanotifyHandle, NativeFanotifyStats } from "./nativeBinding.js";
import type { FilePrefilterSpec } from "./esPrefilter.js";
import type { RawEvent, RawEventKind } from "./rawEvent.js";

export interface LinuxFileBackendOptions extends FanotifyStartOptions {
  /** Also ignore this process's own pid (never report or block the agent's own opens). Default true. */
  ignoreSelf?: boolean;
  binding?: NativeBinding;
  /** The host's directories and mounts, for the guard plan; default the real ones. */
  guardFacts?: GuardFacts;
}

/** What respond() answers, in the words the agent maps (see agent.ts ANSWER_STATUS). */
export type LinuxFileRespondStatus = "answered" | "tooLate" | "unknown";

const FILE_KINDS: ReadonlySet<RawEventKind> = new Set(["open", "create", "modify", "rename", "delete"]);

const ZERO_STATS: NativeFanotifyStats = {
  received: 0,
  delivered: 0,
  dropped: 0,
  queueHighWater: 0,
  queueDropped: 0,
  kernelOverflows: 0,
  ignored: 0,
  unresolved: 0,
  queued: 0,
  batches: 0,
  discarded: 0,
  lastSeq: 0,
  permAllowedNative: 0,
  authRequests: 0,
  authAnsweredJs: 0,
  authAnsweredWatchdog: 0,
  authAnsweredNative: 0,
  authLate: 0,
  authDenied: 0,
  pathFiltered: 0,
};

export class LinuxFileBackend implements SensorBackend {
  readonly name = "linux" as const;
  readonly authKinds: readonly RawEventKind[] = ["open"];
  private handle: NativeFanotifyHandle | undefined;
  private lastStats: NativeFanotifyStats = ZERO_STATS;
  private kinds: RawEventKind[] | undefined;
  private pathFilter: FilePrefilterSpec | null = null;
  private guards: FanotifyGuards = { dirs: [], filesystems: [], filter: null };
  private guardProblems: string[] = [];

  constructor(private readonly options: LinuxFileBackendOptions = {}) {}

  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.handle !== undefined) throw new MacsensorError("the Linux file backend is already started");
    if (process.platform !== "linux") {
      throw new MacsensorError(`the Linux file backend runs on Linux only (this is ${process.platform})`);
    }
    const binding = this.options.binding ?? loadNative();
    if (typeof binding.startFanotify !== "function") {
      throw new MacsensorError("this build of the macsensor addon has no fanotify backend (rebuild it on Linux)");
    }
    const { ignoreSelf = true, binding: _binding, guardFacts: _facts, ...native } = this.options;
    const ignorePids = ignoredPids(native.ignorePids, ignoreSelf);
    const kinds = this.kinds ?? native.kinds;
    try {
      this.handle = binding.startFanotify({ ...native, ignorePids, ...(kinds ? { kinds } : {}) }, onEvents);
      this.handle.setPathFilter(this.pathFilter);
      this.guardProblems = this.handle.setGuards(this.guards);
    } catch (err) {
      throw nativeStartError("the Linux file backend", err);
    }
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    stopNativeSession(handle, (stats) => (this.lastStats = stats));
  }

  /**
   * Subscribes to the file kinds the rules need (the kernel then sends no others; process kinds are not ours), and
   * drops in the reader the file events whose paths no rule can match.
   */
  setRelevance(relevance: EventRelevanceSpec): void {
    this.kinds = relevance.kinds.filter((k) => FILE_KINDS.has(k));
    this.pathFilter = relevance.filePrefilter ?? null;
    this.handle?.setKinds(this.kinds);
    this.handle?.setPathFilter(this.pathFilter);
  }

  /**
   * Holds the opens the block rules could match (src/sensor/fileGuards.ts) besides the configured guard paths;
   * the agent's own opens never wait (its pid is ignored natively). Can be called before start and again at any time.
   */
  setGuardRules(rules: readonly GuardedRule[], context: SensorContext): FileGuardReport {
    const plan = planFileGuards(rules, context, this.options.guardFacts ?? hostGuardFacts());
    this.guards = { dirs: plan.dirs, filesystems: plan.filesystems, filter: plan.filter };
    if (this.handle !== undefined) this.guardProblems = this.handle.setGuards(this.guards);
    return {
      configured: [...(this.options.guardPaths ?? [])],
      marks: plan.marks,
      unguarded: plan.unguarded,
      problems: this.handle === undefined ? [] : [...this.guardProblems],
      active: this.handle !== undefined,
    };
  }

  respond(authId: number, allow: boolean): LinuxFileRespondStatus {
    if (this.handle === undefined) return "unknown";
    const status = this.handle.respond(authId, allow);
    return status === "late" ? "tooLate" : status;
  }

  stats(): BackendStats {
    return { ...(this.handle?.stats() ?? this.lastStats) };
  }

  lastError(): string | undefined {
    return this.handle?.lastError();
  }
}

export function createLinuxFileBackend(options: LinuxFileBackendOptions = {}): LinuxFileBackend {
  return new LinuxFileBackend(options);
}
