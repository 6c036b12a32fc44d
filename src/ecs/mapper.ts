import { RAW_OPEN_READ, RAW_OPEN_WRITE, type RawEvent, type RawEventKind, type RawFile } from "../sensor/rawEvent.js";
import type { EcsEvent, RawBytesEntry } from "./ecsEvent.js";
import { ECS_VERSION } from "./ecsVersion.js";
import { shortHash } from "./entityId.js";
import { decodeWaitStatus } from "./exitStatus.js";
import type { EcsHost } from "./host.js";
import { ProcessTable, type ApplyResult, type DecodedImage, type ProcessEntry } from "./processTable.js";
import { basename, decodeRawText } from "./rawText.js";
import { ttyCharDevice } from "./tty.js";
import type { UserNameResolver } from "./userNames.js";

/** agent.* of every event. */
export interface EcsAgent {
  id: string;
  version: string;
  /** Defaults to "endpoint", as Elastic Defend writes it, so Defend-scoped rules and dashboards see our events. */
  type?: string;
  /** Defaults to "macsensor". */
  name?: string;
}

export interface EcsMapperOptions {
  host: EcsHost;
  agent: EcsAgent;
  /** Defaults to a new table keyed by host.id. */
  table?: ProcessTable;
  /** uid/gid → name; without it, names are left out. */
  users?: UserNameResolver;
  /** event.created clock (epoch ms); injectable for reproducible output. */
  now?: () => number;
}

export interface EcsMapper {
  readonly table: ProcessTable;
  /** The uid/gid resolver names come from (absent: names are left out). */
  readonly users?: UserNameResolver;
  /** Feeds the process table and returns the event's ECS document. */
  map(raw: RawEvent): EcsEvent;
  /** Feeds the process table only: for events no rule needs to see, which then cost no document. */
  track(raw: RawEvent): void;
  /**
   * The ECS document of an exec that has not happened yet (an AUTH exec), leaving the process table as it was:
   * the exec may be denied, and if it runs its NOTIFY is mapped (map) then. Other kinds: as map.
   */
  preview?(raw: RawEvent): EcsEvent;
}

/**
 * event.action of each raw event kind: Elastic Defend's values (its macOS file event documentation in
 * elastic/endpoint-package custom_documentation: open, modification, rename, deletion; creation as on Linux and
 * as macOS rules test it).
 */
export const ECS_ACTION: Readonly<Record<RawEventKind, string>> = {
  exec: "exec",
  fork: "fork",
  exit: "end",
  open: "open",
  create: "creation",
  modify: "modification",
  rename: "rename",
  delete: "deletion",
};
/** event.type of each raw event kind: Defend's (rules test `event.type in ("creation", "change")`, `!= "deletion"`). */
export const ECS_TYPE: Readonly<Record<RawEventKind, readonly string[]>> = {
  exec: ["start"],
  fork: ["start"],
  exit: ["end"],
  open: ["access"],
  create: ["creation"],
  modify: ["change"],
  rename: ["change"],
  delete: ["deletion"],
};
const PROCESS_CATEGORY = ["process"];
const FILE_CATEGORY = ["file"];
const PROCESS_DATASET = "endpoint.events.process";
const FILE_DATASET = "endpoint.events.file";

/** True for the kinds whose document is a file event (`event.category: ["file"]`, `RawEvent.file` set). */
export function isFileEventKind(kind: RawEventKind): boolean {
  return kind !== "exec" && kind !== "fork" && kind !== "exit";
}

/** A path's last component, its extension (without the dot; none for dot files) and its directory. */
export function pathParts(path: string): { name: string; extension?: string; directory?: string } {
  const slash = path.lastIndexOf("/");
  const name = slash < 0 ? path : path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const out: { name: string; extension?: string; directory?: string } = { name };
  if (dot > 0 && dot < name.length - 1) out.extension = name.slice(dot + 1);
  if (slash === 0) out.directory = "/";
  else if (slash > 0) out.directory = path.slice(0, slash);
  return out;
}

/**
 * One mapping for every source (Linux, Endpoint Security, eslogger, replay). Documents are fresh objects, but
 * host, agent, ecs, data_stream and the cached parent views are shared between documents: treat them as read-only.
 */
