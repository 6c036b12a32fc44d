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
 * Sound by construction for lines without a backslash (replay parses every line holding one): JSON escapes all
 * start with a backslash, so in such a line every printable ASCII character of a value is written as itself.
 * Texts use printable ASCII only, never the quote or the backslash. A whole value is looked for with its quotes and must not be followed by `:` (after
 * optional white space): a JSON string followed by a colon is a key, and a value is never one. Anything else
 * (regexes, functions, `not`, numbers, booleans) gives no requirement.
 */
import type { EventQuery, Expr, Literal } from "../eql/index.js";
import { TextAutomaton } from "../eql/textAutomaton.js";
import { LOW_CARDINALITY } from "../eql/ruleIndex.js";
import type { LoadedRule } from "./ruleFile.js";

/** Weak fields (event.action, event.type, …, host.os.*) and how much each narrows: the candidate index's table. */
const WEAK_RANK = LOW_CARDINALITY;
const CATEGORY_RANK = 2;

/** Printable ASCII but the quote and the backslash: what a serializer writes as itself or with a backslash. */
const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const UNSAFE_SPLIT = /[^\x20\x21\x23-\x5b\x5d-\x7e]+/;

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
      const bool = [e.left, e.right].find((x) => x.kind === "literal" && typeof x.value === "boolean");
      if (bool !== undefined && (e.left.kind === "field" || e.right.kind === "field")) {
        // `true` / `false`, as a JSON literal or as the string the engine also takes for it.
        return { needles: [{ text: String((bool as Literal).value), whole: false }], strong: false, rank: 3 };
      }
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

/** Up to this many texts, a RegExp alternation finds candidate lines faster than the automaton reads them all. */
const MAX_TRIGGER_PATTERN_TEXTS = 64;

/** Clauses of one conjunction at most (the most selective ones). */
const MAX_CLAUSES = 6;

/**
 * A condition's requirement, as clauses that must all hold, the most selective first: the clauses of its top-level
 * conjuncts and its category; undefined when it has none at all.
 */
function requirementOf(q: EventQuery): Clause[] | undefined {
  const conjuncts = q.condition.kind === "and" ? q.condition.operands : [q.condition];
  const clauses: Clause[] = [];
  for (const c of conjuncts) {
    const clause = clauseOf(c);
    if (clause) clauses.push(clause);
  }
  if (q.category !== null) {
    const needle = wholeValue(q.category);
    if (needle) clauses.push({ needles: [needle], strong: false, rank: CATEGORY_RANK });
  }
  if (clauses.length === 0) return undefined;
  clauses.sort((a, b) => score(b) - score(a));
  return clauses.slice(0, MAX_CLAUSES);
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

export interface LinePrefilter {
  /** False when no rule can match the line (it need not be parsed). */
  mayMatch(line: string): boolean;
  /**
   * Scans lines (bytes separated by `\n`) at once: returns, in ascending order, one offset inside each line that
   * must be parsed (at most one per line). Lines with no offset need not be parsed.
   */
  candidates(block: Uint8Array): number[];
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
      if (req.length === 1) decisive.push(...req[0].needles);
      else {
        const clauses = req.map((c) => minimal(c.needles));
        conjunctions.set(JSON.stringify(clauses.map((c) => c.map(key).sort()).sort()), clauses);
      }
    }
  }
  return new Scanner(minimal(decisive), [...conjunctions.values()]);
}

/**
 * Finds every needle in a block of lines in one pass over its bytes (an Aho-Corasick automaton over ASCII with
 * case folded, see textAutomaton.ts: a few operations per byte, whatever the number of needles). A decisive needle
 * makes its line a candidate at once (the scan goes on at the next line). Other needles mark the clauses they
 * satisfy; a conjunction is checked at the end of the line only if its first (most selective) clause was marked,
 * so the work per line follows the texts found in it, not the number of rules.
 */
