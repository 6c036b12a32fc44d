/**
 * A line pre-filter for replay: JSON.parse costs more than everything else per event, and almost no event matches
 * any rule. From each rule's query we derive tests on the values of the fields it names that an event must pass
 * for the rule to match (`process.name == "curl"` needs a `name` key whose value is `curl`; `process.args :
 * "*keychain*"` needs an `args` value holding `keychain`), and test them on the line's text without parsing it:
 * a line failing them for every rule cannot match and need not be parsed. Lines with non-ASCII bytes are always
 * parsed (case folding beyond ASCII is the engine's business), and so are lines with an escape in a key (a JSON
 * escape can spell any character, so the key searches could miss it); a string value holding escapes is decoded
 * and tested as the engine reads it.
 *
 * Per condition (an event query, or one stage of a sequence) the requirement is a conjunction of clauses, each
 * "some value of one of these fields passes one of these tests" (exact value or literal fragment, ASCII case
 * folded; a regex only when it spells out a few whole values): one clause per top-level conjunct that gives one,
 * and the category's. Only a condition with no clause
 * at all (`any where true`) turns the pre-filter off.
 *
 * Fields are found by their last key (`"name":`, or a dotted key ending in `.name":`): whether an event nests
 * (`{"process": {"name": …}}`), flattens (`{"process.name": …}`) or mixes them, the value the engine reads sits
 * after such a key. Taking every such key (`host.name`, `user.name`, …) lets through more lines, never fewer.
 * Keys are found with String.prototype.indexOf (native, many bytes per cycle) on the line alone, so that a search
 * never runs on into lines that do not need that key; a line is never read byte by byte.
 *
 * Work per line: the category's key first, then only the keys that the conditions of the line's categories are
 * indexed under (each condition under its most selective clause), values looked up in hash sets or a fragment
 * automaton; the remaining clauses are tested only for conditions indexed under a value the line holds. Identical
 * conditions (the same rule twice, or a clause many rules share) are kept once, so nothing per line grows with the
 * number of rules — only with the number of distinct conditions a line's values select.
 */
import type { EventQuery, Expr, Literal } from "../eql/index.js";
import { DEFAULT_CATEGORY_FIELD } from "../eql/engine.js";
import { TextAutomaton } from "../eql/textAutomaton.js";
import { parseLuceneRegex, type LuceneNode } from "../eql/luceneRegex.js";
import { exactText } from "../eql/luceneAutomaton.js";
import { LOW_CARDINALITY } from "../eql/ruleIndex.js";
import { cidrContains, ipv4Number, ipv4Range, parseCidr, parseIp, type CidrBlock, type Ipv4Range } from "../eql/cidr.js";
import type { LoadedRule } from "./ruleFile.js";

/** Weak fields (event.action, event.type, …, host.os.*) and how much each narrows: the candidate index's table. */
const WEAK_RANK = LOW_CARDINALITY;
const CATEGORY_RANK = 2;

/** Printable ASCII but the quote and the backslash: what a serializer writes as itself or with a backslash. */
const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
const UNSAFE_SPLIT = /[^\x20\x21\x23-\x5b\x5d-\x7e]+/;
/** A key we look for: printable ASCII without the quote, the backslash or the dot (the dot starts a dotted key). */
const KEY_SAFE = /^[\x20\x21\x23-\x2d\x2f-\x5b\x5d-\x7e]+$/;

/**
 * A test on one value (lower-cased): equal to `text`, or holding it — and, for a wildcard pattern, holding all its
 * literal runs in order (`text` is the longest, looked for first), the first one at the start and the last one at
 * the end when the pattern is anchored there.
 */
interface Needle {
  text: string;
  whole: boolean;
  pattern?: PatternPieces;
  /**
   * `not cidrMatch(field, ranges)`: passes unless the value is a plain JSON string the engine reads as an address
   * inside one of the ranges (`text` spells the ranges, for identity). Such a needle never files a condition.
   */
  outside?: CidrBlock[];
}

interface PatternPieces {
  pieces: string[];
  anchoredStart: boolean;
  anchoredEnd: boolean;
}

/** A needle on the values of the fields whose last key is `key`. */
interface Atom {
  key: string;
  needle: Needle;
}

/** "Some value passes one of these atoms." */
interface Clause {
  atoms: Atom[];
  /** Decisive (from an ordinary field, texts long enough) or weak, and then how much it narrows (0–3). */
  strong: boolean;
  rank: number;
}

function isStringLiteral(e: Expr): e is Literal & { value: string } {
  return e.kind === "literal" && e.type === "string" && typeof e.value === "string";
}

/** The field's dotted path and its last key, if we can look for that key in a line. */
function fieldOf(e: Expr): { path: string; key: string } | undefined {
  if (e.kind !== "field") return undefined;
  const key = lastKey(e.path);
  return key === undefined ? undefined : { path: e.path.join("."), key };
}

/** The text a field's value follows in a line: its last key (of a dotted key, the part after the last dot). */
function lastKey(path: readonly string[]): string | undefined {
  if (path.length === 0) return undefined;
  const last = path[path.length - 1];
  // A last segment holding a dot (a quoted name) can only be the end of a key: look for its last part.
  const key = last.slice(last.lastIndexOf(".") + 1);
  return KEY_SAFE.test(key) ? key : undefined;
}

/** An exact value's needle; undefined if not safe or if the value could also be written unquoted (a number, …). */
function wholeValue(text: string): Needle | undefined {
  if (!SAFE.test(text) || /^(true|false|null|-?\d+(\.\d+)?)$/i.test(text)) return undefined;
  return { text: text.toLowerCase(), whole: true };
}

/**
 * A wildcard pattern's safe literal runs (split on `*`, `?` and unsafe characters), lower-cased; the longest one is
 * the needle's text. Undefined when it has none.
 */
function patternFragment(pattern: string): Needle | undefined {
  if (!pattern.includes("*") && !pattern.includes("?")) return wholeValue(pattern);
  const pieces: string[] = [];
  let best = "";
  for (const part of pattern.split(/[*?]/)) {
    for (const piece of part.split(UNSAFE_SPLIT)) {
      if (piece.length === 0) continue;
      pieces.push(piece.toLowerCase());
      if (piece.length > best.length) best = piece;
    }
  }
  if (best.length === 0) return undefined;
  const anchoredStart = SAFE.test(pattern[0]) && pattern[0] !== "*" && pattern[0] !== "?";
  const last = pattern[pattern.length - 1];
  const anchoredEnd = SAFE.test(last) && last !== "*" && last !== "?";
  return { text: best.toLowerCase(), whole: false, pattern: { pieces, anchoredStart, anchoredEnd } };
}

