import type { RawEvent } from "../sensor/rawEvent.js";
import { ecsCodeSignature, type EcsCodeSignature } from "./codeSignature.js";
import { processEntityId } from "./entityId.js";
import { basename, rawTextToString } from "./rawText.js";

/** What the table knows about one process (one pid from fork to exit, across its execs). */
export interface ProcessEntry {
  pid: number;
  ppid?: number;
  /** Fork time, epoch ms (or when we first saw it, if the source gave no start time). */
  startMs: number;
  readonly entityId: string;
  executable?: string;
  name?: string;
  args?: string[];
  commandLine?: string;
  /** The stored args were cut to the table's per-process budget (the event that carried them had them whole). */
  argsTruncated?: boolean;
  codeSignature?: EcsCodeSignature;
  cdhash?: string;
  /** Epoch ms of the exit event; set once the process has exited. */
  exitedAt?: number;
  /** Entity ids of the ancestors, parent first; computed on first use. */
  ancestry?: string[];
  /** process.start as ISO text, computed once. */
  startIso?: string;
  /** Cached `process.parent` view of this entry, rebuilt after an exec. */
  parentView?: Record<string, unknown>;
}

/** The image a process ran before an exec (ECS process.previous). */
export interface PreviousImage {
  executable?: string;
  args?: string[];
}

export interface ApplyResult {
  entry: ProcessEntry;
  parent?: ProcessEntry;
  /** exec only: the image the process had before, when known. */
  previous?: PreviousImage;
}

/** Text fields of a raw event already decoded by the caller (the mapper decodes once, for its raw_bytes too). */
export interface DecodedImage {
  executable?: string;
  args?: string[];
}

export interface ProcessTableOptions {
  hostId: string;
  /** Most live processes kept; the oldest is forgotten beyond it. */
  maxLive?: number;
  /** Most exited processes kept for late look-ups. */
  maxExited?: number;
  /** How long an exited process stays available for look-ups, in ms of event time. */
  exitedRetentionMs?: number;
  /** Longest process.Ext.ancestry list. */
  maxAncestry?: number;
  /** Most argument characters kept per process (for parent views and forks); more are cut. Default 64 Ki. */
  maxArgChars?: number;
}

export interface ProcessTableStats {
  live: number;
  exited: number;
  /** Live entries dropped because of maxLive. */
  evicted: number;
}

/**
 * A table entry whose entity id is hashed on first use: most processes (every fork that execs, everything no
 * rule looks at) never need one, and the hash was the largest cost of a fork.
 */
// The optional fields come from ProcessEntry (declaration merging); they are set as the process is learned.
interface TableEntry extends Omit<ProcessEntry, "pid" | "startMs" | "entityId"> {}
class TableEntry implements ProcessEntry {
  private id: string | undefined;

  constructor(
    private readonly hostId: string,
    readonly pid: number,
    ppid: number | undefined,
    readonly startMs: number,
  ) {
    this.ppid = ppid;
  }

  get entityId(): string {
    return (this.id ??= processEntityId(this.hostId, this.pid, this.startMs));
  }
}

/** A start time further than this from the known one means the pid was reused (we missed an exit). */
const PID_REUSE_SLACK_MS = 2000;

export class ProcessTable {
  readonly hostId: string;
  private readonly maxLive: number;
  private readonly maxExited: number;
  private readonly retentionMs: number;
  private readonly maxAncestry: number;
  private readonly maxArgChars: number;
  private readonly live = new Map<number, ProcessEntry>();
  /** Exited processes by pid (the latest exit of each pid). */
  private readonly exited = new Map<number, ProcessEntry>();
  /** Exited entries in exit order (a queue: exitOrder[exitHead] is the oldest); may hold stale entries. */
  private exitOrder: ProcessEntry[] = [];
  private exitHead = 0;
  private evicted = 0;

  constructor(options: ProcessTableOptions) {
    this.hostId = options.hostId;
    this.maxLive = options.maxLive ?? 65536;
    this.maxExited = options.maxExited ?? 4096;
    this.retentionMs = options.exitedRetentionMs ?? 30_000;
    this.maxAncestry = options.maxAncestry ?? 20;
    this.maxArgChars = options.maxArgChars ?? 65536;
  }

  get stats(): ProcessTableStats {
    return { live: this.live.size, exited: this.exited.size, evicted: this.evicted };
  }

  /** Loads processes that were running before we started: exec-like records (pid, ppid, image, start time). */
  seed(records: Iterable<RawEvent>): void {
    for (const raw of records) {
      const entry = this.replaceLive(raw.pid, raw.startTime ?? raw.time, raw.ppid);
      this.setImage(entry, raw, undefined);
    }
  }

