/**
 * The macOS Endpoint Security backend: the addon's ES client (native/macos, native/common/es_*) behind the
 * SensorBackend interface. AUTH_EXEC is subscribed only while a block rule that can see execs is loaded, AUTH_OPEN
 * only while one that can see file opens is, and the native pre-filters derived from those rules answer the execs
 * and opens they cannot match without a JavaScript round trip. File events are subscribed only for the file kinds
 * the relevance spec lists (setRelevance).
 */
import type { Query } from "../eql/ast.js";
import { MacsensorError } from "../errors.js";
import type { BackendStats, EventRelevanceSpec, SensorBackend } from "./backend.js";
import {
  blocksExecs, blocksOpens, deriveOpenPrefilter, derivePrefilter, type FilePrefilterSpec, type PrefilterSpec,
} from "./esPrefilter.js";
import { execAllowsCacheable } from "./esAuthCache.js";
import { loadNative } from "./native.js";
import { FILE_EVENT_KINDS, type FileEventKind, type RawEvent } from "./rawEvent.js";

export interface EsStartOptions {
  queueCapacity?: number;
  batchMax?: number;
  /** The deadline watchdog (and shutdown) answer DENY instead of ALLOW. */
  failClosed?: boolean;
  authExec?: boolean;
  captureEnv?: string[];
  muteExecutables?: string[];
  muteSelf?: boolean;
  /** The least time (ms, 1..1000, default 10) the deadline watchdog keeps in hand before an AUTH deadline. */
  deadlineMarginMs?: number;
  /**
   * Less than this (ms, 0..1000, default 5) left for JavaScript and an AUTH candidate is allowed at once, never
   * denied fail-closed, and counted (shortDeadlineAllows).
   */
  minRuleMs?: number;
  /** The native pre-filter (native/common/prefilter.h); absent keys are empty lists. */
  prefilter?: Partial<PrefilterSpec> | null;
  /**
   * How long (ms, 0..1000) a NOTIFY event the rules do not need at once (setRelevance) may wait for the next
   * batch. Default 50; 0 wakes JavaScript for every event. AUTH requests never wait.
   */
  holdMs?: number;
}

export type EsHandle = { readonly __esHandle: unique symbol };

/** The file events to subscribe (native es_binding.cc setFileEvents). */
export interface EsFileEventsSpec {
  /** File kinds to subscribe (NOTIFY_OPEN / CREATE / CLOSE-modified / RENAME / UNLINK). */
  kinds: FileEventKind[];
  /** AUTH_OPEN instead of NOTIFY_OPEN: a block rule on file events is loaded. */
  authOpen: boolean;
  /** The AUTH_OPEN pre-filter; null: every AUTH open goes to JavaScript. */
  openPrefilter: Partial<FilePrefilterSpec> | null;
}

/** What the addon says of an AUTH answer. */
export type EsRespondStatus = "answered" | "tooLate" | "tooShort" | "duplicate" | "unknown" | "error";

/** The ES members of the addon (present when built with MACSENSOR_WITH_ES, and in the stand-in test addon). */
export interface EsBinding {
  startEs(options: EsStartOptions, onEvents: (events: RawEvent[]) => void): EsHandle;
  respond(handle: EsHandle, id: number, allow: boolean): EsRespondStatus;
  setAuthExec(handle: EsHandle, on: boolean): void;
  setPrefilter(handle: EsHandle, spec: Partial<PrefilterSpec> | null): void;
  /**
   * Whether rule-decided exec ALLOWs are answered cache=true (esAuthCache.ts); clears ES's cache when ours may
   * hold entries. Throws (code ES_CLEAR_CACHE) when es_clear_cache failed; caching then stays off.
   */
  setAuthCache(handle: EsHandle, on: boolean): void;
  setFileEvents(handle: EsHandle, spec: EsFileEventsSpec): void;
  /** The NOTIFY events that wake JavaScript at once (until set: execs); the rest wait up to holdMs. */
  setRelevance(handle: EsHandle, relevance: EventRelevanceSpec): void;
  stopEs(handle: EsHandle): void;
  esStats(handle: EsHandle): Record<string, number>;
}

export interface EsBackendOptions {
  failClosed?: boolean;
  captureEnv?: string[];
  muteExecutables?: string[];
  /** See EsStartOptions.deadlineMarginMs. */
  deadlineMarginMs?: number;
  /** See EsStartOptions.minRuleMs. */
  minRuleMs?: number;
  queueCapacity?: number;
  batchMax?: number;
  /** See EsStartOptions.holdMs. */
  holdMs?: number;
  /** The queries of the rules whose action is block; AUTH_EXEC / AUTH_OPEN are subscribed only for them. */
  blockRules?: readonly Query[];
  /** The addon; default the installed one. */
  binding?: EsBinding;
}

export interface EsBackend extends SensorBackend {
  readonly name: "es";
  respond(authId: number, allow: boolean): EsRespondStatus;
  /** Called after a rule reload: re-derives the pre-filters and (un)subscribes AUTH_EXEC and AUTH_OPEN. */
  setBlockRules(queries: readonly Query[]): void;
  setRelevance(relevance: EventRelevanceSpec): void;
}

const ES_MEMBERS = [
  "startEs", "respond", "setAuthExec", "setPrefilter", "setAuthCache", "setFileEvents", "setRelevance", "stopEs", "esStats",
] as const;

/** All the ES members, not just startEs: an addon with part of them (an older build) would start a client it cannot stop. */
function isEsBinding(value: unknown): value is EsBinding {
  return (
    typeof value === "object" &&
    value !== null &&
    ES_MEMBERS.every((name) => typeof (value as Partial<Record<string, unknown>>)[name] === "function")
  );
}

