/**
 * Which raw events the loaded rules could match. The pipeline maps an event to ECS and runs the rules only when
 * some rule could match it; any other event just keeps the process table current. Most of what a machine runs
 * matches no rule, and building its ECS document was most of the agent's cost per event.
 *
 * The answer is a NECESSARY condition, derived conservatively from the rules' EQL like the ES pre-filter
 * (src/sensor/esPrefilter.ts): an event it turns away must be one no rule can match, so anything not understood
 * means "relevant".
 * - Kind: the query's category (`process where`: exec, fork, exit; `file where`: open, create, modify, rename,
 *   delete; `any where`: all; another category: none) narrowed by `event.action` / `event.type` compared with
 *   string literals (==, in, `:` without wildcards) under and/or (src/ecs/mapper.ts ECS_ACTION / ECS_TYPE);
 *   a sequence or sample sees every kind. A condition that `host.os.type` equals (==, in, `:` without wildcards)
 *   only other OS types than this sensor's host has (`host.os.type == "macos"` on Linux) holds for no event: the
 *   mapper writes the host's own type on every event.
 * - Execs also pass the pre-filter over the executable's name and the arguments, when every rule that can see an
 *   exec allows one. A fork or exit carries its image from the process table, so only its kind is checked.
 * - File events also pass the path pre-filter derived from the file stages' `file.path` / `name` / `extension` /
 *   `directory` conditions (the same derivation as the ES AUTH_OPEN pre-filter); a rename passes on either path.
 *   File events feed nothing else, so one turned away costs nothing but its delivery.
 * The same spec goes to the backend (SensorBackend.setRelevance), which then wakes JavaScript only for events
 * that pass and lets the others ride along with the next batch.
 */
import type { Expr, Query } from "../eql/ast.js";
import { ECS_ACTION, ECS_TYPE } from "../ecs/mapper.js";
import type { EventRelevanceSpec } from "../sensor/backend.js";
import { deriveOpenPrefilter, derivePrefilter, type FilePrefilterSpec, type PrefilterSpec } from "../sensor/esPrefilter.js";
import { FILE_EVENT_KINDS, type RawEvent, type RawEventKind } from "../sensor/rawEvent.js";

export type EventRelevance = (raw: RawEvent) => boolean;

type Kinds = ReadonlySet<RawEventKind>;

const PROCESS_KINDS: readonly RawEventKind[] = ["exec", "fork", "exit"];
const KINDS: readonly RawEventKind[] = [...PROCESS_KINDS, ...FILE_EVENT_KINDS];
const ALL: Kinds = new Set(KINDS);
const NONE: Kinds = new Set();
/** The kinds whose ECS document has each event.category the sensor produces. */
const CATEGORY_KINDS: ReadonlyMap<string, Kinds> = new Map([
  ["process", new Set(PROCESS_KINDS)],
  ["file", new Set<RawEventKind>(FILE_EVENT_KINDS)],
]);

/** What is known of the sensor a query is read for. */
export interface SensorContext {
  /** The host.os.type the mapper writes on every event ("linux", "macos"); absent: any. */
  hostOsType?: string;
}

/** What the rules could match, as data (also handed to the backend, which wakes JavaScript for these only). */
export function deriveRelevanceSpec(queries: readonly Query[], context: SensorContext = {}): EventRelevanceSpec {
  const kinds = new Set<RawEventKind>();
  const execQueries: Query[] = [];
  const fileQueries: Query[] = [];
  for (const query of queries) {
    const k = queryKinds(query, context);
    for (const kind of k) kinds.add(kind);
    if (k.has("exec")) execQueries.push(query);
    if (FILE_EVENT_KINDS.some((f) => k.has(f))) fileQueries.push(query);
  }
  return {
    kinds: KINDS.filter((k) => kinds.has(k)),
    execPrefilter: execQueries.length === 0 ? null : derivePrefilter(execQueries),
    filePrefilter: fileQueries.length === 0 ? null : deriveOpenPrefilter(fileQueries),
  };
}

/** The test of a spec on one raw event. */
export function relevanceOf(spec: EventRelevanceSpec): EventRelevance {
  const kinds = new Set(spec.kinds);
  const prefilter = spec.execPrefilter;
  const execCandidate = prefilter === null ? () => true : (raw: RawEvent) => isExecCandidate(prefilter, raw);
  const files = spec.filePrefilter ?? null;
  const fileCandidate = files === null ? () => true : (raw: RawEvent) => isFileCandidate(files, raw);
  return (raw) =>
    kinds.has(raw.kind) && (raw.kind === "exec" ? execCandidate(raw) : raw.file === undefined || fileCandidate(raw));
}

export function deriveEventRelevance(queries: readonly Query[], context: SensorContext = {}): EventRelevance {
  return relevanceOf(deriveRelevanceSpec(queries, context));
}

/** The kinds of raw event one query could match on a sensor of `context`. */
export function queryKinds(query: Query, context: SensorContext = {}): Kinds {
  if (query.body.kind !== "event") return ALL;
  const category = query.body.category;
  const kinds = exprKinds(query.body.condition, context);
  if (category === null || category === "any") return kinds;
  const ofCategory = CATEGORY_KINDS.get(category);
  return ofCategory ? new Set([...kinds].filter((k) => ofCategory.has(k))) : NONE;
}