  /**
   * Records a process seen as the instigator of an event (eslogger and ES report it on every message) unless the
   * table already has it; returns whether it was new. Sources that know no start time get none invented.
   */
  learn(record: RawEvent): boolean {
    const known = this.live.get(record.pid);
    if (known && (record.startTime === undefined || Math.abs(known.startMs - record.startTime) <= PID_REUSE_SLACK_MS)) return false;
    if (record.startTime === undefined) return false;
    const entry = this.replaceLive(record.pid, record.startTime, record.ppid);
    this.setImage(entry, record, undefined);
    return true;
  }

  /**
   * Feeds one event and returns the process it is about, with its parent: fork, exec and exit change the table;
   * a file event only looks its actor up (learning it from what the event carries when the table lacks it).
   */
  apply(raw: RawEvent, decoded?: DecodedImage): ApplyResult {
    this.pruneExited(raw.time);
    switch (raw.kind) {
      case "fork":
        return this.applyFork(raw, decoded);
      case "exec":
        return this.applyExec(raw, decoded);
      case "exit":
        return this.applyExit(raw, decoded);
      default:
        return this.applyActor(raw, decoded);
    }
  }

  /**
   * Applies an exec that may not happen (an AUTH exec not answered yet: it may be denied) and returns, with the
   * result, how to take it back: undo() restores the process's entry as it was (or removes the one it created),
   * so only the exec that ran (its NOTIFY) changes the table. Call undo before applying anything else.
   */
  applyTentativeExec(raw: RawEvent, decoded?: DecodedImage): { result: ApplyResult; undo(): void } {
    const before = this.live.get(raw.pid);
    const saved = before ? imageOf(before) : undefined;
    const result = this.apply(raw, decoded);
    return {
      result,
      undo: () => {
        if (before && saved) {
          Object.assign(before, saved);
          if (this.live.get(raw.pid) !== before) {
            this.live.delete(raw.pid);
            this.live.set(raw.pid, before);
          }
        } else if (this.live.get(raw.pid) === result.entry) {
          this.live.delete(raw.pid);
        }
      },
    };
  }

  /** A live process by pid, else a recently exited one. */
  get(pid: number): ProcessEntry | undefined {
    return this.live.get(pid) ?? this.exited.get(pid);
  }

  /** The entry's parent, if known and not a later process that reused the parent's pid. */
  parentOf(entry: ProcessEntry): ProcessEntry | undefined {
    if (entry.ppid === undefined || entry.ppid === entry.pid) return undefined;
    const parent = this.get(entry.ppid);
    if (!parent || parent.startMs > entry.startMs + PID_REUSE_SLACK_MS) return undefined;
    return parent;
  }

  /** Entity ids of the ancestors, parent first, at most maxAncestry. */
  ancestry(entry: ProcessEntry): string[] {
    if (entry.ancestry) return entry.ancestry;
    const ids: string[] = [];
    const seen = new Set<number>([entry.pid]);
    let current = this.parentOf(entry);
    while (current && ids.length < this.maxAncestry && !seen.has(current.pid)) {
      ids.push(current.entityId);
      if (current.ancestry) {
        for (const id of current.ancestry) {
          if (ids.length >= this.maxAncestry) break;
          ids.push(id);
        }
        break;
      }
      seen.add(current.pid);
      current = this.parentOf(current);
    }
    entry.ancestry = ids;
    return ids;
  }

  private applyFork(raw: RawEvent, decoded: DecodedImage | undefined): ApplyResult {
    const parentPid = raw.ppid;
    const parent = parentPid === undefined ? undefined : this.get(parentPid);
    const entry = this.replaceLive(raw.pid, raw.startTime ?? raw.time, parentPid);
    // The child runs its parent's image until it execs; the source may report the image itself (eslogger does).
    if (parent) {
      entry.executable = parent.executable;
      entry.name = parent.name;
      entry.args = parent.args;
      entry.commandLine = parent.commandLine;
      entry.argsTruncated = parent.argsTruncated;
      entry.codeSignature = parent.codeSignature;
      entry.cdhash = parent.cdhash;
    }
    this.setImage(entry, raw, decoded);
    return { entry, parent: this.parentOf(entry) };
  }

  private applyExec(raw: RawEvent, decoded: DecodedImage | undefined): ApplyResult {
    let entry = this.live.get(raw.pid);
    if (entry && raw.startTime !== undefined && Math.abs(entry.startMs - raw.startTime) > PID_REUSE_SLACK_MS) {
      entry = undefined;
    }
    let previous: PreviousImage | undefined;
    if (entry) {
      if (entry.executable !== undefined) previous = { executable: entry.executable, args: entry.args };
      if (raw.ppid !== undefined && raw.ppid !== entry.ppid) {
        entry.ppid = raw.ppid;
        entry.ancestry = undefined;
      }
      // A new image: every field of the old one goes, so nothing of it leaks into the new process view.
      entry.executable = entry.name = entry.commandLine = entry.cdhash = undefined;
      entry.args = undefined;
      entry.argsTruncated = undefined;
      entry.codeSignature = undefined;
    } else {
      entry = this.replaceLive(raw.pid, raw.startTime ?? raw.time, raw.ppid);
    }
    this.setImage(entry, raw, decoded);
    return { entry, parent: this.parentOf(entry), previous };
  }

