/**
 * Linear-time matching of Lucene regular expressions (`regex`, `regex~`): the parsed pattern becomes a Thompson
 * NFA over code points, run as a DFA built lazily, one state per set of NFA states met, with a bounded cache (when
 * it fills, it is emptied and building goes on). Each input code point costs at most one DFA step, or one NFA
 * step (O(pattern)) when the step is new, so any pattern runs in O(input × pattern) time: no backtracking, no
 * catastrophic case. A backtracking RegExp took 4 s on 8 characters for `.*{2}{1,3}+$`.
 *
 * Semantics are those of luceneRegexToJs's RegExp (the `u` flag, plus `i` for `regex~`), which the tests check
 * this against: code points (a lone surrogate is one), case-insensitive equality as `iu` has it (caseFold.ts),
 * and `&` and `~` only over whole patterns (where they are boolean operations on whole-string matches).
 *
 * Bounded repetition `x{n,m}` is expanded into copies; a pattern that expands past MAX_NFA_STATES is refused with
 * a LuceneRegexError at the outermost repetition, as Lucene refuses automata past its state limit.
 */
import { caseVariants } from "./caseFold.js";
import { LuceneRegexError, misplacedOperator, parseLuceneRegex, rangeByWidth, type ClassItem, type LuceneNode } from "./luceneRegex.js";

/** The most NFA states a pattern may compile to. */
export const MAX_NFA_STATES = 10_000;
/** DFA states kept; past this the cache is emptied, and the input at hand is finished by NFA simulation. */
const MAX_DFA_STATES = 2_000;
/** The same bound on the NFA states the cached DFA states hold in all (their memory, for large patterns). */
const MAX_CACHED_NFA_STATES = 200_000;

const MAX_CODE_POINT = 0x10ffff;

/** Code point ranges (inclusive pairs), or their complement. */
interface CharSet {
  ranges: readonly number[];
  negated: boolean;
}

const DIGIT = [0x30, 0x39];
const SPACE = [0x09, 0x0d, 0x20, 0x20];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
/** JavaScript's \s: WhiteSpace and LineTerminator. */
const JS_SPACE = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
/** Under `iu`, JavaScript's \w also holds the long s and the Kelvin sign (they fold to `s` and `k`). */
const JS_WORD_IU = [...WORD, 0x17f, 0x17f, 0x212a, 0x212a];

function complement(ranges: readonly number[]): number[] {
  const sorted: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) sorted.push([ranges[i], ranges[i + 1]]);
  sorted.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push(next, lo - 1);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

const ANY: CharSet = { ranges: [0, MAX_CODE_POINT], negated: false };

/** `\d \D \s \S \w \W` outside a class: luceneRegex's PREDEFINED. */
function predefinedSet(letter: string): CharSet {
  const ranges = letter === "d" || letter === "D" ? DIGIT : letter === "s" || letter === "S" ? SPACE : WORD;
  return { ranges, negated: letter === letter.toUpperCase() };
}

/** The same inside `[...]`, where they are JavaScript's own escapes (luceneRegex's CLASS_PREDEFINED). */
function classPredefinedRanges(letter: string, caseInsensitive: boolean): readonly number[] {
  switch (letter) {
    case "d":
      return DIGIT;
    case "D":
      return complement(DIGIT);
    case "s":
      return SPACE;
    case "S":
      return complement(JS_SPACE);
    case "w":
      return WORD;
    default:
      return complement(caseInsensitive ? JS_WORD_IU : WORD);
  }
}

function classSet(negated: boolean, items: readonly ClassItem[], caseInsensitive: boolean): CharSet {
  const ranges: number[] = [];
  for (const item of items) {
    if (item.kind === "char") {
      const cp = item.ch.codePointAt(0) ?? 0;
      ranges.push(cp, cp);
    } else if (item.kind === "range") {
      ranges.push(item.from.codePointAt(0) ?? 0, item.to.codePointAt(0) ?? 0);
    } else {
      ranges.push(...classPredefinedRanges(item.letter, caseInsensitive));
    }
  }
  return { ranges, negated };
}

function inRanges(ranges: readonly number[], cp: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (cp >= ranges[i] && cp <= ranges[i + 1]) return true;
  return false;
}

