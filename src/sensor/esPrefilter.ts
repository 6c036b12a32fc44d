/**
 * Derives the native AUTH_EXEC pre-filter (native/common/prefilter.h) from the EQL of the loaded block rules.
 *
 * The spec is a NECESSARY condition: every exec that some block rule could match must pass it, or ES would
 * be told ALLOW for an exec we meant to deny. So the derivation is conservative: a conjunction may keep just
 * its most selective operand (each conjunct is necessary on its own), a disjunction needs a condition for every
 * branch, and anything it does not understand (not, regex, functions, other fields) means "no constraint".
 * One unconstrained block rule makes the whole pre-filter absent (null): every AUTH exec goes to JavaScript.
 *
 * Field facts it relies on (src/ecs): process.name is the executable path's last component; process.command_line
 * is process.args joined with single spaces; the native side folds ASCII case and treats any non-ASCII argument
 * as a candidate.
 */
import type { EventQuery, Query } from "../eql/ast.js";
import { conditionCover, type CoverKind } from "./conditionCover.js";

export interface PrefilterSpec {
  /** Some argument equals one of these, ASCII case-insensitively. */
  argEquals: string[];
  /** Some argument contains one of these, ASCII case-insensitively. */
  argContains: string[];
  /** The executable path's last component equals one of these, ASCII case-insensitively. */
  executableBasename: string[];
}

/** A derived condition: a set of alternatives (any one suffices), or "unconstrained". */
type Condition = PrefilterSpec | "any";

const MAX_ITEMS = 4096;
const MAX_ITEM_BYTES = 4096;

const NOTHING = (): PrefilterSpec => ({ argEquals: [], argContains: [], executableBasename: [] });

/** The pre-filter for a set of block rules' queries, or null when some rule allows no safe pre-filter. */
export function derivePrefilter(blockRules: readonly Query[]): PrefilterSpec | null {
  let spec = NOTHING();
  for (const query of blockRules) {
    const condition = queryCondition(query);
    if (condition === "any") return null;
    spec = union(spec, condition);
  }
  spec = dedupe(spec);
  const items = spec.argEquals.length + spec.argContains.length + spec.executableBasename.length;
  return items > MAX_ITEMS ? null : spec;
}

function queryCondition(query: Query): Condition {
  // A sequence may be completed by an exec whose own stage says nothing about its arguments; an exec query with
  // a category other than process/any never sees an exec.
  if (query.body.kind !== "event") return "any";
  const category = query.body.category;
  if (category !== null && category !== "process") return NOTHING();
  return conditionCover(query.body.condition, EXEC_ITEMS);
}

/** What execs a process condition can match, as pre-filter items (see conditionCover). */
const EXEC_ITEMS: CoverKind<PrefilterSpec> = {
  none: NOTHING,
  atom(field, text, wildcards) {
    const atom = atomFor(field, text, wildcards);
    if (atom === "any") return "any";
    const spec = NOTHING();
    spec[atom[0]].push(atom[1]);
    return spec;
  },
  union,
  narrower: moreSelective,
};

type Atom = [keyof PrefilterSpec, string];

function atomFor(field: string, text: string, wildcards: boolean): Atom | "any" {
  const pieces = wildcards ? literalPieces(text) : [text];
  const whole = !wildcards || (pieces.length === 1 && pieces[0] === text);
  switch (field) {
    case "process.args":
      if (whole) return safe(["argEquals", text]);
      return longest(pieces, "argContains");
    case "process.name":
      if (whole) return safe(["executableBasename", text]);
      return "any";
    case "process.executable": {
      if (!whole) return "any";
      const slash = text.lastIndexOf("/");
      return safe(["executableBasename", slash < 0 ? text : text.slice(slash + 1)]);
    }
    case "process.command_line": {
      // command_line = args joined by spaces, so every space-free piece of a literal lies inside one argument.
      const words = pieces.flatMap((p) => p.split(" "));
      return longest(words, "argContains");
    }
    default:
      return "any";
  }
}

/** The literal runs of a wildcard pattern (`*` and `?` are wildcards). */
function literalPieces(pattern: string): string[] {
  return pattern.split(/[*?]/).filter((p) => p.length > 0);
}