  /** The process acting in a file event: the table's view wins; what the event carries fills what the table lacks. */
  private applyActor(raw: RawEvent, decoded: DecodedImage | undefined): ApplyResult {
    let entry = this.get(raw.pid);
    if (entry && raw.startTime !== undefined && Math.abs(entry.startMs - raw.startTime) > PID_REUSE_SLACK_MS) entry = undefined;
    if (!entry) {
      entry = this.replaceLive(raw.pid, raw.startTime ?? raw.time, raw.ppid);
      this.setImage(entry, raw, decoded);
    } else if (entry.executable === undefined && entry.args === undefined && entry.codeSignature === undefined) {
      this.setImage(entry, raw, decoded);
    }
    return { entry, parent: this.parentOf(entry) };
  }

  private applyExit(raw: RawEvent, decoded: DecodedImage | undefined): ApplyResult {
    let entry = this.live.get(raw.pid);
    if (!entry) {
      entry = this.replaceLive(raw.pid, raw.startTime ?? raw.time, raw.ppid);
      this.setImage(entry, raw, decoded);
    }
    this.live.delete(raw.pid);
    entry.exitedAt = raw.time;
    this.exited.set(raw.pid, entry);
    this.exitOrder.push(entry);
    while (this.exited.size > this.maxExited) this.dropOldestExited();
    return { entry, parent: this.parentOf(entry) };
  }

  /** A fresh live entry for pid; a live entry it replaces (pid reuse after a missed exit) is forgotten. */
  private replaceLive(pid: number, startMs: number, ppid: number | undefined): ProcessEntry {
    const entry = new TableEntry(this.hostId, pid, ppid, startMs);
    this.live.delete(pid);
    this.live.set(pid, entry);
    if (this.live.size > this.maxLive) {
      this.live.delete(this.live.keys().next().value as number);
      this.evicted++;
    }
    return entry;
  }

  private setImage(entry: ProcessEntry, raw: RawEvent, decoded: DecodedImage | undefined): void {
    const executable = decoded?.executable ?? (raw.executable === undefined ? undefined : rawTextToString(raw.executable));
    if (executable !== undefined) {
      entry.executable = executable;
      entry.name = basename(executable);
    }
    const args = decoded?.args ?? raw.args?.map(rawTextToString);
    if (args !== undefined) {
      const kept = this.withinBudget(args);
      entry.args = kept;
      entry.commandLine = kept.join(" ");
      entry.argsTruncated = kept !== args ? true : undefined;
    }
    if (raw.codeSignature) {
      entry.codeSignature = ecsCodeSignature(raw.codeSignature);
      entry.cdhash = raw.codeSignature.cdhash;
    }
    entry.parentView = undefined;
  }

  /** args itself when within maxArgChars, else a copy cut at the budget (bounds memory per process). */
  private withinBudget(args: string[]): string[] {
    let total = 0;
    for (let i = 0; i < args.length; i++) {
      total += args[i].length + 1;
      if (total > this.maxArgChars) {
        const kept = args.slice(0, i);
        const room = this.maxArgChars - (total - args[i].length - 1);
        if (room > 0) kept.push(args[i].slice(0, room));
        return kept;
      }
    }
    return args;
  }

  private pruneExited(now: number): void {
    const cutoff = now - this.retentionMs;
    while (this.exitHead < this.exitOrder.length && (this.exitOrder[this.exitHead].exitedAt ?? now) < cutoff) this.dropOldestExited();
  }

  private dropOldestExited(): void {
    const entry = this.exitOrder[this.exitHead++];
    if (this.exited.get(entry.pid) === entry) this.exited.delete(entry.pid);
    if (this.exitHead >= 1024 && this.exitHead * 2 >= this.exitOrder.length) {
      this.exitOrder = this.exitOrder.slice(this.exitHead);
      this.exitHead = 0;
    }
  }
}

/** The fields of an entry an exec replaces (see applyExec and setImage). */
function imageOf(entry: ProcessEntry): Partial<ProcessEntry> {
  const { ppid, ancestry, executable, name, args, commandLine, argsTruncated, codeSignature, cdhash, parentView } = entry;
  return { ppid, ancestry, executable, name, args, commandLine, argsTruncated, codeSignature, cdhash, parentView };
}

export function createProcessTable(options: ProcessTableOptions): ProcessTable {
  return new ProcessTable(options);
}