export function createEcsMapper(options: EcsMapperOptions): EcsMapper {
  const host = options.host;
  const agent = { id: options.agent.id, type: options.agent.type ?? "endpoint", version: options.agent.version, name: options.agent.name ?? "macsensor" };
  const table = options.table ?? new ProcessTable({ hostId: host.id });
  const users = options.users;
  const now = options.now ?? Date.now;
  const ecs = { version: ECS_VERSION };
  const processDataStream = { type: "logs", dataset: PROCESS_DATASET, namespace: "default" };
  const fileDataStream = { type: "logs", dataset: FILE_DATASET, namespace: "default" };

  // uid/gid → {id, name}, and (effective, real) → top-level user/group objects: shared, built once per pair.
  // An id without a name is asked again on the next event (the live resolver answers in the background), so
  // only named identities (or every one, without a resolver) are kept.
  const userIdentities = new Map<number, { id: string; name?: string }>();
  const groupIdentities = new Map<number, { id: string; name?: string }>();
  function identity(id: number, cache: Map<number, { id: string; name?: string }>, names: ((id: number) => string | undefined) | undefined): { id: string; name?: string } {
    let out = cache.get(id);
    if (!out) {
      const name = names?.(id);
      out = name === undefined ? { id: String(id) } : { id: String(id), name };
      if (name !== undefined || !names) cache.set(id, out);
    }
    return out;
  }
  const userNames = users ? (uid: number) => users.userName(uid) : undefined;
  const groupNames = users ? (gid: number) => users.groupName(gid) : undefined;
  const topLevel = new Map<string, Record<string, unknown>>();
  function withReal(kind: "u" | "g", effective: { id: string; name?: string }, real: { id: string; name?: string }): Record<string, unknown> {
    const key = `${kind}${effective.id}:${real.id}`;
    let out = topLevel.get(key);
    if (!out || out.name !== effective.name || (out.Ext as { real: { name?: string } }).real.name !== real.name) {
      out = { ...effective, Ext: { real } };
      topLevel.set(key, out);
    }
    return out;
  }

  const startIso = (entry: ProcessEntry): string => (entry.startIso ??= new Date(entry.startMs).toISOString());
  let createdMs = NaN;
  let createdIso = "";
  // event.id: a prefix per source and run (from the first event's time) plus the source's sequence number; a
  // sequence that goes back (the backend restarted) starts a new prefix. Unique as long as sequences are.
  const idPrefixes = new Map<string, { prefix: string; lastSeq: number }>();
  function eventId(raw: RawEvent): string {
    let p = idPrefixes.get(raw.source);
    if (!p || raw.seq <= p.lastSeq) {
      p = { prefix: shortHash(`${agent.id}|${raw.source}|${raw.time}|${raw.seq}`).slice(0, 16), lastSeq: raw.seq };
      idPrefixes.set(raw.source, p);
    }
    p.lastSeq = raw.seq;
    return `${p.prefix}-${raw.seq}`;
  }

  function parentView(parent: ProcessEntry): Record<string, unknown> {
    if (parent.parentView) return parent.parentView;
    const view: Record<string, unknown> = { pid: parent.pid, entity_id: parent.entityId, start: startIso(parent) };
    if (parent.name !== undefined) view.name = parent.name;
    if (parent.executable !== undefined) view.executable = parent.executable;
    if (parent.args !== undefined) {
      view.args = parent.args;
      view.args_count = parent.args.length;
      view.command_line = parent.commandLine;
      if (parent.argsTruncated) view.Ext = { command_line_truncated: true };
    }
    if (parent.codeSignature) view.code_signature = parent.codeSignature;
    parent.parentView = view;
    return view;
  }

  function created(): string {
    const ms = now();
    if (ms !== createdMs) {
      createdMs = ms;
      createdIso = new Date(ms).toISOString();
    }
    return createdIso;
  }

  // Reused between events: most events have no invalid UTF-8, so no array is allocated for them.
  const rawBytes: RawBytesEntry[] = [];

  function decodeImage(raw: RawEvent): DecodedImage {
    const decoded: DecodedImage = {};
    if (raw.executable !== undefined) decoded.executable = decodeRawText(raw.executable, "process.executable", rawBytes);
    if (raw.args !== undefined) {
      const args = new Array<string>(raw.args.length);
      for (let i = 0; i < args.length; i++) args[i] = decodeRawText(raw.args[i], "process.args", rawBytes, i);
      decoded.args = args;
    }
    return decoded;
  }

  function track(raw: RawEvent): void {
    rawBytes.length = 0;
    table.apply(raw, decodeImage(raw));
  }

  /** ECS file.* of a file event, as Defend writes it; invalid UTF-8 is kept in raw_bytes like args. */
  function fileObject(rawFile: RawFile, macsensor: Record<string, unknown>): Record<string, unknown> {
    const path = decodeRawText(rawFile.path, "file.path", rawBytes);
    const file: Record<string, unknown> = { path, ...pathParts(path) };
    if (rawFile.originalPath !== undefined) {
      const original = decodeRawText(rawFile.originalPath, "file.Ext.original.path", rawBytes);
      file.Ext = { original: { path: original, ...pathParts(original) } };
    }
    if (rawFile.pathTruncated) macsensor.path_truncated = true;
    if (rawFile.originalPathTruncated) macsensor.original_path_truncated = true;
    if (rawFile.openFlags !== undefined) {
      const mode: string[] = [];
      if (rawFile.openFlags & RAW_OPEN_READ) mode.push("read");
      if (rawFile.openFlags & RAW_OPEN_WRITE) mode.push("write");
      macsensor.open_mode = mode;
    }
    return file;
  }

  function map(raw: RawEvent): EcsEvent {
    return mapWith(raw, (r, decoded) => table.apply(r, decoded));
  }

  function preview(raw: RawEvent): EcsEvent {
    if (raw.kind !== "exec") return map(raw);
    let undo: (() => void) | undefined;
    const doc = mapWith(raw, (r, decoded) => {
      const tentative = table.applyTentativeExec(r, decoded);
      undo = tentative.undo;
      return tentative.result;
    });
    undo?.();
    return doc;
  }

  function mapWith(raw: RawEvent, apply: (raw: RawEvent, decoded: DecodedImage) => ApplyResult): EcsEvent {
    rawBytes.length = 0;
    const decoded = decodeImage(raw);
    const applied: ApplyResult = apply(raw, decoded);
    const entry = applied.entry;

    const process: Record<string, unknown> = { pid: raw.pid, entity_id: entry.entityId };
    const name = entry.name ?? (decoded.args && decoded.args.length > 0 ? basename(decoded.args[0]) : entry.args && entry.args.length > 0 ? basename(entry.args[0]) : undefined);
    if (name !== undefined) process.name = name;
    if (entry.executable !== undefined) process.executable = entry.executable;
    // The event's own argv when it carries one (the table may keep a shortened copy), else the table's.
    const args = decoded.args ?? entry.args;
    if (args !== undefined) {
      process.args = args;
      process.args_count = args.length;
      // Defend leaves command_line out on forks (a rule tests process.command_line == null there).
      if (raw.kind !== "fork") process.command_line = args === entry.args ? entry.commandLine : args.join(" ");
    }
    if (raw.argsTruncated || (args === entry.args && entry.argsTruncated)) process.Ext = { command_line_truncated: true };
    if (raw.cwd !== undefined) process.working_directory = decodeRawText(raw.cwd, "process.working_directory", rawBytes);
    process.start = startIso(entry);
    if (raw.tty !== undefined) {
      const tty = decodeRawText(raw.tty, "process.tty", rawBytes);
      process.interactive = true;
      const device = ttyCharDevice(tty);
      if (device) process.tty = { char_device: device };
    }
    if (raw.env !== undefined && raw.env.length > 0) {
      const env = new Array<string>(raw.env.length);
      for (let i = 0; i < env.length; i++) env[i] = decodeRawText(raw.env[i], "process.env_vars", rawBytes, i);
      process.env_vars = env;
    }
    if (raw.script !== undefined) {
      const ext = (process.Ext ??= {}) as Record<string, unknown>;
      ext.script = { path: decodeRawText(raw.script, "process.Ext.script.path", rawBytes) };
    }
    if (entry.codeSignature) process.code_signature = entry.codeSignature;
    if (entry.cdhash !== undefined) process.hash = { cdhash: entry.cdhash };

    const euid = raw.euid ?? raw.uid;
    const egid = raw.egid ?? raw.gid;
    const user = euid === undefined ? undefined : identity(euid, userIdentities, userNames);
    const realUser = raw.uid === undefined ? user : identity(raw.uid, userIdentities, userNames);
    const group = egid === undefined ? undefined : identity(egid, groupIdentities, groupNames);
    const realGroup = raw.gid === undefined ? group : identity(raw.gid, groupIdentities, groupNames);
    if (user) process.user = user;
    if (realUser) process.real_user = realUser;
    if (group) process.group = group;
    if (realGroup) process.real_group = realGroup;

    if (applied.parent) process.parent = parentView(applied.parent);
    else if (entry.ppid !== undefined) process.parent = { pid: entry.ppid };
    if (raw.pgid !== undefined) process.group_leader = { pid: raw.pgid };
    if (raw.sid !== undefined) process.session_leader = { pid: raw.sid };
    const ext = (process.Ext ??= {}) as Record<string, unknown>;
    ext.ancestry = table.ancestry(entry);
    // macOS: the responsible process (what TCC holds accountable, e.g. the app behind a helper) when it is not
    // the process itself or its parent: Defend's process.Ext.effective_parent, which macOS rules test.
    const responsible = raw.responsibleAuditToken?.pid;
    if (responsible !== undefined && responsible !== raw.pid && responsible !== entry.ppid) {
      const effective = table.get(responsible);
      if (effective) {
        const view: Record<string, unknown> = { pid: effective.pid, entity_id: effective.entityId };
        if (effective.name !== undefined) view.name = effective.name;
        if (effective.executable !== undefined) view.executable = effective.executable;
        ext.effective_parent = view;
      } else {
        ext.effective_parent = { pid: responsible };
      }
    }
    if (applied.previous) {
      const previous: Record<string, unknown> = { executable: applied.previous.executable };
      if (applied.previous.args) {
        previous.args = applied.previous.args;
        previous.args_count = applied.previous.args.length;
      }
      process.previous = [previous];
    }

    const macsensor: Record<string, unknown> = { source: raw.source };
    if (raw.kind === "exit") {
      process.end = new Date(raw.time).toISOString();
      if (raw.exitStatus !== undefined) {
        const status = decodeWaitStatus(raw.exitStatus);
        process.exit_code = status.exitCode;
        if (status.signal !== undefined) macsensor.exit_signal = status.signal;
      }
    }
    if (raw.partial !== undefined) macsensor.partial = raw.partial;
    if (raw.executableTruncated) macsensor.executable_truncated = true;

    const isFile = raw.file !== undefined && isFileEventKind(raw.kind);
    const file = isFile ? fileObject(raw.file as RawFile, macsensor) : undefined;
    if (rawBytes.length > 0) macsensor.raw_bytes = rawBytes.slice();

    const action = ECS_ACTION[raw.kind];
    const doc: EcsEvent = {
      "@timestamp": new Date(raw.time).toISOString(),
      message: isFile ? "Endpoint file event" : "Endpoint process event",
      ecs,
      data_stream: isFile ? fileDataStream : processDataStream,
      event: {
        kind: "event",
        category: isFile ? FILE_CATEGORY : PROCESS_CATEGORY,
        type: ECS_TYPE[raw.kind],
        action,
        id: eventId(raw),
        sequence: raw.seq,
        created: created(),
        module: "endpoint",
        dataset: isFile ? FILE_DATASET : PROCESS_DATASET,
      },
      host,
      agent,
      process,
    };
    if (file) doc.file = file;
    if (user) doc.user = withReal("u", user, realUser ?? user);
    if (group) doc.group = withReal("g", group, realGroup ?? group);
    doc.macsensor = macsensor;
    return doc;
  }

  return { table, map, track, preview, ...(users ? { users } : {}) };
}