/** As a RegExp class: case-insensitively, a code point is in the set when any of its case variants is. */
function setHas(set: CharSet, cp: number, caseInsensitive: boolean): boolean {
  let found = inRanges(set.ranges, cp);
  if (!found && caseInsensitive) {
    for (const variant of caseVariants(cp)) {
      if (inRanges(set.ranges, variant)) {
        found = true;
        break;
      }
    }
  }
  return found !== set.negated;
}

// ---- numeric intervals `<n-m>`, as the trees intervalSource's regular expressions stand for ----

const DIGIT_CLASS: LuceneNode = { kind: "class", negated: false, items: [{ kind: "range", from: "0", to: "9" }] };

function digitClass(from: number, to: number): LuceneNode {
  return { kind: "class", negated: false, items: [{ kind: "range", from: String(from), to: String(to) }] };
}

function digitsNode(count: number): LuceneNode {
  return { kind: "repeat", operand: DIGIT_CLASS, min: count, max: count, at: 0 };
}

function fixedWidthRange(low: string, high: string): LuceneNode {
  const width = low.length;
  if (low === high) return { kind: "literal", text: low };
  if (/^0*$/.test(low) && /^9*$/.test(high)) return digitsNode(width);
  const first = (d: string, rest: LuceneNode): LuceneNode => ({ kind: "concat", parts: [{ kind: "char", ch: d }, rest] });
  if (low[0] === high[0]) return first(low[0], fixedWidthRange(low.slice(1), high.slice(1)));
  const rest = width - 1;
  const lowFirst = Number(low[0]);
  const highFirst = Number(high[0]);
  const options = [first(low[0], fixedWidthRange(low.slice(1), "9".repeat(rest)))];
  if (highFirst - lowFirst > 1) {
    options.push({ kind: "concat", parts: [digitClass(lowFirst + 1, highFirst - 1), digitsNode(rest)] });
  }
  options.push(first(high[0], fixedWidthRange("0".repeat(rest), high.slice(1))));
  return { kind: "union", options };
}

function intervalNode(min: number, max: number, digits: number): LuceneNode {
  if (digits > 0) return fixedWidthRange(String(min).padStart(digits, "0"), String(max).padStart(digits, "0"));
  const options = rangeByWidth(min, max).map(([low, high]) => fixedWidthRange(low, high));
  const zeros: LuceneNode = { kind: "repeat", operand: { kind: "char", ch: "0" }, min: 0, max: null, at: 0 };
  return { kind: "concat", parts: [zeros, { kind: "union", options }] };
}

// ---- the NFA ----

const CHAR = 0;
const SPLIT = 1;
const MATCH = 2;
const FAIL = 3;

/** Thompson NFA states in parallel arrays; built backwards (each node is compiled knowing what follows it). */
class Nfa {
  readonly kind: number[] = [];
  /** CHAR: the set it reads. */
  readonly sets: Array<CharSet | null> = [];
  /** CHAR: the state after it. */
  readonly next: number[] = [];
  /** SPLIT: the states it leads to without reading. */
  readonly outs: number[][] = [];
  /** Copies of repeated operands that added no state, bounded by MAX_NFA_STATES. */
  private emptyCopies = 0;
  /** The outermost repetition being expanded, for the size error. */
  private repeatAt: number | null = null;

  constructor(readonly caseInsensitive: boolean) {}

  private add(kind: number, set: CharSet | null, next: number, outs: number[]): number {
    if (this.kind.length >= MAX_NFA_STATES) this.tooLarge();
    this.kind.push(kind);
    this.sets.push(set);
    this.next.push(next);
    this.outs.push(outs);
    return this.kind.length - 1;
  }

  private tooLarge(): never {
    const where = this.repeatAt === null ? "" : ` (the repetition at position ${this.repeatAt})`;
    throw new LuceneRegexError(
      `the pattern is too large: it expands to more than ${MAX_NFA_STATES} automaton states${where}`,
      this.repeatAt ?? 0,
    );
  }

  char(set: CharSet, next: number): number {
    return this.add(CHAR, set, next, []);
  }

  split(outs: number[]): number {
    return this.add(SPLIT, null, -1, outs);
  }

  match(): number {
    return this.add(MATCH, null, -1, []);
  }

  fail(): number {
    return this.add(FAIL, null, -1, []);
  }

