/**
 * A line pre-filter for replay: JSON.parse costs more than everything else per event, and almost no event matches
 * any rule. From each rule's query we derive text that must appear in an event's JSON line for the rule to match
 * (e.g. `process.name == "curl"` needs `"curl"`; `process.args : "*keychain*"` needs `keychain`); a line that
 * contains none of them, in any ASCII case, cannot match and need not be parsed. Lines with non-ASCII bytes are
 * always parsed (case folding beyond ASCII, e.g. the Kelvin sign, is the engine's business).
 *
 * Per condition (an event query, or one stage of a sequence) the requirement is one of:
 * - a decisive clause: texts of which the line must hold one, taken from an ordinary field (`process.name`,
 *   `process.args`, `file.path`, …). A line holding any decisive text is parsed.
 * - otherwise a conjunction of weak clauses: the category's text (`process where` needs the value `"process"`) and
 *   the texts of low-cardinality fields (`event.type == "start"`, `event.action == "exec"`). The line is parsed
 *   when it holds a text of every clause — so a rule that names no text forces a parse only of the lines of its
 *   own category and action, never of all lines.
 * Only a condition with no requirement at all (`any where true`) turns the pre-filter off.
 *
 * Sound by construction, as long as the line's serializer writes these characters as themselves (lines holding a
 * backslash, which may be a `\u` escape, are always parsed by replay): only letters, digits, space and
 * `-_.,:;=+@#%!~` are used in texts — characters no JSON serializer escapes (JSON.stringify, Python's json, Go's
 * encoding/json alike). A whole value is looked for with its quotes and must not be followed by `:` (after
 * optional white space): a JSON string followed by a colon is a key, and a value is never one. Anything else
 * (regexes, functions, `not`, numbers, booleans) gives no requirement.
 */
import type { EventQuery, Expr, Literal } from "../eql/index.js";
import type { LoadedRule } from "./ruleFile.js";

/**
 * Fields with a handful of values that every event carries: their texts are weak (they only narrow by kind of
 * event), ranked by how much they narrow; those ranked 0 are the same on every event of a source and are not used.
 */
const WEAK_RANK = new Map<string, number>([
  ["event.action", 3],
  ["event.type", 2],
  ["event.category", 2],
  ["event.outcome", 1],
  ["event.kind", 0],
  ["event.module", 0],
  ["event.dataset", 0],
  ["host.os.type", 0],
  ["host.os.name", 0],
  ["host.os.family", 0],
  ["host.os.platform", 0],
  ["agent.type", 0],
  ["ecs.version", 0],
]);
const CATEGORY_RANK = 2;
/** Clauses of one weak conjunction at most (each costs regex matches on the lines that hold its texts). */
const MAX_WEAK_CLAUSES = 3;