function longest(pieces: string[], list: "argContains"): Atom | "any" {
  const best = pieces.filter(isAscii).sort((a, b) => b.length - a.length)[0];
  return best === undefined ? "any" : safe([list, best]);
}

function safe(atom: Atom): Atom | "any" {
  const text = atom[1];
  if (!isAscii(text) || text.length === 0 || text.length > MAX_ITEM_BYTES) return "any";
  return atom;
}

function isAscii(text: string): boolean {
  return /^[\x01-\x7f]*$/.test(text);
}

function union(a: PrefilterSpec, b: PrefilterSpec): PrefilterSpec {
  return {
    argEquals: [...a.argEquals, ...b.argEquals],
    argContains: [...a.argContains, ...b.argContains],
    executableBasename: [...a.executableBasename, ...b.executableBasename],
  };
}

function dedupe(spec: PrefilterSpec): PrefilterSpec {
  const uniq = (xs: string[]) => [...new Set(xs.map((x) => x.toLowerCase()))].sort();
  return { argEquals: uniq(spec.argEquals), argContains: uniq(spec.argContains), executableBasename: uniq(spec.executableBasename) };
}

/** Exact items beat substrings, fewer items beat more; on a tie, longer items (rarer in argv) win. */
function moreSelective(a: PrefilterSpec, b: PrefilterSpec): boolean {
  const cost = (s: PrefilterSpec) => s.argEquals.length + s.executableBasename.length * 2 + s.argContains.length * 4;
  if (cost(a) !== cost(b)) return cost(a) < cost(b);
  return shortestItem(a) > shortestItem(b);
}

function shortestItem(spec: PrefilterSpec): number {
  const all = [...spec.argEquals, ...spec.argContains, ...spec.executableBasename];
  return all.length === 0 ? Infinity : Math.min(...all.map((x) => x.length));
}

/**
 * The native AUTH_OPEN pre-filter (native/common/prefilter.h, FilePrefilterSpec): an open is a candidate when its
 * path matches any item, ASCII case-insensitively. The same soundness rules as the exec pre-filter.
 */
export interface FilePrefilterSpec {
  pathEquals: string[];
  pathPrefix: string[];
  pathSuffix: string[];
  pathContains: string[];
  /** The path's last component equals one of these. */
  nameEquals: string[];
}

const NO_FILE = (): FilePrefilterSpec => ({ pathEquals: [], pathPrefix: [], pathSuffix: [], pathContains: [], nameEquals: [] });

const FILE_LISTS = ["pathEquals", "pathPrefix", "pathSuffix", "pathContains", "nameEquals"] as const;

/** The event queries of a rule (a sequence's stages and its `until`). */
function eventQueries(query: Query): EventQuery[] {
  if (query.body.kind === "event") return [query.body];
  return [...query.body.stages.map((s) => s.query), ...(query.body.until ? [query.body.until.query] : [])];
}

const seesFiles = (q: EventQuery): boolean => q.category === null || q.category === "file";

/** Whether a block rule can see a file open at all (a `file` or `any` query or stage): AUTH_OPEN is then needed. */
export function blocksOpens(query: Query): boolean {
  return eventQueries(query).some(seesFiles);
}

/** Whether a block rule can see an exec (a `process` or `any` query or stage): AUTH_EXEC is then needed. */
export function blocksExecs(query: Query): boolean {
  return eventQueries(query).some((q) => q.category === null || q.category === "process");
}

/**
 * The AUTH_OPEN pre-filter for a set of block rules' queries, or null when some rule that sees file opens allows
 * no safe pre-filter (every AUTH open then goes to JavaScript). An open must match some stage of a rule to count
 * for it, so a sequence's condition is the union of its file stages' conditions.
 */
export function deriveOpenPrefilter(blockRules: readonly Query[]): FilePrefilterSpec | null {
  let spec = NO_FILE();
  for (const query of blockRules) {
    for (const q of eventQueries(query)) {
      if (!seesFiles(q)) continue;
      const c = conditionCover(q.condition, FILE_ITEMS);
      if (c === "any") return null;
      spec = fileUnion(spec, c);
    }
  }
  const uniq = (xs: string[]) => [...new Set(xs.map((x) => x.toLowerCase()))].sort();
  const out = NO_FILE();
  for (const list of FILE_LISTS) out[list] = uniq(spec[list]);
  const items = FILE_LISTS.reduce((n, list) => n + out[list].length, 0);
  return items > MAX_ITEMS ? null : out;
}