  /** The start state of `node` followed by `next`. */
  compile(node: LuceneNode, next: number): number {
    switch (node.kind) {
      case "char": {
        const cp = node.ch.codePointAt(0) ?? 0;
        return this.char({ ranges: [cp, cp], negated: false }, next);
      }
      case "any":
        return this.char(ANY, next);
      case "predefined":
        return this.char(predefinedSet(node.letter), next);
      case "class":
        return this.char(classSet(node.negated, node.items, this.caseInsensitive), next);
      case "anyString":
        return this.star(() => ({ kind: "any" }), next);
      case "empty":
        return this.fail();
      case "literal": {
        let state = next;
        const chars = [...node.text];
        for (let i = chars.length - 1; i >= 0; i--) state = this.compile({ kind: "char", ch: chars[i] }, state);
        return state;
      }
      case "interval":
        return this.compile(intervalNode(node.min, node.max, node.digits), next);
      case "concat": {
        let state = next;
        for (let i = node.parts.length - 1; i >= 0; i--) state = this.compile(node.parts[i], state);
        return state;
      }
      case "union":
        return this.split(node.options.map((option) => this.compile(option, next)));
      case "repeat":
        return this.repeat(node, next);
      case "intersection":
      case "complement":
        throw misplacedOperator(node);
    }
  }

  private star(operand: () => LuceneNode, next: number): number {
    const loop = this.split([]);
    this.outs[loop].push(this.compile(operand(), loop), next);
    return loop;
  }

  private repeat(node: LuceneNode & { kind: "repeat" }, next: number): number {
    const outermost = this.repeatAt === null;
    if (outermost) this.repeatAt = node.at;
    const copy = (after: number): number => {
      const before = this.kind.length;
      const start = this.compile(node.operand, after);
      // States are capped as they are added; a copy that adds none (an empty operand) is still work, so that
      // `(){2000000000}` is refused rather than spun through.
      if (this.kind.length === before && ++this.emptyCopies > MAX_NFA_STATES) this.tooLarge();
      return start;
    };
    let state = next;
    if (node.max === null) {
      const loop = this.split([]);
      this.outs[loop].push(copy(loop), next);
      state = loop;
    } else {
      for (let i = node.min; i < node.max; i++) state = this.split([copy(state), next]);
    }
    for (let i = 0; i < node.min; i++) state = copy(state);
    if (outermost) this.repeatAt = null;
    return state;
  }
}

// ---- the lazily built DFA ----

interface DState {
  /** The NFA states (CHAR and MATCH only), sorted. */
  readonly nfa: readonly number[];
  readonly accepting: boolean;
  /** No match can follow. */
  readonly dead: boolean;
  /** By input class: the state after reading a code point of that class, once computed. */
  readonly next: Array<DState | undefined>;
}

/**
 * The input alphabet in classes: code points that every CharSet of the NFA treats alike share a class, so that a
 * DFA state needs one transition per class (a handful), not per code point.
 */
class InputClasses {
  /** The distinct sets the NFA reads, and for each CHAR state the index of its set. */
  readonly sets: CharSet[] = [];
  readonly setOfState: Int32Array;
  /** For each class, whether each set holds it. */
  readonly holds: boolean[][] = [];
  /** The class of each ASCII code point (read directly by the DFA's loop). */
  readonly ascii = new Int32Array(128);
  private other = new Map<number, number>();
  private readonly bySignature = new Map<string, number>();

  constructor(private readonly nfa: Nfa) {
    const index = new Map<string, number>();
    this.setOfState = new Int32Array(nfa.kind.length).fill(-1);
    nfa.kind.forEach((kind, s) => {
      if (kind !== CHAR) return;
      const set = nfa.sets[s] as CharSet;
      const key = `${set.negated}:${set.ranges.join(",")}`;
      let i = index.get(key);
      if (i === undefined) {
        i = this.sets.length;
        index.set(key, i);
        this.sets.push(set);
      }
      this.setOfState[s] = i;
    });
    for (let cp = 0; cp < 128; cp++) this.ascii[cp] = this.classify(cp);
  }

  get count(): number {
    return this.holds.length;
  }

  private classify(cp: number): number {
    const holds = this.sets.map((set) => setHas(set, cp, this.nfa.caseInsensitive));
    const signature = holds.map((h) => (h ? "1" : "0")).join("");
    let id = this.bySignature.get(signature);
    if (id === undefined) {
      id = this.holds.length;
      this.bySignature.set(signature, id);
      this.holds.push(holds);
    }
    return id;
  }

  of(cp: number): number {
    if (cp < 128) return this.ascii[cp];
    let id = this.other.get(cp);
    if (id === undefined) {
      if (this.other.size >= MAX_CACHED_CODE_POINTS) this.other = new Map();
      id = this.classify(cp);
      this.other.set(cp, id);
    }
    return id;
  }
}