/** Whether a value (lower-cased) holds the pattern's runs in order, at its ends where anchored. */
function holdsPieces(value: string, p: PatternPieces): boolean {
  const { pieces } = p;
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (i === 0 && p.anchoredStart) {
      if (!value.startsWith(piece)) return false;
      at = piece.length;
    } else if (i === pieces.length - 1 && p.anchoredEnd) {
      return value.length - piece.length >= at && value.endsWith(piece);
    } else {
      const k = value.indexOf(piece, at);
      if (k === -1) return false;
      at = k + piece.length;
    }
  }
  // One run anchored at both ends (`a*`, `*a` take the branches above): it also ends the value.
  return !(pieces.length === 1 && p.anchoredStart && p.anchoredEnd) || value.length === pieces[0].length;
}

function needleHolds(value: string, whole: boolean, text: string, pattern: PatternPieces | undefined): boolean {
  if (whole) return value === text;
  return pattern === undefined ? value.includes(text) : value.includes(text) && holdsPieces(value, pattern);
}

/** Alternatives a regex spells out in full at most (`(load|bootstrap)`, `add-(generic|internet)-password`). */
const MAX_REGEX_VALUES = 16;

/** A (Lucene, whole-value) regex's tree, or undefined when it does not parse (it then gives no requirement). */
function parsedRegex(pattern: string): LuceneNode | undefined {
  try {
    return parseLuceneRegex(pattern);
  } catch {
    return undefined;
  }
}

/**
 * The literal runs every match of a regex holds, per alternative of its top-level unions (at most
 * MAX_REGEX_VALUES, unions inside a concatenation multiplied out while they fit): `-[a-z]*c[a-z]*` needs a value
 * starting with `-` and holding `c`; `.*(/Keychains/|/Cookies/).*` one holding `/keychains/` or `/cookies/`. Any
 * part that is not one fixed text is a gap that matches anything, so the needles only ever let more through.
 * Undefined when an alternative holds no literal (it could match anything).
 */
function regexPieces(node: LuceneNode): Needle[] | undefined {
  const needles: Needle[] = [];
  for (const tokens of regexAlternatives(node)) {
    const needle = tokensNeedle(tokens);
    if (needle === undefined) return undefined;
    needles.push(needle);
  }
  return needles;
}

/** A regex token sequence: fixed texts and gaps (null: any text). */
type RegexTokens = (string | null)[];

function regexAlternatives(node: LuceneNode): RegexTokens[] {
  const text = exactText(node);
  if (text !== null) return [[text]];
  switch (node.kind) {
    case "union": {
      const out: RegexTokens[] = [];
      for (const option of node.options) out.push(...regexAlternatives(option));
      return out.length > MAX_REGEX_VALUES ? [[null]] : out;
    }
    case "concat": {
      let out: RegexTokens[] = [[]];
      for (const part of node.parts) {
        let options = regexAlternatives(part);
        if (out.length * options.length > MAX_REGEX_VALUES) options = [[null]];
        out = out.flatMap((head) => options.map((tail) => [...head, ...tail]));
      }
      return out;
    }
    default:
      return [[null]];
  }
}

/** The needle of one alternative: its safe literal runs, lower-cased, anchored where the regex starts or ends with one. */
function tokensNeedle(tokens: RegexTokens): Needle | undefined {
  const pieces: string[] = [];
  let run = "";
  let anchoredStart = true;
  let anchoredEnd = true;
  tokens.forEach((token, i) => {
    if (token === null) {
      if (i === 0) anchoredStart = false;
      if (i === tokens.length - 1) anchoredEnd = false;
      if (run.length > 0) pieces.push(run);
      run = "";
      return;
    }
    // Characters a line writes escaped (or non-ASCII) are gaps too: the line's text of them is not theirs.
    const parts = token.split(UNSAFE_SPLIT);
    if (i === 0 && parts[0].length === 0 && token.length > 0) anchoredStart = false;
    if (i === tokens.length - 1 && parts[parts.length - 1].length === 0 && token.length > 0) anchoredEnd = false;
    run += parts[0];
    for (let k = 1; k < parts.length; k++) {
      if (run.length > 0) pieces.push(run);
      run = parts[k];
    }
  });
  if (run.length > 0) pieces.push(run);
  if (pieces.length === 0) return undefined;
  const lowered = pieces.map((p) => p.toLowerCase());
  const text = lowered.reduce((a, b) => (b.length > a.length ? b : a));
  return { text, whole: false, pattern: { pieces: lowered, anchoredStart, anchoredEnd } };
}

/**
 * The strings a regex matches when it matches only a few fixed ones (at most MAX_REGEX_VALUES), or undefined: a
 * regex with any other operator gives no whole values.
 */