/** What paths a file condition can match, as pre-filter items (see conditionCover). */
const FILE_ITEMS: CoverKind<FilePrefilterSpec> = {
  none: NO_FILE,
  atom(field, text, wildcards) {
    const atom = fileAtom(field, text, wildcards);
    if (atom === "any") return "any";
    const spec = NO_FILE();
    spec[atom[0]].push(atom[1]);
    return spec;
  },
  union: fileUnion,
  narrower: (a, b) => fileCost(a) < fileCost(b),
};

type FileAtom = [keyof FilePrefilterSpec, string];

/**
 * One item that every path the condition `field == text` (or `field : text` with wildcards) accepts must match.
 * Field facts (Defend's file events): file.path is the whole path, file.name its last component, file.extension
 * the name's part after its last dot, file.directory the path before the last "/".
 */
function fileAtom(field: string, text: string, wildcards: boolean): FileAtom | "any" {
  const hasWildcard = wildcards && /[*?]/.test(text);
  switch (field) {
    // A rename's source path: the pre-filter tests it too (a rename passes on either path), and an event without
    // one cannot satisfy the condition, so the atoms of the path serve.
    case "file.Ext.original.path":
    case "file.path": {
      if (!hasWildcard) return fileSafe(["pathEquals", text]);
      return patternAtom(text);
    }
    case "file.Ext.original.name":
    case "file.name": {
      if (!hasWildcard) return fileSafe(["nameEquals", text]);
      // The name is the path's tail, so a name pattern's literal tail is the path's tail; a literal head of the
      // name follows the last "/".
      const pieces = text.split(/[*?]/);
      const last = pieces[pieces.length - 1];
      if (last.length > 0) return fileSafe(["pathSuffix", last]);
      const first = pieces[0];
      if (first.length > 0) return fileSafe(["pathContains", `/${first}`]);
      return longestPiece(pieces);
    }
    case "file.extension":
      if (hasWildcard || text.includes(".")) return "any";
      return fileSafe(["pathSuffix", `.${text}`]);
    case "file.directory":
      if (hasWildcard) return "any";
      return fileSafe(["pathPrefix", text.endsWith("/") ? text : `${text}/`]);
    default:
      return "any";
  }
}

/** A path pattern: its literal head is a prefix, its literal tail a suffix, otherwise its longest piece is inside. */
function patternAtom(pattern: string): FileAtom | "any" {
  const pieces = pattern.split(/[*?]/);
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const inner = pieces.slice(1, -1).filter((p) => p.length > 0).sort((a, b) => b.length - a.length)[0] ?? "";
  // The longest literal run is the rarest; a head shorter than that (often just "/Users/") says little.
  const best = [head, tail, inner].reduce((a, b) => (b.length > a.length ? b : a));
  if (best.length === 0) return "any";
  if (best === head) return fileSafe(["pathPrefix", head]);
  if (best === tail) return fileSafe(["pathSuffix", tail]);
  return fileSafe(["pathContains", inner]);
}

function longestPiece(pieces: string[]): FileAtom | "any" {
  const best = pieces.filter((p) => p.length > 0).sort((a, b) => b.length - a.length)[0];
  return best === undefined ? "any" : fileSafe(["pathContains", best]);
}

function fileSafe(atom: FileAtom): FileAtom | "any" {
  const text = atom[1];
  if (!isAscii(text) || text.length === 0 || text.length > MAX_ITEM_BYTES) return "any";
  return atom;
}

function fileUnion(a: FilePrefilterSpec, b: FilePrefilterSpec): FilePrefilterSpec {
  const out = NO_FILE();
  for (const list of FILE_LISTS) out[list] = [...a[list], ...b[list]];
  return out;
}

/** Exact paths beat names, names beat prefixes and suffixes, which beat substrings; fewer items beat more. */
function fileCost(s: FilePrefilterSpec): number {
  return s.pathEquals.length + s.nameEquals.length * 2 + (s.pathPrefix.length + s.pathSuffix.length) * 3 + s.pathContains.length * 4;
}
