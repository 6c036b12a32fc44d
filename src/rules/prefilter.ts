/**
 * A line pre-filter for replay: JSON.parse costs more than everything else per event, and almost no event matches
 * any rule. From each rule's query we derive text that must appear in an event's JSON line for the rule to match
 * (e.g. `process.name == "curl"` needs `"curl"`; `process.args : "*keychain*"` needs `keychain`); a line that
 * contains none of the texts of any rule, in any ASCII case, cannot match and need not be parsed. Lines with
 * non-ASCII bytes are always parsed (case folding beyond ASCII, e.g. the Kelvin sign, is the engine's business).
 *
 * Sound by construction, as long as the line's serializer writes these characters as themselves (lines holding a
 * backslash, which may be a `\u` escape, are always parsed by replay): only letters,
 * digits, space and `-_.,:;=+@#%!~` are used in needles — characters no JSON serializer escapes (JSON.stringify,
 * Python's json, Go's encoding/json alike). Anything else (regexes, functions, `not`, numbers) gives no
 * requirement; a rule with no requirement at all turns the pre-filter off.
 */
import type { Expr, Literal } from "../eql/index.js";
import type { LoadedRule } from "./ruleFile.js";

/** Fields with a handful of values that every event carries: requiring them filters nothing. */
const LOW_CARDINALITY = new Set([
  "event.category",
  "event.type",
  "event.action",
  "event.kind",
  "event.module",
  "event.dataset",
  "event.outcome",
  "host.os.type",
  "host.os.name",
  "host.os.family",
  "host.os.platform",
  "agent.type",
  "ecs.version",
]);

const SAFE = /^[A-Za-z0-9 _.,:;=+@#%!~-]+$/;
const UNSAFE_SPLIT = /[^A-Za-z0-9 _.,:;=+@#%!~-]+/;

/** "The lower-cased line contains at least one of these." */
type Requirement = string[];

function isStringLiteral(e: Expr): e is Literal & { value: string } {
  return e.kind === "literal" && e.type === "string" && typeof e.value === "string";
}

function fieldPath(e: Expr): string | undefined {
  return e.kind === "field" ? e.path.join(".") : undefined;
}

/** A whole value: its JSON text is `"value"`, quotes included (lower-cased). Undefined if not safe. */
function wholeValue(text: string): string | undefined {
  if (!SAFE.test(text) || /^(true|false|null|-?\d+(\.\d+)?)$/i.test(text)) return undefined;
  return `"${text.toLowerCase()}"`;
}

/** The longest safe literal run of a wildcard pattern (split on `*`, `?` and unsafe characters), lower-cased. */
function patternFragment(pattern: string): string | undefined {
  if (!pattern.includes("*") && !pattern.includes("?")) return wholeValue(pattern);
  let best = "";
  for (const part of pattern.split(/[*?]/)) {
    for (const piece of part.split(UNSAFE_SPLIT)) if (piece.length > best.length) best = piece;
  }
  return best.length >= 3 ? best.toLowerCase() : undefined;
}

function score(r: Requirement): number {
  const shortest = Math.min(...r.map((n) => n.length));
  return shortest - 2 * Math.log2(r.length);
}

function best(candidates: (Requirement | undefined)[]): Requirement | undefined {
  let out: Requirement | undefined;
  for (const c of candidates) if (c && (!out || score(c) > score(out))) out = c;
  return out;
}

function requirementOf(e: Expr): Requirement | undefined {
  switch (e.kind) {
    case "and":
      return best(e.operands.map(requirementOf));
    case "or": {
      const parts = e.operands.map(requirementOf);
      if (parts.some((p) => p === undefined)) return undefined;
      return (parts as Requirement[]).flat();
    }
    case "comparison": {
      if (e.op !== "==") return undefined;
      const [field, value] = isStringLiteral(e.right) ? [e.left, e.right] : [e.right, e.left];
      const path = fieldPath(field);
      if (!path || LOW_CARDINALITY.has(path) || !isStringLiteral(value)) return undefined;
      const needle = wholeValue(value.value);
      return needle ? [needle] : undefined;
    }
    case "in": {
      const path = fieldPath(e.subject);
      if (!path || LOW_CARDINALITY.has(path) || !e.values.every(isStringLiteral)) return undefined;
      const needles = e.values.map((v) => wholeValue((v as Literal & { value: string }).value));
      return needles.every((n) => n !== undefined) ? (needles as string[]) : undefined;
    }
    case "pattern": {
      if (e.op === "regex") return undefined;
      const path = fieldPath(e.subject);
      if (!path || LOW_CARDINALITY.has(path) || !e.patterns.every(isStringLiteral)) return undefined;
      const needles = e.patterns.map((p) => patternFragment((p as Literal & { value: string }).value));
      return needles.every((n) => n !== undefined) ? (needles as string[]) : undefined;
    }
    default:
      return undefined;
  }
}

/** Drops needles that contain another needle: the shorter one already lets their lines through. */
function minimal(needles: string[]): string[] {
  const unique = [...new Set(needles)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const n of unique) if (!kept.some((k) => n.includes(k))) kept.push(n);
  return kept;
}

export interface LinePrefilter {
  /** False when no rule can match the line (it need not be parsed). */
  mayMatch(line: string): boolean;
  /** The texts looked for, lower-cased (for diagnostics and tests). */
  readonly needles: readonly string[];
  /** A global, case-insensitive RegExp finding any needle (to scan a whole block of lines at once). */
  readonly pattern: RegExp;
}

/** The pre-filter for these rules, or undefined when some rule gives no requirement (then parse every line). */
export function buildPrefilter(rules: readonly LoadedRule[]): LinePrefilter | undefined {
  if (rules.length === 0) return undefined;
  const all: string[] = [];
  for (const rule of rules) {
    const body = rule.query.ast.body;
    // A sequence only looks at events matching one of its stages (missing-event and `until` stages included), so
    // it needs the union of its stages' texts; skipping other events at worst delays a trailing missing-event
    // stage's hit to a later event or to the end of the input.
    const conditions =
      body.kind === "event" ? [body.condition] : [...body.stages, ...(body.until ? [body.until] : [])].map((s) => s.query.condition);
    for (const condition of conditions) {
      const req = requirementOf(condition);
      if (!req) return undefined;
      all.push(...req);
    }
  }
  const needles = minimal(all);
  const source = needles.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");
  // Case-insensitive without the u flag: only ASCII letters fold onto ASCII letters, which is what the needles need.
  const re = new RegExp(source, "i");
  return { mayMatch: (line) => re.test(line), needles, pattern: new RegExp(source, "gi") };
}