function exprKinds(expr: Expr, context: SensorContext): Kinds {
  switch (expr.kind) {
    case "and":
      return expr.operands.map((e) => exprKinds(e, context)).reduce((a, b) => new Set([...a].filter((k) => b.has(k))));
    case "or":
      return new Set(expr.operands.flatMap((operand) => [...exprKinds(operand, context)]));
    case "literal":
      return expr.value === false || expr.value === null ? NONE : ALL;
    case "comparison":
      if (expr.op !== "==") return ALL;
      return (
        kindsWhere(expr.left, [expr.right], false) ??
        kindsWhere(expr.right, [expr.left], false) ??
        hostOsWhere(expr.left, [expr.right], false, context) ??
        hostOsWhere(expr.right, [expr.left], false, context) ??
        ALL
      );
    case "in":
      return kindsWhere(expr.subject, expr.values, expr.caseInsensitive) ?? hostOsWhere(expr.subject, expr.values, expr.caseInsensitive, context) ?? ALL;
    case "pattern":
      if (expr.op !== ":") return ALL;
      return kindsWhere(expr.subject, expr.patterns, true, true) ?? hostOsWhere(expr.subject, expr.patterns, true, context, true) ?? ALL;
    default:
      return ALL;
  }
}

/**
 * `host.os.type` equal to one of `values` (string literals): every kind when the sensor's own type is among them,
 * none when it is not; undefined when the sensor's type is unknown or the condition is not of that form.
 */
function hostOsWhere(subject: Expr, values: Expr[], caseInsensitive: boolean, context: SensorContext, wildcards = false): Kinds | undefined {
  const own = context.hostOsType;
  if (own === undefined || subject.kind !== "field" || subject.path.join(".") !== "host.os.type") return undefined;
  const fold = (text: string) => (caseInsensitive ? text.toLowerCase() : text);
  for (const v of values) {
    if (v.kind !== "literal") return undefined;
    if (v.type === "null") continue; // the mapper always writes host.os.type
    if (typeof v.value !== "string" || (wildcards && /[*?]/.test(v.value))) return undefined;
    if (fold(v.value) === fold(own)) return ALL;
  }
  return NONE;
}

/** `event.action` / `event.type` equal to one of `values` (string literals): the kinds that have such a value. */
function kindsWhere(subject: Expr, values: Expr[], caseInsensitive: boolean, wildcards = false): Kinds | undefined {
  if (subject.kind !== "field") return undefined;
  const field = subject.path.join(".");
  if (field !== "event.action" && field !== "event.type") return undefined;
  const wanted: string[] = [];
  for (const v of values) {
    if (v.kind !== "literal") return undefined;
    if (v.type === "null") continue; // both fields are always present, so `== null` never holds
    if (typeof v.value !== "string") return undefined;
    if (wildcards && /[*?]/.test(v.value)) return undefined;
    wanted.push(caseInsensitive ? v.value.toLowerCase() : v.value);
  }
  const fold = (text: string) => (caseInsensitive ? text.toLowerCase() : text);
  return new Set(
    KINDS.filter((kind) => {
      const present = field === "event.action" ? [ECS_ACTION[kind]] : ECS_TYPE[kind];
      return present.some((value) => wanted.includes(fold(value)));
    }),
  );
}

const NON_ASCII = /[^\x01-\x7f]/;
const lower = (text: string) => text.replace(/[A-Z]+/g, (c) => c.toLowerCase());

/**
 * The ES pre-filter's test (native/common/prefilter.h) on a raw exec: ASCII case folded; an executable that is
 * unknown (process.name then comes from args[0]), not UTF-8 or not ASCII passes, as does any such argument.
 */
/** The native FilePrefilter (native/common/prefilter.cc) in JavaScript: a rename passes on either path. */
function isFileCandidate(spec: FilePrefilterSpec, raw: RawEvent): boolean {
  const file = raw.file;
  if (file === undefined) return true;
  if (pathCandidate(spec, file.path, file.pathTruncated === true)) return true;
  return file.originalPath !== undefined && pathCandidate(spec, file.originalPath, file.originalPathTruncated === true);
}

function pathCandidate(spec: FilePrefilterSpec, path: RawEvent["executable"], truncated: boolean): boolean {
  if (typeof path !== "string" || truncated || NON_ASCII.test(path)) return true;
  const p = lower(path);
  if (spec.pathEquals.includes(p)) return true;
  for (const prefix of spec.pathPrefix) if (p.startsWith(prefix)) return true;
  for (const suffix of spec.pathSuffix) if (p.endsWith(suffix)) return true;
  for (const part of spec.pathContains) if (p.includes(part)) return true;
  return spec.nameEquals.length > 0 && spec.nameEquals.includes(p.slice(p.lastIndexOf("/") + 1));
}

function isExecCandidate(spec: PrefilterSpec, raw: RawEvent): boolean {
  if (spec.executableBasename.length > 0) {
    if (typeof raw.executable !== "string") return true;
    const base = raw.executable.slice(raw.executable.lastIndexOf("/") + 1);
    if (NON_ASCII.test(base) || spec.executableBasename.includes(lower(base))) return true;
  }
  if (spec.argEquals.length === 0 && spec.argContains.length === 0) return false;
  for (const arg of raw.args ?? []) {
    if (typeof arg !== "string" || NON_ASCII.test(arg)) return true;
    const folded = lower(arg);
    if (spec.argEquals.includes(folded)) return true;
    for (const part of spec.argContains) if (folded.includes(part)) return true;
  }
  return false;
}