/** Code points outside ASCII whose class is remembered. */
const MAX_CACHED_CODE_POINTS = 65_536;

class LazyDfa {
  private states = new Map<string, DState>();
  private cachedNfaStates = 0;
  private start: DState;
  private readonly classes: InputClasses;
  private readonly mark: Uint32Array;
  private generation = 0;
  /** NFA simulation lists (used once the DFA cache overflows during an input). */
  private current: Int32Array;
  private following: Int32Array;

  constructor(
    private readonly nfa: Nfa,
    private readonly startState: number,
  ) {
    this.classes = new InputClasses(nfa);
    this.mark = new Uint32Array(nfa.kind.length);
    this.current = new Int32Array(nfa.kind.length);
    this.following = new Int32Array(nfa.kind.length);
    this.start = this.intern(this.closure([startState]));
  }

  private nextGeneration(): number {
    if (++this.generation === 0xffffffff) {
      this.mark.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }

  /**
   * Adds to `out` (from `length` on) the CHAR and MATCH states reachable from `seed` without reading, skipping
   * states already marked with `gen`; returns the new length.
   */
  private addClosure(seed: number, gen: number, out: Int32Array, length: number, stack: number[]): number {
    const { kind, outs } = this.nfa;
    stack.push(seed);
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (this.mark[s] === gen) continue;
      this.mark[s] = gen;
      const k = kind[s];
      if (k === SPLIT) {
        const o = outs[s];
        for (let i = o.length - 1; i >= 0; i--) stack.push(o[i]);
      } else if (k !== FAIL) {
        out[length++] = s;
      }
    }
    return length;
  }

  /** The CHAR and MATCH states reachable from `seeds` without reading, sorted. */
  private closure(seeds: readonly number[]): number[] {
    const gen = this.nextGeneration();
    const stack: number[] = [];
    let length = 0;
    for (const seed of seeds) length = this.addClosure(seed, gen, this.following, length, stack);
    return Array.from(this.following.subarray(0, length)).sort((a, b) => a - b);
  }

  private intern(nfaStates: number[]): DState {
    const key = nfaStates.join(",");
    let state = this.states.get(key);
    if (state === undefined) {
      state = {
        nfa: nfaStates,
        accepting: nfaStates.some((s) => this.nfa.kind[s] === MATCH),
        dead: nfaStates.length === 0,
        next: [],
      };
      this.states.set(key, state);
      this.cachedNfaStates += nfaStates.length;
    }
    return state;
  }

  /** Whether the cache is full; if so it is emptied (states in use stay valid, the rest is garbage). */
  private flushIfFull(): boolean {
    if (this.states.size < MAX_DFA_STATES && this.cachedNfaStates < MAX_CACHED_NFA_STATES) return false;
    this.states = new Map();
    this.cachedNfaStates = 0;
    this.start = this.intern(this.closure([this.startState]));
    return true;
  }

  private step(from: DState, cls: number): DState {
    const { kind, next } = this.nfa;
    const holds = this.classes.holds[cls];
    const setOf = this.classes.setOfState;
    const seeds: number[] = [];
    for (const s of from.nfa) {
      if (kind[s] === CHAR && holds[setOf[s]]) seeds.push(next[s]);
    }
    const to = this.intern(this.closure(seeds));
    from.next[cls] = to;
    return to;
  }

  test(s: string): boolean {
    let state = this.start;
    const ascii = this.classes.ascii;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      let cp = s.charCodeAt(i);
      let cls: number;
      if (cp < 128) {
        cls = ascii[cp];
      } else {
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
          const low = s.charCodeAt(i + 1);
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            i++;
          }
        }
        cls = this.classes.of(cp);
      }
      let next = state.next[cls];
      if (next === undefined) {
        // A pattern whose DFA outgrows the cache on this input: simulate the NFA for the rest of it, which costs
        // O(pattern) per code point without building (and discarding) states.
        if (this.flushIfFull()) return this.simulate(s, i, state.nfa, cp);
        next = this.step(state, cls);
      }
      if (next.dead) return false;
      state = next;
    }
    return state.accepting;
  }

  /** NFA simulation from the set `from`, reading the code point `cp` that ends at `i`, then the rest of `s`. */
  private simulate(s: string, i: number, from: readonly number[], cp: number): boolean {
    const { kind, next } = this.nfa;
    const setOf = this.classes.setOfState;
    const stack: number[] = [];
    let current = this.current;
    let following = this.following;
    current.set(from);
    let length = from.length;
    const n = s.length;
    for (;;) {
      const holds = this.classes.holds[this.classes.of(cp)];
      const gen = this.nextGeneration();
      let nextLength = 0;
      for (let k = 0; k < length; k++) {
        const st = current[k];
        if (kind[st] === CHAR && holds[setOf[st]]) nextLength = this.addClosure(next[st], gen, following, nextLength, stack);
      }
      if (nextLength === 0) return false;
      [current, following] = [following, current];
      length = nextLength;
      if (++i >= n) break;
      cp = s.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const low = s.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
    }
    for (let k = 0; k < length; k++) if (kind[current[k]] === MATCH) return true;
    return false;
  }
}