class Scanner implements LinePrefilter {
  readonly needles: readonly string[];
  readonly conjunctions: readonly (readonly (readonly string[])[])[];
  /** The automaton finding the needles (textAutomaton.ts), its tables held here for the byte loop. */
  private readonly letter: Uint8Array;
  private readonly letters: number;
  /** Transitions by state offset (state * letters) + letter: the target's offset, bit-inverted if needles end there. */
  private readonly next: Int32Array;
  private readonly outputStart: Int32Array;
  private readonly outputs: Int32Array;
  /** Per needle: whether it is a whole value (must not be followed by `:`). */
  private readonly whole: Uint8Array;
  /** Per needle: null when decisive, else the (distinct) clauses it satisfies. */
  private readonly clausesOf: (Int32Array | null)[];
  /** Per clause: the conjunctions it is the first clause of. */
  private readonly triggers: Int32Array[];
  /** Per conjunction: its clauses. */
  private readonly clausesOfConjunction: Int32Array[];
  /** clauseIn[c] === line: clause c holds in the line being scanned. */
  private readonly clauseIn: Float64Array;
  /** Conjunctions to check at the end of the line; queuedIn[j] === line: conjunction j is among them. */
  private readonly queue: Int32Array;
  private readonly queuedIn: Float64Array;
  private queued = 0;
  private line = 0;
  /** With few decisive and first-clause texts: a RegExp finding the lines that hold one (the others cannot match). */
  private readonly trigger: RegExp | undefined;