function fixedStrings(node: LuceneNode): string[] | undefined {
  switch (node.kind) {
    case "char":
      return [node.ch];
    case "literal":
      return [node.text];
    case "union": {
      const out: string[] = [];
      for (const option of node.options) {
        const strings = fixedStrings(option);
        if (strings === undefined || out.length + strings.length > MAX_REGEX_VALUES) return undefined;
        out.push(...strings);
      }
      return out;
    }
    case "concat": {
      let out = [""];
      for (const part of node.parts) {
        const strings = fixedStrings(part);
        if (strings === undefined || out.length * strings.length > MAX_REGEX_VALUES) return undefined;
        out = out.flatMap((head) => strings.map((tail) => head + tail));
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** A decisive needle: any exact value, or a fragment of 3 characters or more. */
function isStrongNeedle(n: Needle): boolean {
  return n.whole || n.text.length >= 3;
}

function clauseFor(field: { path: string; key: string }, needles: (Needle | undefined)[]): Clause | undefined {
  if (needles.some((n) => n === undefined)) return undefined;
  const atoms = (needles as Needle[]).map((needle) => ({ key: field.key, needle }));
  const weakRank = WEAK_RANK.get(field.path);
  if (weakRank !== undefined) return weakRank > 0 ? { atoms, strong: false, rank: weakRank } : undefined;
  return { atoms, strong: atoms.every((a) => isStrongNeedle(a.needle)), rank: 3 };
}

function score(c: Clause): number {
  const shortest = Math.min(...c.atoms.map((a) => a.needle.text.length));
  return (c.strong ? 1000 : c.rank * 100) + shortest - 2 * Math.log2(c.atoms.length);
}

/** The clause one conjunct requires, or undefined. */
function clauseOf(e: Expr): Clause | undefined {
  switch (e.kind) {
    case "and": {
      let out: Clause | undefined;
      // One a key's index can look up first (a cidr clause can only be tested).
      const better = (c: Clause, than: Clause): boolean => (Number(canFile(c)) - Number(canFile(than)) || score(c) - score(than)) > 0;
      for (const c of e.operands.map(clauseOf)) if (c && (!out || better(c, out))) out = c;
      return out;
    }
    case "or": {
      const parts = e.operands.map(clauseOf);
      if (parts.some((p) => p === undefined)) return undefined;
      const clauses = parts as Clause[];
      return {
        atoms: clauses.flatMap((c) => c.atoms),
        strong: clauses.every((c) => c.strong),
        rank: Math.min(...clauses.map((c) => c.rank)),
      };
    }
    case "not":
      return notCidrClause(e.operand);
    case "comparison": {
      if (e.op !== "==") return undefined;
      const bool = [e.left, e.right].find((x) => x.kind === "literal" && typeof x.value === "boolean");
      if (bool !== undefined) {
        // `true` / `false`, as a JSON literal or as the string the engine also takes for it.
        const field = fieldOf(e.left.kind === "field" ? e.left : e.right);
        if (!field) return undefined;
        return { atoms: [{ key: field.key, needle: { text: String((bool as Literal).value), whole: false } }], strong: false, rank: 3 };
      }
      const [fieldExpr, value] = isStringLiteral(e.right) ? [e.left, e.right] : [e.right, e.left];
      const field = fieldOf(fieldExpr);
      if (!field || !isStringLiteral(value)) return undefined;
      return clauseFor(field, [wholeValue(value.value)]);
    }
    case "in": {
      const field = fieldOf(e.subject);
      if (!field || !e.values.every(isStringLiteral)) return undefined;
      return clauseFor(
        field,
        e.values.map((v) => wholeValue((v as Literal & { value: string }).value)),
      );
    }
    case "pattern": {
      const field = fieldOf(e.subject);
      if (e.op === "regex") {
        if (!field || !e.patterns.every(isStringLiteral)) return undefined;
        const texts = e.patterns.map((p) => (p as Literal & { value: string }).value);
        const nodes = texts.map(parsedRegex);
        if (nodes.some((n) => n === undefined)) return undefined;
        // The strings each regex matches when it matches only a few fixed ones; otherwise the runs its matches hold.
        const values = (nodes as LuceneNode[]).map(fixedStrings);
        if (values.every((v) => v !== undefined)) return clauseFor(field, (values as string[][]).flat().map(wholeValue));
        const needles = (nodes as LuceneNode[]).map(regexPieces);
        if (needles.some((n) => n === undefined)) return undefined;
        return clauseFor(field, (needles as Needle[][]).flat());
      }
      if (!field || !e.patterns.every(isStringLiteral)) return undefined;
      return clauseFor(
        field,
        e.patterns.map((p) => patternFragment((p as Literal & { value: string }).value)),
      );
    }
    default:
      return undefined;
  }
}

/**
 * `not cidrMatch(field, "range", …)` with literal ranges: the condition needs the field to hold a value outside
 * them. EQL's three values make this exact: a missing field (or one not a string) makes cidrMatch null and `not
 * null` no match; a string that is not an address gives false, so `not` matches; an array matches as soon as one
 * element does. On a line, the clause passes for any value of a key with the field's last key except a plain
 * string inside the ranges (arrays, objects, literals and unreadable values pass: see FieldScanner.holds).
 */
function notCidrClause(e: Expr): Clause | undefined {
  if (e.kind !== "call" || e.name !== "cidrMatch" || e.args.length < 2) return undefined;
  const field = fieldOf(e.args[0]);
  const ranges = e.args.slice(1);
  if (!field || !ranges.every(isStringLiteral)) return undefined;
  const texts = ranges.map((r) => (r as Literal & { value: string }).value);
  // A range the engine cannot parse matches nothing there either.
  const blocks = texts.map(parseCidr).filter((b): b is CidrBlock => b !== null);
  const needle: Needle = { text: `cidr(${texts.join(",")})`, whole: false, outside: blocks };
  return { atoms: [{ key: field.key, needle }], strong: false, rank: 0 };
}

/** Whether a clause can file conditions (be looked up in a key's index): not one with a cidr needle. */
function canFile(c: Clause): boolean {
  return c.atoms.every((a) => a.needle.outside === undefined);
}

/** Clauses of one condition at most (the most selective ones). */
const MAX_CLAUSES = 6;

/**
 * A condition's requirement: the clauses of its top-level conjuncts, the most selective first, and its category
 * (returned apart, to gate on); undefined when it has none at all.
 */
function requirementOf(q: EventQuery, categoryKey: string | undefined): { clauses: Clause[]; category?: string } | undefined {
  const conjuncts = q.condition.kind === "and" ? q.condition.operands : [q.condition];
  const clauses: Clause[] = [];
  for (const c of conjuncts) {
    const clause = clauseOf(c);
    if (clause) clauses.push(clause);
  }
  let category: string | undefined;
  if (q.category !== null && categoryKey !== undefined) {
    const needle = wholeValue(q.category);
    if (needle) {
      category = needle.text;
      clauses.push({ atoms: [{ key: categoryKey, needle }], strong: false, rank: CATEGORY_RANK });
    }
  }
  // A condition is filed under a clause that an index can look up: none, and the pre-filter is off.
  if (!clauses.some(canFile)) return undefined;
  clauses.sort((a, b) => Number(canFile(b)) - Number(canFile(a)) || score(b) - score(a));
  return { clauses: clauses.slice(0, MAX_CLAUSES), category };
}

function atomText(a: Atom): string {
  if (a.needle.outside !== undefined) return `${a.key}!${a.needle.text}`;
  const p = a.needle.pattern;
  if (p === undefined) return `${a.key}${a.needle.whole ? "==" : "~"}${JSON.stringify(a.needle.text)}`;
  return `${a.key}~${p.anchoredStart ? "^" : ""}${p.pieces.map((x) => JSON.stringify(x)).join("*")}${p.anchoredEnd ? "$" : ""}`;
}

function clauseText(c: Clause): string {
  return [...new Set(c.atoms.map(atomText))].sort().join(" | ");
}

export interface LinePrefilter {
  /** False when no rule can match the line (it need not be parsed). */
  mayMatch(line: string): boolean;
  /**
   * Lines (bytes separated by `\n`) at once: returns, in ascending order, the offset of the start of each line
   * that must be parsed. Lines not listed need not be parsed.
   */
  candidates(block: Uint8Array): number[];
  /** Starts a block of lines (latin1-decoded bytes, one character per byte) for mayMatchAt. */
  beginBlock(text: string): void;
  /** Whether the line text[start, end) of the current block must be parsed (non-ASCII lines: see mayMatch). */
  mayMatchAt(start: number, end: number): boolean;
  /**
   * Sequence rule `rule` (index in the rules given) holds pending sequences (`true`) or none (`false`, as at the
   * start). Its positive stages after the first only count while it holds some: without a started sequence, an
   * event matching only those changes nothing (RuleSet.watchSequenceState tells).
   */
  setSequenceHoldsState(rule: number, holds: boolean): void;
  /**
   * How to ask whether sequence rule `rule` holds a pending sequence waiting for join-key value `key` (a string
   * read from the line; for RuleSet, sequenceHoldsKey). With it, a later stage whose one join key is a field counts
   * only for lines holding such a value; without it (undefined), whenever the rule holds any pending sequence.
   */
  setSequenceKeyProbe(probe: ((rule: number, key: string) => boolean) | undefined): void;
  /** The distinct conditions, each as its clauses (`key==value`, `key~fragment`, alternatives joined by `|`). */
  readonly conditions: readonly (readonly string[])[];
}

export interface PrefilterOptions {
  /** The field holding the event category (the rules' compile option); default event.category. */
  categoryField?: string;
}

/** The pre-filter for these rules, or undefined when some condition gives no requirement (then parse every line). */
export function buildPrefilter(rules: readonly LoadedRule[], options: PrefilterOptions = {}): LinePrefilter | undefined {
  if (rules.length === 0) return undefined;
  const categoryKey = lastKey((options.categoryField ?? DEFAULT_CATEGORY_FIELD).split("."));
  const conditions = new Map<string, Condition>();
  for (let r = 0; r < rules.length; r++) {
    const body = rules[r].query.ast.body;
    // A sequence only looks at events matching one of its stages (missing-event and `until` stages included), so
    // it needs the union of its stages' conditions; skipping other events at worst delays a trailing
    // missing-event stage's hit to a later event or to the end of the input. A positive stage after the first
    // can only advance a started sequence: it counts only while the rule holds one (gatedBy).
    // With one join key, read from a field, such a stage counts only for a line holding a key value the rule's
    // pending sequences wait for (setSequenceKeyProbe), not for every line while any sequence is pending.
    const queries: { q: EventQuery; gated: boolean; gateKey?: string }[] = [];
    if (body.kind === "event") queries.push({ q: body, gated: false });
    else {
      const first = body.stages.findIndex((s) => !s.missing);
      body.stages.forEach((s, i) =>
        queries.push({ q: s.query, gated: !s.missing && i > first, gateKey: joinKeyOf([...body.joinKeys, ...s.joinKeys]) }),
      );
      if (body.until) queries.push({ q: body.until.query, gated: false });
    }
    for (const { q, gated, gateKey } of queries) {
      const req = requirementOf(q, categoryKey);
      if (!req) return undefined;
      const id = JSON.stringify(req.clauses.map(clauseText));
      const condition = conditions.get(id) ?? { ...req, always: false, gatedBy: [], gateKeys: [] };
      conditions.set(id, condition);
      if (!gated) condition.always = true;
      else {
        const at = condition.gatedBy.indexOf(r);
        if (at === -1) {
          condition.gatedBy.push(r);
          condition.gateKeys.push(gateKey);
        } else if (condition.gateKeys[at] !== gateKey) {
          // The same rule's stages read different keys: the rule's pending state alone gates.
          condition.gateKeys[at] = undefined;
        }
      }
    }
  }
  const list = [...conditions.values()];
  fileUnderSharedKeys(list);
  return new FieldScanner(list, categoryKey, rules.length);
}

/** A condition some rule's event query or sequence stage needs, and when it counts. */
interface Condition {
  clauses: Clause[];
  category?: string;
  /** Always (an event query, a sequence's first positive stage, a missing-event or until stage) … */
  always: boolean;
  /** … or while one of these sequence rules holds a pending sequence. */
  gatedBy: number[];
  /**
   * Per gating rule, the key whose values (in the line) its pending sequences are probed for; undefined: the rule
   * holding any pending sequence is enough.
   */
  gateKeys: (string | undefined)[];
}

/** The last key of a sequence stage's join key, when it is one non-optional field we can look for in a line. */
function joinKeyOf(keys: readonly Expr[]): string | undefined {
  if (keys.length !== 1) return undefined;
  const k = keys[0];
  if (k.kind !== "field" || k.optional) return undefined;
  return lastKey(k.path);
}

/**
 * Puts first, as the clause a condition is filed under, the decisive clause on the key most conditions of its
 * category have one on (`process.name`): each key filed under is one more search through every line of the
 * category, so conditions share as few keys as their clauses allow. Without a decisive clause, the best one.
 */
function fileUnderSharedKeys(conditions: Condition[]): void {
  const keysOf = (c: Clause): string[] => [...new Set(c.atoms.map((a) => a.key))];
  const popularity = new Map<string, number>();
  for (const { clauses, category } of conditions) {
    const keys = new Set(clauses.filter((c) => c.strong).flatMap(keysOf));
    for (const key of keys) popularity.set(`${category}\0${key}`, (popularity.get(`${category}\0${key}`) ?? 0) + 1);
  }
  for (const condition of conditions) {
    const rank = (c: Clause): number => Math.min(...keysOf(c).map((k) => popularity.get(`${condition.category}\0${k}`) ?? 0));
    let best = 0;
    condition.clauses.forEach((c, i) => {
      if (c.strong && canFile(c) && (!condition.clauses[best].strong || rank(c) > rank(condition.clauses[best]))) best = i;
    });
    const [filed] = condition.clauses.splice(best, 1);
    condition.clauses.unshift(filed);
  }
}

/**
 * Values of one key in the current line, as offsets into the block's text: [starts[i], ends[i]) (a string's
 * characters, or a literal). `unknown`: a value we could not read (every test on the key passes).
 */
interface Values {
  line: number;
  unknown: boolean;
  /** Some occurrence of the key holds something other than one string (an array, object or literal). */
  notString: boolean;
  count: number;
  starts: number[];
  ends: number[];
  /** Lower-cased copies, made on demand: lowered[i] is valid when loweredLine[i] === line. */
  lowered: string[];
  loweredLine: number[];
}

/** The index of one key's values for the conditions filed under a clause on that key. */
interface KeyIndex {
  /**
   * The texts the automaton finds in a value: fragments, and exact values between their quotes (`"curl"`), so that
   * one pass over a value, quotes included, tells both (no hashing, no copy of the value).
   */
  fragments: string[];
  /** Per fragment: the clauses filed under it, each with the rest of its pattern to check on the value. */
  fragmentClauses: { clause: number; pattern: PatternPieces | undefined }[][];
  automaton: TextAutomaton | undefined;
  /** Every clause filed under this key (all pass when the key's value cannot be read). */
  clauses: number[];
  /**
   * When every text filed under the key must start the value (exact values, patterns anchored at the start): what
   * they start with, their first `prefixLength` characters (folded) packed in a number. A value starting otherwise
   * (most: host, user and parent names) is not run through the automaton. prefixLength 0: no such test.
   */
  starts: string[] | undefined;
  prefixLength: number;
  prefixes: Set<number>;
}

interface ScanAtom {
  key: number;
  whole: boolean;
  text: string;
  pattern?: PatternPieces;
  outside?: CidrBlock[];
  /** The same blocks as ranges of plain IPv4 addresses (as numbers), for the common address without a copy. */
  outside4?: Ipv4Range[];
}

class FieldScanner implements LinePrefilter {
  readonly conditions: readonly (readonly string[])[];
  /** Keys by id, each with the `"` that closes it. */
  private readonly keys: string[] = [];
  /**
   * Per key: what indexOf looks for, the key's end from its least common character on (`gory"` for `category"`),
   * and the part before it, checked where found. V8 looks for a text's first character first: a rare one lets the
   * search skip most of the line at native speed (measured: `xecutable"` 3.5 times faster than `executable"`).
   */
  private readonly searchTexts: string[] = [];
  private readonly searchHeads: string[] = [];
  private readonly keyIds = new Map<string, number>();
  private readonly clauseAtoms: ScanAtom[][] = [];
  /** Per condition: its clause ids; the first is the one it is filed under. */
  private readonly conditionClauses: Int32Array[];
  /** Per clause: the conditions filed under it. */
  private readonly filedUnder: number[][] = [];
  /** Per key id: the index of filing clauses on it, if any. */
  private readonly index: (KeyIndex | undefined)[] = [];
  /** Keys to read for a line of a category (lower-cased), and for lines of none/other categories. */
  private readonly keysByCategory = new Map<string, Int32Array>();
  /** keysByCategory by foldedHash of the category, to look a line's category up in place (no copy per line). */
  private readonly keysByCategoryHash = new Map<number, { category: string; keys: Int32Array }[]>();
  private readonly keysAlways: Int32Array;
  private readonly categoryKeyId: number;
  private readonly allFilingKeys: Int32Array;

  // Per-line state, by generation (the line counter), never cleared per line.
  private block = "";
  /** The line being tested. */
  private text = "";
  private line = 0;
  private readonly values: Values[] = [];
  private readonly clauseLine: Float64Array;
  private readonly clauseHolds: Uint8Array;
  private readonly conditionLine: Float64Array;
  private readonly queue: Int32Array;
  private queued = 0;
  private readonly keyLine: Float64Array;
  /** The line holds a backslash: strings may hold escapes (see readValue). */
  private escapes = false;
  /**
   * The line is tested in place in the block: nextKeyAt[key] is where the key's last search in this block stopped
   * (its first occurrence past the line that searched; -1: none further; -2: not searched yet).
   */
  private inBlock = false;
  private nextKeyAt = new Int32Array(0);
  /** The block's next backslash at or after the current line's start (-1: none; -2: not looked for yet). */
  private nextBackslash = -2;
  /** Per condition: how many reasons it counts now (1 if always, plus its gating rules holding sequences). */
  private readonly live: Int32Array;
  /** Per rule: the gated conditions it opens, and whether it holds sequences now. */
  private readonly opens: number[][];
  private readonly ruleHolds: Uint8Array;
  /** Per condition: whether it always counts; else its gates (rule, and the key probed for, or -1). */
  private readonly always: Uint8Array;
  private readonly gates: { rule: number; key: number }[][];
  private keyProbe: ((rule: number, key: string) => boolean) | undefined;

  constructor(conditions: Condition[], categoryKey: string | undefined, ruleCount: number) {
    this.live = Int32Array.from(conditions.map((c) => (c.always ? 1 : 0)));
    this.opens = Array.from({ length: ruleCount }, () => []);
    conditions.forEach((c, j) => {
      for (const r of c.gatedBy) this.opens[r].push(j);
    });
    this.ruleHolds = new Uint8Array(ruleCount);
    this.always = Uint8Array.from(conditions.map((c) => (c.always ? 1 : 0)));
    this.gates = conditions.map((c) => c.gatedBy.map((rule, g) => ({ rule, key: c.gateKeys[g] === undefined ? -1 : this.keyId(c.gateKeys[g]!) })));
    this.conditions = conditions.map((c) => c.clauses.map(clauseText));
    const clauseIds = new Map<string, number>();
    const clauseId = (c: Clause): number => {
      const text = clauseText(c);
      let id = clauseIds.get(text);
      if (id === undefined) {
        id = clauseIds.size;
        clauseIds.set(text, id);
        this.clauseAtoms.push(
          c.atoms.map((a) => ({
            key: this.keyId(a.key),
            whole: a.needle.whole,
            text: a.needle.text,
            pattern: a.needle.pattern,
            outside: a.needle.outside,
            outside4: a.needle.outside?.flatMap((b) => ipv4Range(b) ?? []),
          })),
        );
        this.filedUnder.push([]);
      }
      return id;
    };
    this.categoryKeyId = categoryKey === undefined ? -1 : this.keyId(categoryKey);
    this.conditionClauses = conditions.map((c, j) => {
      const ids = Int32Array.from(c.clauses.map(clauseId));
      this.filedUnder[ids[0]].push(j);
      return ids;
    });
    const byCategory = new Map<string, Set<number>>();
    const always = new Set<number>();
    const filed = new Set<number>();
    conditions.forEach((c, j) => {
      const first = this.conditionClauses[j][0];
      const keys = c.category === undefined ? always : byCategory.get(c.category) ?? new Set<number>();
      if (c.category !== undefined) byCategory.set(c.category, keys);
      for (const atom of this.clauseAtoms[first]) {
        keys.add(atom.key);
        filed.add(atom.key);
      }
    });
    this.keysAlways = Int32Array.from(always);
    for (const [category, keys] of byCategory) this.keysByCategory.set(category, Int32Array.from(new Set([...keys, ...always])));
    for (const [category, keys] of this.keysByCategory) {
      const h = foldedHash(category, 0, category.length);
      const bucket = this.keysByCategoryHash.get(h) ?? [];
      bucket.push({ category, keys });
      this.keysByCategoryHash.set(h, bucket);
    }
    this.allFilingKeys = Int32Array.from(filed);
    const filingClauses = [...new Set(this.conditionClauses.map((ids) => ids[0]))];
    for (const c of filingClauses) {
      for (const atom of this.clauseAtoms[c]) {
        let index = this.index[atom.key];
        if (index === undefined) {
          index = { fragments: [], fragmentClauses: [], automaton: undefined, clauses: [], starts: [], prefixLength: 0, prefixes: new Set() };
          this.index[atom.key] = index;
        }
        if (!index.clauses.includes(c)) index.clauses.push(c);
        const start = atom.whole ? atom.text : atom.pattern?.anchoredStart ? atom.pattern.pieces[0] : undefined;
        if (start === undefined || start.length === 0) index.starts = undefined;
        else index.starts?.push(start);
        const text = atom.whole ? `"${atom.text}"` : atom.text;
        let f = index.fragments.indexOf(text);
        if (f === -1) {
          f = index.fragments.length;
          index.fragments.push(text);
          index.fragmentClauses.push([]);
        }
        if (!index.fragmentClauses[f].some((e) => e.clause === c && e.pattern === atom.pattern)) index.fragmentClauses[f].push({ clause: c, pattern: atom.pattern });
      }
    }
    for (const index of this.index) {
      if (index === undefined) continue;
      if (index.fragments.length > 0) index.automaton = new TextAutomaton(index.fragments);
      if (index.starts !== undefined && index.starts.length > 0) {
        index.prefixLength = Math.min(MAX_PREFIX, ...index.starts.map((t) => t.length));
        for (const t of index.starts) index.prefixes.add(foldedPrefix(t, 0, index.prefixLength));
      }
    }
    this.clauseLine = new Float64Array(clauseIds.size);
    this.clauseHolds = new Uint8Array(clauseIds.size);
    this.conditionLine = new Float64Array(conditions.length);
    this.queue = new Int32Array(conditions.length);
    this.keyLine = new Float64Array(this.keys.length);
    this.nextKeyAt = new Int32Array(this.keys.length).fill(-2);
    for (let k = 0; k < this.keys.length; k++) {
      this.values.push({ line: 0, unknown: false, notString: false, count: 0, starts: [], ends: [], lowered: [], loweredLine: [] });
    }
  }

  setSequenceHoldsState(rule: number, holds: boolean): void {
    if (rule < 0 || rule >= this.ruleHolds.length || this.ruleHolds[rule] === Number(holds)) return;
    this.ruleHolds[rule] = holds ? 1 : 0;
    for (const j of this.opens[rule]) this.live[j] += holds ? 1 : -1;
  }

  setSequenceKeyProbe(probe: ((rule: number, key: string) => boolean) | undefined): void {
    this.keyProbe = probe;
  }

  private keyId(key: string): number {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.keyIds.set(key, id);
      this.keys.push(`${key}"`);
      const from = rareCharacterAt(key);
      this.searchTexts.push(`${key.slice(from)}"`);
      this.searchHeads.push(key.slice(0, from));
      this.index.push(undefined);
    }
    return id;
  }

  mayMatch(line: string): boolean {
    // eslint-disable-next-line no-control-regex
    if (/[^\x00-\x7f]/.test(line)) return true;
    this.beginBlock(line);
    return this.mayMatchAt(0, line.length);
  }

  candidates(block: Uint8Array): number[] {
    const bytes = Buffer.from(block.buffer, block.byteOffset, block.length);
    this.beginBlock(bytes.toString("latin1"));
    const out: number[] = [];
    let start = 0;
    while (start < bytes.length) {
      let nl = bytes.indexOf(10, start);
      if (nl === -1) nl = bytes.length;
      if (!bytes.subarray(start, nl).every((b) => b < 128) || this.mayMatchAt(start, nl)) out.push(start);
      start = nl + 1;
    }
    return out;
  }

  beginBlock(text: string): void {
    this.block = text;
    this.nextBackslash = -2;
    this.nextKeyAt.fill(-2);
  }

  mayMatchAt(start: number, end: number): boolean {
    const block = this.block;
    // Backslashes are looked for once through the block, not once per line.
    if (this.nextBackslash !== -1 && this.nextBackslash < start) this.nextBackslash = block.indexOf("\\", start);
    if (this.nextBackslash !== -1 && this.nextBackslash < end) {
      // A line with escapes is tested on its own, its decoded values added after it (see readString).
      const text = block.slice(start, end);
      // A key spelled with an escape (`"na\u006de"`) would hide from the key searches: such a line is parsed.
      if (escapedKey(text, this.nextBackslash - start)) return true;
      this.escapes = true;
      this.inBlock = false;
      return this.lineMayMatch(text, 0, text.length);
    }
    // Any other line is tested in place in the block (flat text: faster to read than a slice of it), and each key's
    // search goes on from where an earlier line's stopped.
    this.escapes = false;
    this.inBlock = true;
    return this.lineMayMatch(block, start, end);
  }

  /** The test on the line text[start, end) (no non-ASCII characters, no escape in a key). */
  private lineMayMatch(text: string, start: number, end: number): boolean {
    this.text = text;
    const line = ++this.line;
    this.queued = 0;
    let keys = this.keysAlways;
    if (this.categoryKeyId !== -1) {
      const categories = this.valuesOf(this.categoryKeyId, start, end);
      if (categories.unknown) keys = this.allFilingKeys;
      else if (categories.count === 1) keys = this.categoryKeys(categories, 0) ?? this.keysAlways;
      else {
        for (let v = 0; v < categories.count; v++) this.fileKeys(this.categoryKeys(categories, v), start, end, line);
      }
    }
    this.fileKeys(keys, start, end, line);
    for (let q = 0; q < this.queued; q++) {
      const clauses = this.conditionClauses[this.queue[q]];
      // Clauses on keys already read in this line first: most conditions fail on one, and a key not read yet is
      // one more search through the line.
      let all = true;
      for (let i = 1; i < clauses.length && all; i++) if (this.keysRead(clauses[i], line)) all = this.holds(clauses[i], start, end, line);
      for (let i = 1; i < clauses.length && all; i++) all = this.holds(clauses[i], start, end, line);
      if (all && (this.always[this.queue[q]] === 1 || this.gateOpen(this.queue[q], start, end))) return true;
    }
    return false;
  }

  /**
   * Whether a gated condition (a sequence's later stage) counts for this line: one of its rules holds pending
   * sequences and, where the stage has one join key and a probe is set, waits for one of the line's values of it.
   * A value that is not a plain string (a number, an array, unreadable) opens the gate: the probe compares strings.
   */
  private gateOpen(j: number, start: number, end: number): boolean {
    const gates = this.gates[j];
    const probe = this.keyProbe;
    for (let g = 0; g < gates.length; g++) {
      const { rule, key } = gates[g];
      if (this.ruleHolds[rule] === 0) continue;
      if (key === -1 || probe === undefined) return true;
      const values = this.valuesOf(key, start, end);
      if (values.unknown || values.notString) return true;
      for (let v = 0; v < values.count; v++) if (probe(rule, this.text.slice(values.starts[v], values.ends[v]))) return true;
    }
    return false;
  }

  /** The keys to read for category value v of the line (ASCII letters folded), looked up in place. */
  private categoryKeys(values: Values, v: number): Int32Array | undefined {
    const from = values.starts[v];
    const to = values.ends[v];
    const bucket = this.keysByCategoryHash.get(foldedHash(this.text, from, to));
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) if (equalsFolded(this.text, from, to, bucket[i].category)) return bucket[i].keys;
    return undefined;
  }

  /** Whether every key clause c tests has had its values read in this line. */
  private keysRead(c: number, line: number): boolean {
    const atoms = this.clauseAtoms[c];
    for (let i = 0; i < atoms.length; i++) if (this.values[atoms[i].key].line !== line) return false;
    return true;
  }

  /** Looks up the line's values of these keys in their indexes, queueing the conditions filed under them. */
  private fileKeys(keys: Int32Array | undefined, start: number, end: number, line: number): void {
    if (keys === undefined) return;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (this.keyLine[key] === line) continue;
      this.keyLine[key] = line;
      const index = this.index[key]!;
      const values = this.valuesOf(key, start, end);
      if (values.unknown) {
        for (const c of index.clauses) this.mark(c);
        continue;
      }
      if (index.automaton === undefined) continue;
      const n = index.prefixLength;
      for (let v = 0; v < values.count; v++) {
        const from = values.starts[v];
        if (n > 0 && (values.ends[v] - from < n || !index.prefixes.has(foldedPrefix(this.text, from, n)))) continue;
        this.findFragments(index, values, v);
      }
    }
  }

  /**
   * The key's automaton over value v in place in the text, with the characters just before and after it (a string's
   * quotes: exact values are found as `"value"`); marks the clauses whose pattern the value holds. Around a bare
   * literal (a number) those are JSON punctuation, never quotes.
   */
  private findFragments(index: KeyIndex, values: Values, v: number): void {
    const { letter, letters, next, outputStart, outputs } = index.automaton!;
    const text = this.text;
    let state = 0;
    for (let i = values.starts[v] - 1, to = Math.min(values.ends[v] + 1, text.length); i < to; i++) {
      state = next[state * letters + letter[text.charCodeAt(i) & 255]];
      for (let k = outputStart[state]; k < outputStart[state + 1]; k++) {
        for (const { clause, pattern } of index.fragmentClauses[outputs[k]]) {
          if (pattern === undefined || holdsPieces(this.lowered(values, v), pattern)) this.mark(clause);
        }
      }
    }
  }

  /** Clause c holds in the current line: queue the conditions filed under it. */
  private mark(c: number): void {
    const line = this.line;
    if (this.clauseLine[c] === line && this.clauseHolds[c] === 1) return;
    this.clauseLine[c] = line;
    this.clauseHolds[c] = 1;
    const filed = this.filedUnder[c];
    for (let i = 0; i < filed.length; i++) {
      const j = filed[i];
      if (this.conditionLine[j] !== line && this.live[j] > 0) {
        this.conditionLine[j] = line;
        this.queue[this.queued++] = j;
      }
    }
  }

  /** Whether clause c holds in the line (computed once per line). */
  private holds(c: number, start: number, end: number, line: number): boolean {
    if (this.clauseLine[c] === line) return this.clauseHolds[c] === 1;
    let holds = false;
    for (const atom of this.clauseAtoms[c]) {
      const values = this.valuesOf(atom.key, start, end);
      if (values.unknown) holds = true;
      else if (atom.outside !== undefined) {
        holds = values.notString || this.someOutside(values, atom.outside, atom.outside4!);
        if (holds) break;
        continue;
      }
      for (let v = 0; v < values.count && !holds; v++) {
        holds = atom.whole
          ? equalsFolded(this.text, values.starts[v], values.ends[v], atom.text)
          : needleHolds(this.lowered(values, v), false, atom.text, atom.pattern);
      }
      if (holds) break;
    }
    this.clauseLine[c] = line;
    this.clauseHolds[c] = holds ? 1 : 0;
    return holds;
  }

  /**
   * Whether some value (each one string: see notString) is not an address inside these blocks, as the engine's
   * cidrMatch reads it (parseIp, cidrContains), so that skipping a line never disagrees with the engine.
   */
  private someOutside(values: Values, blocks: CidrBlock[], ranges: Ipv4Range[]): boolean {
    for (let v = 0; v < values.count; v++) {
      const v4 = ipv4Number(this.text, values.starts[v], values.ends[v]);
      if (v4 !== -1) {
        let inside = false;
        for (let r = 0; r < ranges.length && !inside; r++) inside = ((v4 & ranges[r].mask) >>> 0) === ranges[r].base;
        if (!inside) return true;
        continue;
      }
      const ip = parseIp(this.text.slice(values.starts[v], values.ends[v]));
      if (ip === null) return true;
      let inside = false;
      for (let b = 0; b < blocks.length && !inside; b++) inside = cidrContains(blocks[b], ip);
      if (!inside) return true;
    }
    return false;
  }

  /**
   * Adds the strings and literals of the JSON value at text[i] (a string, a literal, or every one inside an array,
   * however nested) to `out`. An object adds nothing: no string test matches one. False when the value cannot be
   * read (then every test on the key must pass). A string holding an escape is decoded and added after the line's
   * end (between quotes, as findFragments expects), so that it is tested as the engine reads it.
   */
  private readValue(i: number, end: number, out: Values): boolean {
    const text = this.text;
    if (i >= end) return false;
    const c = text.charCodeAt(i);
    if (c === 34) return this.readString(i, end, out) !== -1;
    if (c === 123) return true;
    if (c !== 91) {
      addValue(out, i, literalEnd(text, i, end));
      return true;
    }
    let depth = 0;
    while (i < end) {
      const d = text.charCodeAt(i);
      if (d === 34) {
        const close = this.readString(i, end, out);
        if (close === -1) return false;
        i = close + 1;
      } else if (d === 91 || d === 123) {
        depth++;
        i++;
      } else if (d === 93 || d === 125) {
        if (--depth === 0) return true;
        i++;
      } else if (d === 44 || d === 58 || d === 32 || d === 9 || d === 13 || d === 10) {
        i++;
      } else {
        const e = literalEnd(text, i, end);
        addValue(out, i, e);
        i = e;
      }
    }
    return false;
  }

  /** Adds the string whose opening quote is at i; returns its closing quote's index, or -1 if unreadable. */
  private readString(i: number, end: number, out: Values): number {
    const text = this.text;
    if (!this.escapes) {
      const close = text.indexOf('"', i + 1);
      if (close === -1 || close >= end) return -1;
      addValue(out, i + 1, close);
      return close;
    }
    const close = stringEnd(text, i, end);
    if (close === -1) return -1;
    const backslash = text.indexOf("\\", i + 1);
    if (backslash === -1 || backslash > close) {
      addValue(out, i + 1, close);
      return close;
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(text.slice(i, close + 1));
    } catch {
      return -1;
    }
    // Beyond ASCII, case folding is the engine's business (see mayMatch).
    // eslint-disable-next-line no-control-regex
    if (typeof decoded !== "string" || /[^\x00-\x7f]/.test(decoded)) return -1;
    const at = text.length + 1;
    this.text = `${text}"${decoded}"`;
    addValue(out, at, at + decoded.length);
    return close;
  }

  /** Value v of a key in the current line, lower-cased (copied once per line). */
  private lowered(values: Values, v: number): string {
    if (values.loweredLine[v] === this.line) return values.lowered[v];
    const s = this.text.slice(values.starts[v], values.ends[v]).toLowerCase();
    values.loweredLine[v] = this.line;
    values.lowered[v] = s;
    return s;
  }

  /** The values after every occurrence of the key in the line text[start, end). */
  private valuesOf(key: number, start: number, end: number): Values {
    const values = this.values[key];
    if (values.line === this.line) return values;
    values.line = this.line;
    values.unknown = false;
    values.notString = false;
    values.count = 0;
    const text = this.text;
    const needle = this.searchTexts[key];
    const head = this.searchHeads[key];
    let p: number;
    if (this.inBlock) {
      p = this.nextKeyAt[key];
      if (p === -2 || (p !== -1 && p < start)) p = text.indexOf(needle, start);
    } else {
      p = text.indexOf(needle, start);
    }
    while (p !== -1 && p < end) {
      const keyStart = p - head.length;
      const before = keyStart > start ? text.charCodeAt(keyStart - 1) : 0;
      if ((before === 34 || before === 46) && (head.length === 0 || text.startsWith(head, keyStart))) {
        let i = skipSpace(text, p + needle.length, end);
        if (i < end && text.charCodeAt(i) === 58) {
          i = skipSpace(text, i + 1, end);
          if (text.charCodeAt(i) !== 34) values.notString = true;
          if (!this.readValue(i, end, values)) values.unknown = true;
        }
      }
      p = text.indexOf(needle, p + 1);
    }
    if (this.inBlock) this.nextKeyAt[key] = p;
    return values;
  }
}

/** Characters common in JSON event lines (measured on the bench corpus), most common first. */
const COMMON_CHARACTERS = 'e"atosrinclpmd:,u-./h0123456789';

/** Where a key's least common character is (the first of the least common ones). */
function rareCharacterAt(key: string): number {
  let best = 0;
  let bestRank = -1;
  for (let i = 0; i < key.length; i++) {
    const common = COMMON_CHARACTERS.indexOf(key[i]);
    const rank = common === -1 ? COMMON_CHARACTERS.length : common;
    if (rank > bestRank) {
      best = i;
      bestRank = rank;
    }
  }
  return best;
}

/** The longest prefix a key's start test compares (packed in a number: 4 characters of 8 bits). */
const MAX_PREFIX = 4;

/** text[from, from + n) with ASCII letters lower-cased, packed in a number (n at most MAX_PREFIX). */
function foldedPrefix(text: string, from: number, n: number): number {
  let packed = 0;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(from + i) & 255;
    if (c >= 65 && c <= 90) c += 32;
    packed = packed * 256 + c;
  }
  return packed;
}