class EndpointSecurityBackend implements EsBackend {
  readonly name = "es" as const;
  private handle: EsHandle | undefined;
  private binding: EsBinding | undefined;
  private lastStats: Record<string, number> = {};
  private blockRules: readonly Query[];
  private relevance: EventRelevanceSpec | undefined;

  constructor(private readonly options: EsBackendOptions) {
    this.blockRules = options.blockRules ?? [];
  }

  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.handle !== undefined) throw new MacsensorError("the Endpoint Security backend is already started");
    const binding = this.options.binding ?? loadNative();
    if (!isEsBinding(binding)) {
      throw new MacsensorError(
        process.platform === "darwin"
          ? "this build of the macsensor addon has no Endpoint Security backend (rebuild it on macOS)"
          : `Endpoint Security exists only on macOS (this is ${process.platform}); use --backend linux`,
      );
    }
    const authExec = this.blockRules.some(blocksExecs);
    try {
      this.handle = binding.startEs(
        {
          failClosed: this.options.failClosed ?? false,
          authExec,
          captureEnv: this.options.captureEnv ?? [],
          muteExecutables: this.options.muteExecutables ?? [],
          muteSelf: true,
          prefilter: authExec ? derivePrefilter(this.blockRules.filter(blocksExecs)) : null,
          ...(this.options.queueCapacity ? { queueCapacity: this.options.queueCapacity } : {}),
          ...(this.options.batchMax ? { batchMax: this.options.batchMax } : {}),
          ...(this.options.holdMs !== undefined ? { holdMs: this.options.holdMs } : {}),
          ...(this.options.deadlineMarginMs !== undefined ? { deadlineMarginMs: this.options.deadlineMarginMs } : {}),
          ...(this.options.minRuleMs !== undefined ? { minRuleMs: this.options.minRuleMs } : {}),
        },
        onEvents,
      );
    } catch (err) {
      // The addon's message is already the actionable one (not root, not entitled, no Full Disk Access, ...).
      const reason = err instanceof Error ? err.message : String(err);
      throw new MacsensorError(`cannot start Endpoint Security: ${reason}`, { cause: err });
    }
    this.binding = binding;
    this.applyAuthCache();
    if (this.relevance) binding.setRelevance(this.handle, this.relevance);
    try {
      binding.setFileEvents(this.handle, this.fileEvents());
    } catch (err) {
      binding.stopEs(this.handle);
      this.handle = undefined;
      this.binding = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      throw new MacsensorError(`cannot subscribe Endpoint Security file events: ${reason}`, { cause: err });
    }
  }

  /** What to subscribe: the relevant file kinds, and AUTH_OPEN with its pre-filter while a block rule sees opens. */
  private fileEvents(): EsFileEventsSpec {
    const wanted = new Set(this.relevance?.kinds ?? []);
    const openRules = this.blockRules.filter(blocksOpens);
    const authOpen = openRules.length > 0;
    return {
      kinds: FILE_EVENT_KINDS.filter((k) => wanted.has(k)),
      authOpen,
      openPrefilter: authOpen ? deriveOpenPrefilter(openRules) : null,
    };
  }

  respond(authId: number, allow: boolean): EsRespondStatus {
    if (!this.binding || this.handle === undefined) return "unknown";
    return this.binding.respond(this.handle, authId, allow);
  }

  setRelevance(relevance: EventRelevanceSpec): void {
    this.relevance = relevance;
    if (this.binding && this.handle !== undefined) {
      this.binding.setRelevance(this.handle, relevance);
      this.binding.setFileEvents(this.handle, this.fileEvents());
    }
  }

  setBlockRules(queries: readonly Query[]): void {
    this.blockRules = queries;
    if (!this.binding || this.handle === undefined) return;
    const execRules = queries.filter(blocksExecs);
    const authExec = execRules.length > 0;
    // Narrow the filter before subscribing and widen AUTH off after, so no AUTH exec meets a stale filter.
    this.binding.setPrefilter(this.handle, authExec ? derivePrefilter(execRules) : null);
    this.binding.setAuthExec(this.handle, authExec);
    // setFileEvents installs the open pre-filter before it subscribes AUTH_OPEN.
    this.binding.setFileEvents(this.handle, this.fileEvents());
    // Last: ALLOWs cached under the previous rules are cleared, and caching resumes only if the new rules allow.
    this.applyAuthCache();
  }

  /**
   * Caching on when the loaded exec block rules read only the executable's identity. A failed es_clear_cache is
   * counted by the addon (cacheClearErrors) and leaves caching off; it must not undo the reload.
   */
  private applyAuthCache(): void {
    if (!this.binding || this.handle === undefined) return;
    const execRules = this.blockRules.filter(blocksExecs);
    try {
      this.binding.setAuthCache(this.handle, execRules.length > 0 && execAllowsCacheable(execRules));
    } catch {
      // Counted in esStats (cacheClearErrors), shown in the heartbeat.
    }
  }

  async stop(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined || !this.binding) return;
    this.lastStats = this.binding.esStats(handle);
    this.handle = undefined;
    this.binding.stopEs(handle);
    try {
      this.lastStats = this.binding.esStats(handle);
    } catch {
      // A stopped handle may refuse; the counters read just before stopping stand.
    }
  }

  stats(): BackendStats {
    const s = this.handle !== undefined && this.binding ? this.binding.esStats(this.handle) : this.lastStats;
    return { received: 0, delivered: 0, dropped: 0, queueHighWater: 0, ...s };
  }
}

export function createEsBackend(options: EsBackendOptions = {}): EsBackend {
  return new EndpointSecurityBackend(options);
}
