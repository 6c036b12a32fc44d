/** The Linux backend: the kernel's process connector through the native addon (root only). */
import { MacsensorError } from "../errors.js";
import type { BackendStats, EventRelevanceSpec, SensorBackend } from "./backend.js";
import { loadNative } from "./native.js";
import { ignoredPids, nativeStartError, stopNativeSession } from "./nativeSession.js";
import type { LinuxStartOptions, NativeBinding, NativeLinuxHandle, NativeLinuxStats } from "./nativeBinding.js";
import type { RawEvent } from "./rawEvent.js";

export interface LinuxBackendOptions extends LinuxStartOptions {
  /** Also ignore this process's own pid. Default true. */
  ignoreSelf?: boolean;
  /** The addon to use; default loadNative(). */
  binding?: NativeBinding;
}

const ZERO_STATS: NativeLinuxStats = {
  received: 0,
  delivered: 0,
  dropped: 0,
  queueHighWater: 0,
  queueDropped: 0,
  socketOverruns: 0,
  ignored: 0,
  partial: 0,
  queued: 0,
  batches: 0,
  discarded: 0,
  lastSeq: 0,
  execsReceived: 0,
  kernelToReadUsMean: 0,
  kernelToReadUsMax: 0,
};

class LinuxBackend implements SensorBackend {
  readonly name = "linux" as const;
  private handle: NativeLinuxHandle | undefined;
  private lastStats: NativeLinuxStats = ZERO_STATS;
  private relevance: EventRelevanceSpec | undefined;

  constructor(private readonly options: LinuxBackendOptions) {}

  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.handle !== undefined) throw new MacsensorError("the Linux backend is already started");
    if (process.platform !== "linux") {
      throw new MacsensorError(`the Linux backend runs on Linux only (this is ${process.platform})`);
    }
    const binding = this.options.binding ?? loadNative();
    if (typeof binding.startLinux !== "function") {
      throw new MacsensorError("this build of the macsensor addon has no Linux backend (rebuild it on Linux)");
    }
    const { ignoreSelf = true, binding: _binding, ...native } = this.options;
    const ignorePids = ignoredPids(native.ignorePids, ignoreSelf);
    try {
      this.handle = binding.startLinux({ ...native, ignorePids }, onEvents);
      if (this.relevance) this.handle.setRelevance(this.relevance);
    } catch (err) {
      throw nativeStartError("the Linux backend", err);
    }
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    stopNativeSession(handle, (stats) => (this.lastStats = stats));
  }

  setRelevance(relevance: EventRelevanceSpec): void {
    this.relevance = relevance;
    this.handle?.setRelevance(relevance);
  }

  stats(): BackendStats {
    return { ...(this.handle?.stats() ?? this.lastStats) };
  }

  /** The reader thread's fatal socket error while running, if any. */
  lastError(): string | undefined {
    return this.handle?.lastError();
  }
}

export function createLinuxBackend(options: LinuxBackendOptions = {}): SensorBackend & { lastError(): string | undefined } {
  return new LinuxBackend(options);
}