/** FNV-1a of text[from, to) with ASCII letters lower-cased. */
function foldedHash(text: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h;
}

/** Whether text[from, to) is `lower` (lower-case) with ASCII letters folded, compared in place. */
function equalsFolded(text: string, from: number, to: number, lower: string): boolean {
  if (to - from !== lower.length) return false;
  for (let i = from, j = 0; i < to; i++, j++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(j)) return false;
  }
  return true;
}

function skipSpace(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
    i++;
  }
  return i;
}

function addValue(out: Values, from: number, to: number): void {
  out.starts[out.count] = from;
  out.ends[out.count] = to;
  out.count++;
}

/** The closing quote of the string opened at text[i] (escapes skipped), or -1 before `end`. */
function stringEnd(text: string, i: number, end: number): number {
  let j = text.indexOf('"', i + 1);
  while (j !== -1 && j < end) {
    let b = j - 1;
    while (text.charCodeAt(b) === 92) b--;
    if ((j - 1 - b) % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

/**
 * Whether a string holding a backslash (the first at text[backslash]) is a key, or a string cannot be closed: from
 * each backslash, the string it sits in runs to its closing quote, and a key's is followed by a colon.
 */
function escapedKey(text: string, backslash: number): boolean {
  const end = text.length;
  let i = backslash;
  while (i !== -1) {
    // stringEnd looks from i on: the first quote after the backslash that no backslash escapes closes its string.
    const close = stringEnd(text, i - 1, end);
    if (close === -1) return true;
    if (text.charCodeAt(skipSpace(text, close + 1, end)) === 58) return true;
    i = text.indexOf("\\", close + 1);
  }
  return false;
}

/** The end of a bare literal (number, true, false, null) starting at i. */
function literalEnd(text: string, i: number, end: number): number {
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 44 || c === 93 || c === 125 || c === 32 || c === 9 || c === 13 || c === 10 || c === 58) break;
    i++;
  }
  return i;
}