  constructor(decisive: Needle[], conjunctions: Needle[][][]) {
    this.needles = decisive.map((n) => n.text);
    this.conjunctions = conjunctions.map((clauses) => clauses.map((c) => c.map((n) => n.text)));
    const ids = new Map<string, number>();
    const texts: Needle[] = [];
    const clausesOf: (Set<number> | null)[] = [];
    for (const n of decisive) {
      if (ids.has(n.text)) continue;
      ids.set(n.text, texts.length);
      texts.push(n);
      clausesOf.push(null);
    }
    // Clauses are shared between conjunctions (the category's, `"start"`…): one mark per line each.
    const clauseIds = new Map<string, number>();
    const triggers: number[][] = [];
    this.clausesOfConjunction = conjunctions.map((clauses, j) =>
      Int32Array.from(
        clauses.map((clause, k) => {
          const clauseKey = JSON.stringify(clause.map(key).sort());
          let c = clauseIds.get(clauseKey);
          if (c === undefined) {
            c = clauseIds.size;
            clauseIds.set(clauseKey, c);
            triggers.push([]);
            for (const n of clause) {
              let id = ids.get(n.text);
              if (id === undefined) {
                id = texts.length;
                ids.set(n.text, id);
                texts.push(n);
                clausesOf.push(new Set());
              }
              clausesOf[id]?.add(c);
            }
          }
          if (k === 0) triggers[c].push(j);
          return c;
        }),
      ),
    );
    this.clausesOf = clausesOf.map((c) => (c === null ? null : Int32Array.from(c)));
    this.triggers = triggers.map((t) => Int32Array.from(t));
    this.whole = Uint8Array.from(texts.map((n) => (n.whole ? 1 : 0)));
    this.clauseIn = new Float64Array(Math.max(1, clauseIds.size));
    this.queue = new Int32Array(Math.max(1, conjunctions.length));
    this.queuedIn = new Float64Array(Math.max(1, conjunctions.length));
    const triggerTexts = [...new Set([...decisive.map((n) => n.text), ...conjunctions.flatMap((clauses) => clauses[0].map((n) => n.text))])];
    if (triggerTexts.length <= MAX_TRIGGER_PATTERN_TEXTS) {
      // Case-insensitive without the u flag: only ASCII letters fold onto ASCII letters, which is what texts need.
      this.trigger = new RegExp(triggerTexts.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|"), "gi");
    }
    const automaton = new TextAutomaton(texts.map((n) => n.text));
    this.letter = automaton.letter;
    this.letters = automaton.letters;
    this.outputStart = automaton.outputStart;
    this.outputs = automaton.outputs;
    // For the byte loop: a transition holds the target state's offset in the table, bit-inverted (negative) when
    // needles end there — one load and one sign test per byte.
    const letters = automaton.letters;
    this.next = automaton.next.map((target) => {
      const offset = target * letters;
      return automaton.outputStart[target] === automaton.outputStart[target + 1] ? offset : ~offset;
    });
  }

  mayMatch(line: string): boolean {
    return this.candidates(Buffer.from(line)).length > 0;
  }

  candidates(block: Uint8Array): number[] {
    const trigger = this.trigger;
    if (trigger === undefined) return this.scan(block, 0, block.length, []);
    // Few texts: V8's RegExp finds the lines holding a decisive or first-clause text faster than the byte loop
    // reads every line; only those lines go through the automaton.
    const out: number[] = [];
    const text = Buffer.from(block.buffer, block.byteOffset, block.length).toString("latin1");
    trigger.lastIndex = 0;
    for (let m = trigger.exec(text); m !== null; m = trigger.exec(text)) {
      const start = text.lastIndexOf("\n", m.index) + 1;
      const nl = text.indexOf("\n", m.index);
      const end = nl === -1 ? text.length : nl;
      this.scan(block, start, end, out);
      if (nl === -1) break;
      trigger.lastIndex = nl + 1;
    }
    return out;
  }

  /** The automaton over the lines of block[from, to) (from: a line's start), adding candidates' offsets to `out`. */
  private scan(block: Uint8Array, from: number, to: number, out: number[]): number[] {
    const { letter, letters, next } = this;
    let line = ++this.line;
    let lineStart = from;
    let offset = 0;
    this.queued = 0;
    for (let i = from; i < to; i++) {
      const b = block[i];
      if (b === 10) {
        if (this.queued > 0 && this.conjunctionHolds(line)) out.push(lineStart);
        line++;
        lineStart = i + 1;
        offset = 0;
        continue;
      }
      offset = next[offset + letter[b]];
      if (offset >= 0) continue;
      offset = ~offset;
      if (!this.found(offset / letters, block, i, line)) continue;
      out.push(i);
      const nl = block.indexOf(10, i + 1);
      this.queued = 0;
      if (nl === -1 || nl >= to) {
        this.line = line;
        return out;
      }
      i = nl;
      line++;
      lineStart = nl + 1;
      offset = 0;
    }
    if (this.queued > 0 && this.conjunctionHolds(line)) out.push(lineStart);
    this.line = line;
    return out;
  }

  /** The needles ending at byte `end` (in state `state`): true when one is decisive; marks the others' clauses. */
  private found(state: number, block: Uint8Array, end: number, line: number): boolean {
    for (let k = this.outputStart[state]; k < this.outputStart[state + 1]; k++) {
      const id = this.outputs[k];
      if (this.whole[id] === 1 && followedByColon(block, end + 1)) continue;
      const clauses = this.clausesOf[id];
      if (clauses === null) return true;
      for (let i = 0; i < clauses.length; i++) {
        const c = clauses[i];
        if (this.clauseIn[c] === line) continue;
        this.clauseIn[c] = line;
        const triggered = this.triggers[c];
        for (let t = 0; t < triggered.length; t++) {
          const j = triggered[t];
          if (this.queuedIn[j] !== line) {
            this.queuedIn[j] = line;
            this.queue[this.queued++] = j;
          }
        }
      }
    }
    return false;
  }

  /** At the end of a line: whether a queued conjunction has all its clauses marked (and the queue is emptied). */
  private conjunctionHolds(line: number): boolean {
    const queued = this.queued;
    this.queued = 0;
    for (let q = 0; q < queued; q++) {
      const clauses = this.clausesOfConjunction[this.queue[q]];
      let all = true;
      for (let i = 0; i < clauses.length && all; i++) all = this.clauseIn[clauses[i]] === line;
      if (all) return true;
    }
    return false;
  }
}

/** Whether the next byte from `from` on that is not a space, tab or CR is a colon (the string before is a key). */
function followedByColon(block: Uint8Array, from: number): boolean {
  for (let i = from; i < block.length; i++) {
    const b = block[i];
    if (b === 32 || b === 9 || b === 13) continue;
    return b === 58;
  }
  return false;
}