// ---- a literal every match contains: a near miss without it is refused by indexOf, at native speed ----

/** The one string `node` matches, if it matches exactly one (and it is short), else null. */
export function exactText(node: LuceneNode): string | null {
  switch (node.kind) {
    case "char":
      return node.ch;
    case "literal":
      return node.text;
    case "concat": {
      let out = "";
      for (const part of node.parts) {
        const text = exactText(part);
        if (text === null) return null;
        out += text;
      }
      return out;
    }
    case "repeat": {
      const text = node.max === node.min ? exactText(node.operand) : null;
      return text !== null && text.length * node.min <= 256 ? text.repeat(node.min) : null;
    }
    default:
      return null;
  }
}

/** The longest string found in every string that `node` matches (maybe ""). */
function requiredText(node: LuceneNode): string {
  switch (node.kind) {
    case "char":
    case "literal":
      return exactText(node) ?? "";
    case "concat": {
      let best = "";
      let run = "";
      for (const part of node.parts) {
        const text = exactText(part);
        if (text !== null) {
          run += text;
        } else {
          run = "";
          const inner = requiredText(part);
          if (inner.length > best.length) best = inner;
        }
        if (run.length > best.length) best = run;
      }
      return best;
    }
    case "repeat":
      return node.min >= 1 ? requiredText(node.operand) : "";
    default:
      return "";
  }
}

/** A text to look for before running the automaton; "" when there is none that case folding leaves alone. */
function prefilterText(node: LuceneNode, caseInsensitive: boolean): string {
  const text = requiredText(node);
  if (caseInsensitive) {
    for (const ch of text) if (caseVariants(ch.codePointAt(0) ?? 0).length > 1) return "";
  }
  return text;
}

// ---- whole patterns: `&` and `~` combine whole-string matches ----

function isBoolean(node: LuceneNode): boolean {
  return node.kind === "intersection" || node.kind === "complement" || (node.kind === "union" && node.options.some(isBoolean));
}

function wholeMatcher(node: LuceneNode, caseInsensitive: boolean, budget: { states: number }): (s: string) => boolean {
  switch (node.kind) {
    case "union":
      if (node.options.some(isBoolean)) {
        const options = node.options.map((option) => wholeMatcher(option, caseInsensitive, budget));
        return (s) => options.some((m) => m(s));
      }
      break;
    case "intersection": {
      const operands = node.operands.map((operand) => wholeMatcher(operand, caseInsensitive, budget));
      return (s) => operands.every((m) => m(s));
    }
    case "complement": {
      const operand = wholeMatcher(node.operand, caseInsensitive, budget);
      return (s) => !operand(s);
    }
  }
  const nfa = new Nfa(caseInsensitive);
  const start = nfa.compile(node, nfa.match());
  budget.states += nfa.kind.length;
  if (budget.states > MAX_NFA_STATES) {
    throw new LuceneRegexError(`the pattern is too large: it expands to more than ${MAX_NFA_STATES} automaton states`, 0);
  }
  const dfa = new LazyDfa(nfa, start);
  const required = prefilterText(node, caseInsensitive);
  return required === "" ? (s) => dfa.test(s) : (s) => s.includes(required) && dfa.test(s);
}

/**
 * A whole-string matcher for a Lucene regular expression, linear in the input. Throws LuceneRegexError for a
 * pattern Lucene rejects (as luceneRegexToJs does) or one too large to compile.
 */
export function luceneRegexMatcher(pattern: string, caseInsensitive: boolean): (s: string) => boolean {
  return wholeMatcher(parseLuceneRegex(pattern), caseInsensitive, { states: 0 });
}