const SAFE = /^[A-Za-z0-9 _.,:;=+@#%!~-]+$/;
const UNSAFE_SPLIT = /[^A-Za-z0-9 _.,:;=+@#%!~-]+/;

/** A text a line must hold: a whole JSON string value (`"curl"`, not a key), or a fragment anywhere. */
interface Needle {
  /** Lower-cased; a whole value includes its quotes. */
  text: string;
  whole: boolean;
}

/** "The lower-cased line holds at least one of these." */
interface Clause {
  needles: Needle[];
  /** Decisive (from an ordinary field, texts long enough) or weak, and then how much it narrows (0–3). */
  strong: boolean;
  rank: number;
}

function isStringLiteral(e: Expr): e is Literal & { value: string } {
  return e.kind === "literal" && e.type === "string" && typeof e.value === "string";
}

function fieldPath(e: Expr): string | undefined {
  return e.kind === "field" ? e.path.join(".") : undefined;
}

/** A whole value's needle; undefined if not safe or if the value could also be written unquoted (a number, …). */
function wholeValue(text: string): Needle | undefined {
  if (!SAFE.test(text) || /^(true|false|null|-?\d+(\.\d+)?)$/i.test(text)) return undefined;
  return { text: `"${text.toLowerCase()}"`, whole: true };
}

/** The longest safe literal run of a wildcard pattern (split on `*`, `?` and unsafe characters), lower-cased. */
function patternFragment(pattern: string): Needle | undefined {
  if (!pattern.includes("*") && !pattern.includes("?")) return wholeValue(pattern);
  let best = "";
  for (const part of pattern.split(/[*?]/)) {
    for (const piece of part.split(UNSAFE_SPLIT)) if (piece.length > best.length) best = piece;
  }
  return best.length > 0 ? { text: best.toLowerCase(), whole: false } : undefined;
}

/** A decisive needle: any whole value, or a fragment of 3 characters or more. */
function isStrongNeedle(n: Needle): boolean {
  return n.whole || n.text.length >= 3;
}

function clauseFor(path: string, needles: (Needle | undefined)[]): Clause | undefined {
  if (needles.some((n) => n === undefined)) return undefined;
  const all = needles as Needle[];
  const weakRank = WEAK_RANK.get(path);
  if (weakRank !== undefined) return weakRank > 0 ? { needles: all, strong: false, rank: weakRank } : undefined;
  return { needles: all, strong: all.every(isStrongNeedle), rank: 3 };
}

function score(c: Clause): number {
  const shortest = Math.min(...c.needles.map((n) => n.text.length));
  return (c.strong ? 1000 : c.rank * 100) + shortest - 2 * Math.log2(c.needles.length);
}

function best(clauses: (Clause | undefined)[]): Clause | undefined {
  let out: Clause | undefined;
  for (const c of clauses) if (c && (!out || score(c) > score(out))) out = c;
  return out;
}

/** The best single clause an expression requires. */
function clauseOf(e: Expr): Clause | undefined {
  switch (e.kind) {
    case "and":
      return best(e.operands.map(clauseOf));
    case "or": {
      const parts = e.operands.map(clauseOf);
      if (parts.some((p) => p === undefined)) return undefined;
      const clauses = parts as Clause[];
      return {
        needles: clauses.flatMap((c) => c.needles),
        strong: clauses.every((c) => c.strong),
        rank: Math.min(...clauses.map((c) => c.rank)),
      };
    }
    case "comparison": {
      if (e.op !== "==") return undefined;
      const [field, value] = isStringLiteral(e.right) ? [e.left, e.right] : [e.right, e.left];
      const path = fieldPath(field);
      if (!path || !isStringLiteral(value)) return undefined;
      return clauseFor(path, [wholeValue(value.value)]);
    }
    case "in": {
      const path = fieldPath(e.subject);
      if (!path || !e.values.every(isStringLiteral)) return undefined;
      return clauseFor(
        path,
        e.values.map((v) => wholeValue((v as Literal & { value: string }).value)),
      );
    }
    case "pattern": {
      if (e.op === "regex") return undefined;
      const path = fieldPath(e.subject);
      if (!path || !e.patterns.every(isStringLiteral)) return undefined;
      return clauseFor(
        path,
        e.patterns.map((p) => patternFragment((p as Literal & { value: string }).value)),
      );
    }
    default:
      return undefined;
  }
}

/** A condition's requirement: one decisive clause, or clauses that must all hold; undefined: none at all. */
type Requirement = { decisive: Clause } | { all: Clause[] };

function requirementOf(q: EventQuery): Requirement | undefined {
  const conjuncts = q.condition.kind === "and" ? q.condition.operands : [q.condition];
  const clauses: Clause[] = [];
  for (const c of conjuncts) {
    const clause = clauseOf(c);
    if (clause) clauses.push(clause);
  }
  const decisive = best(clauses.filter((c) => c.strong));
  if (decisive) return { decisive };
  if (q.category !== null) {
    const needle = wholeValue(q.category);
    if (needle) clauses.push({ needles: [needle], strong: false, rank: CATEGORY_RANK });
  }
  if (clauses.length === 0) return undefined;
  clauses.sort((a, b) => score(b) - score(a));
  return { all: clauses.slice(0, MAX_WEAK_CLAUSES) };
}

/** Drops needles that contain another needle: the shorter one already lets their lines through. */
function minimal(needles: Needle[]): Needle[] {
  const unique = [...new Map(needles.map((n) => [key(n), n])).values()].sort((a, b) => a.text.length - b.text.length);
  const kept: Needle[] = [];
  for (const n of unique) if (!kept.some((k) => covers(k, n))) kept.push(n);
  return kept;
}

function key(n: Needle): string {
  return `${n.whole ? "w" : "f"}${n.text}`;
}

/** Every line holding `n` holds `k`. */
function covers(k: Needle, n: Needle): boolean {
  if (k.whole) return n.whole && n.text === k.text;
  return n.text.includes(k.text);
}

function source(n: Needle): string {
  const escaped = n.text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return n.whole ? `${escaped}(?![ \\t\\r]*:)` : escaped;
}

export interface LinePrefilter {
  /** False when no rule can match the line (it need not be parsed). */
  mayMatch(line: string): boolean;
  /**
   * Scans lines (separated by `\n`) at once: returns, in ascending order, one offset inside each line that must
   * be parsed (at most one per line). Lines with no offset need not be parsed.
   */
  candidates(text: string): number[];
  /** Decisive texts, lower-cased (a whole value with its quotes): a line holding one is parsed. */
  readonly needles: readonly string[];
  /** Weak conjunctions: a line holding a text of every clause is parsed. */
  readonly conjunctions: readonly (readonly (readonly string[])[])[];
}

/** The pre-filter for these rules, or undefined when some condition gives no requirement (then parse every line). */
export function buildPrefilter(rules: readonly LoadedRule[]): LinePrefilter | undefined {
  if (rules.length === 0) return undefined;
  const decisive: Needle[] = [];
  const conjunctions = new Map<string, Needle[][]>();
  for (const rule of rules) {
    const body = rule.query.ast.body;
    // A sequence only looks at events matching one of its stages (missing-event and `until` stages included), so
    // it needs the union of its stages' texts; skipping other events at worst delays a trailing missing-event
    // stage's hit to a later event or to the end of the input.
    const queries = body.kind === "event" ? [body] : [...body.stages, ...(body.until ? [body.until] : [])].map((s) => s.query);
    for (const q of queries) {
      const req = requirementOf(q);
      if (!req) return undefined;
      if ("decisive" in req) decisive.push(...req.decisive.needles);
      else {
        const clauses = req.all.map((c) => minimal(c.needles));
        conjunctions.set(JSON.stringify(clauses.map((c) => c.map(key).sort()).sort()), clauses);
      }
    }
  }
  return new Scanner(minimal(decisive), [...conjunctions.values()]);
}

class Scanner implements LinePrefilter {
  readonly needles: readonly string[];
  readonly conjunctions: readonly (readonly (readonly string[])[])[];
  private readonly pattern: RegExp;
  /**
   * Per matched text (lower-cased): null when decisive, else the weak needles it shows present: itself and the
   * weak fragments that are its prefixes (the pattern reports only one text per offset, the longest weak one).
   */
  private readonly atomOf = new Map<string, number[] | null>();
  /** Per conjunction, per clause: the weak needles' numbers. */
  private readonly weak: number[][][];
  /** seenIn[atom] === line: the weak needle was seen in the line being scanned. */
  private readonly seenIn: Float64Array;
  private line = 0;

  constructor(decisive: Needle[], conjunctions: Needle[][][]) {
    this.needles = decisive.map((n) => n.text);
    this.conjunctions = conjunctions.map((clauses) => clauses.map((c) => c.map((n) => n.text)));
    const weakNeedles: Needle[] = [];
    const weakIds = new Map<string, number>();
    this.weak = conjunctions.map((clauses) =>
      clauses.map((clause) =>
        clause.map((n) => {
          let id = weakIds.get(key(n));
          if (id === undefined) {
            id = weakNeedles.length;
            weakIds.set(key(n), id);
            weakNeedles.push(n);
          }
          return id;
        }),
      ),
    );
    for (const n of decisive) this.atomOf.set(n.text, null);
    // A weak text that is also decisive is decisive: every line holding it is parsed anyway.
    const weakOnly = weakNeedles.filter((n) => !this.atomOf.has(n.text)).sort((a, b) => b.text.length - a.text.length);
    for (const n of weakOnly) {
      const shown = weakNeedles.flatMap((other, id) => (other.text === n.text || (!other.whole && n.text.startsWith(other.text)) ? [id] : []));
      this.atomOf.set(n.text, shown);
    }
    this.seenIn = new Float64Array(Math.max(1, weakNeedles.length));
    // Decisive alternatives first, then weak ones longest first: of texts starting at one offset, the first listed
    // is reported, and a shorter weak text starting there is a prefix of the reported one.
    const alternatives = [...decisive, ...weakOnly].map(source);
    // Case-insensitive without the u flag: only ASCII letters fold onto ASCII letters, which is what the texts need.
    this.pattern = new RegExp(alternatives.length > 0 ? alternatives.join("|") : "(?!)", "gi");
  }

  mayMatch(line: string): boolean {
    return this.candidates(line).length > 0;
  }

  candidates(text: string): number[] {
    const out: number[] = [];
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    // The line whose weak texts are being gathered: its first offset and its end (-1: none).
    let weakAt = -1;
    let weakEnd = -1;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const at = m.index;
      if (weakAt !== -1 && at > weakEnd) {
        if (this.someConjunctionHolds()) out.push(weakAt);
        weakAt = -1;
      }
      const shown = this.atomOf.get(m[0].toLowerCase());
      if (shown === undefined || shown === null) {
        // Decisive (a text this scanner did not list cannot be matched; treat it as decisive, to be safe).
        out.push(weakAt !== -1 ? weakAt : at);
        weakAt = -1;
        const nl = text.indexOf("\n", at);
        if (nl === -1) break;
        pattern.lastIndex = nl + 1;
        continue;
      }
      if (weakAt === -1) {
        this.line++;
        weakAt = at;
        const nl = text.indexOf("\n", at);
        weakEnd = nl === -1 ? text.length : nl;
      }
      for (let i = 0; i < shown.length; i++) this.seenIn[shown[i]] = this.line;
      // Texts may overlap: look again from the next character, not after this match.
      pattern.lastIndex = at + 1;
    }
    if (weakAt !== -1 && this.someConjunctionHolds()) out.push(weakAt);
    return out;
  }

  private someConjunctionHolds(): boolean {
    const line = this.line;
    const seen = this.seenIn;
    for (const clauses of this.weak) {
      let all = true;
      for (const clause of clauses) {
        let any = false;
        for (const atom of clause) {
          if (seen[atom] === line) {
            any = true;
            break;
          }
        }
        if (!any) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }
}
