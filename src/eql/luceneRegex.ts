/**
 * Lucene regular expressions (what Elasticsearch's EQL `regex` operator uses): the parser, and a translation to
 * JavaScript RegExp source. The engine runs the parsed pattern as an automaton (luceneAutomaton.ts, linear time);
 * the RegExp translation defines what a pattern matches, as the tests check the automaton against it, and the
 * checker uses it to report patterns Lucene rejects.
 *
 * The parser mirrors the structure of Lucene's RegExp parser, quirks included, so that a pattern means what it
 * means in Elasticsearch: the whole string must match; `^` and `$` are plain characters; a reserved character
 * where no operator can start is literal (`*a` matches "*a"); `"..."` is a literal string; `\x` is `x` except
 * the classes `\d \D \s \S \w \W`. The optional operators (all enabled, as Elasticsearch's default flags):
 * `@` any string, `#` the empty language, `<n-m>` a decimal interval, `&` intersection and `~` complement.
 * `&` and `~` have no JavaScript equivalent in general; they are translated when they apply to the whole
 * pattern (or a whole top-level alternative), e.g. `@&~(abc.+)`, and rejected elsewhere.
 *
 * The result is anchored (`^(?:...)$`) and meant for the `u` flag (Lucene matches code points), plus `i` for
 * `regex~`; never add `m`.
 */
import { MacsensorError } from "../errors.js";
import { escapeClassChar, escapeRegExpChar } from "./wildcard.js";

/** A pattern Lucene would reject, or one we cannot translate; `index` is the offset in the pattern. */
export class LuceneRegexError extends MacsensorError {
  override name = "LuceneRegexError";

  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** The parsed pattern. `at` is an offset in the pattern (for errors). */
export type LuceneNode =
  | { kind: "char"; ch: string }
  | { kind: "class"; negated: boolean; items: ClassItem[] }
  | { kind: "predefined"; letter: string }
  | { kind: "any" }
  | { kind: "anyString" }
  | { kind: "empty" }
  | { kind: "literal"; text: string }
  | { kind: "interval"; min: number; max: number; digits: number }
  | { kind: "concat"; parts: Node[] }
  | { kind: "union"; options: Node[] }
  | { kind: "repeat"; operand: Node; min: number; max: number | null; at: number }
  | { kind: "intersection"; operands: Node[]; at: number }
  | { kind: "complement"; operand: Node; at: number };

type Node = LuceneNode;

export type ClassItem = { kind: "char"; ch: string } | { kind: "range"; from: string; to: string } | { kind: "predefined"; letter: string };

const PREDEFINED: Readonly<Record<string, string>> = {
  d: "[0-9]",
  D: "[^0-9]",
  s: "[\\t\\n\\v\\f\\r ]",
  S: "[^\\t\\n\\v\\f\\r ]",
  w: "[0-9A-Za-z_]",
  W: "[^0-9A-Za-z_]",
};

/** Inside a class; JS's \\d \\w \\D \\W are ASCII like Lucene's. (\\S also excludes non-ASCII spaces.) */
const CLASS_PREDEFINED: Readonly<Record<string, string>> = {
  d: "0-9",
  D: "\\D",
  s: "\\t\\n\\v\\f\\r ",
  S: "\\S",
  w: "0-9A-Za-z_",
  W: "\\W",
};

/** Largest value Lucene accepts in `<n-m>` and `{n,m}` (a Java int). */
const MAX_INT = 2_147_483_647;

/** Translates a Lucene regular expression to an anchored JS RegExp source. Throws LuceneRegexError. */
export function luceneRegexToJs(pattern: string): string {
  if (pattern === "") return "^(?:)$";
  return `^(?:${wholeString(parseLuceneRegex(pattern))})$`;
}

/** Parses a Lucene regular expression. Throws LuceneRegexError. */
export function parseLuceneRegex(pattern: string): LuceneNode {
  // Lucene reads an empty pattern as the empty string.
  if (pattern === "") return { kind: "literal", text: "" };
  return new LuceneParser(pattern).parse();
}

class LuceneParser {
  private pos = 0;

  constructor(private readonly pattern: string) {}

  parse(): Node {
    const node = this.union();
    if (this.pos < this.pattern.length) {
      const ch = this.pattern[this.pos];
      const hint = ch === ")" ? ": this ')' closes no '('" : "";
      throw new LuceneRegexError(`unexpected '${ch}' at position ${this.pos}${hint}`, this.pos);
    }
    return node;
  }

  private more(): boolean {
    return this.pos < this.pattern.length;
  }

  private peek(chars: string): boolean {
    return this.more() && chars.includes(this.pattern[this.pos]);
  }

  private match(ch: string): boolean {
    if (this.more() && this.pattern[this.pos] === ch) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** The next code point, consumed. */
  private next(): string {
    if (!this.more()) throw new LuceneRegexError("unexpected end of pattern", this.pos);
    const ch = String.fromCodePoint(this.pattern.codePointAt(this.pos) ?? 0);
    this.pos += ch.length;
    return ch;
  }

  private union(): Node {
    const first = this.intersection();
    if (!this.match("|")) return first;
    const rest = this.union();
    const options = rest.kind === "union" ? [first, ...rest.options] : [first, rest];
    return { kind: "union", options };
  }

  private intersection(): Node {
    const first = this.concat();
    const at = this.pos;
    if (!this.match("&")) return first;
    const rest = this.intersection();
    const operands = rest.kind === "intersection" ? [first, ...rest.operands] : [first, rest];
    return { kind: "intersection", operands, at };
  }

  private concat(): Node {
    const parts = [this.repeat()];
    while (this.more() && !this.peek(")|&")) parts.push(this.repeat());
    return parts.length === 1 ? parts[0] : { kind: "concat", parts };
  }

  private repeat(): Node {
    let node = this.complement();
    while (this.peek("?*+{")) {
      const at = this.pos;
      if (this.match("?")) node = repeatOf(node, 0, 1, at);
      else if (this.match("*")) node = repeatOf(node, 0, null, at);
      else if (this.match("+")) node = repeatOf(node, 1, null, at);
      else {
        const open = this.pos;
        this.pos++;
        const min = this.integer("a number after '{'", open);
        let max: number | null = min;
        if (this.match(",")) max = this.peek("0123456789") ? this.integer("a number", open) : null;
        if (!this.match("}")) {
          throw new LuceneRegexError(`expected '}' at position ${this.pos} to close the repetition at ${open}`, this.pos);
        }
        // Lucene: a repetition whose minimum exceeds its maximum matches nothing.
        node = max !== null && min > max ? { kind: "empty" } : repeatOf(node, min, max, at);
      }
    }
    return node;
  }

  private integer(what: string, open: number): number {
    const start = this.pos;
    while (this.peek("0123456789")) this.pos++;
    if (start === this.pos) throw new LuceneRegexError(`expected ${what} at position ${start} (repetition opened at ${open})`, start);
    const value = Number(this.pattern.slice(start, this.pos));
    if (value > MAX_INT) throw new LuceneRegexError(`repetition count ${this.pattern.slice(start, this.pos)} is too large`, start);
    return value;
  }

  private complement(): Node {
    const at = this.pos;
    if (this.match("~")) return { kind: "complement", operand: this.complement(), at };
    return this.charClass();
  }

  private charClass(): Node {
    const open = this.pos;
    if (!this.match("[")) return this.simple();
    const negated = this.match("^");
    const items: ClassItem[] = [this.classItem()];
    while (this.more() && !this.peek("]")) items.push(this.classItem());
    if (!this.match("]")) {
      throw new LuceneRegexError(`expected ']' at position ${this.pos} to close the class opened at ${open}`, this.pos);
    }
    return { kind: "class", negated, items };
  }

  private classItem(): ClassItem {
    const predefined = this.predefined();
    if (predefined) return predefined;
    const at = this.pos;
    const from = this.charExp();
    if (!this.match("-")) return { kind: "char", ch: from };
    const to = this.charExp();
    if ((from.codePointAt(0) ?? 0) > (to.codePointAt(0) ?? 0)) {
      throw new LuceneRegexError(`invalid range ${from}-${to} at position ${at}: '${from}' comes after '${to}'`, at);
    }
    return { kind: "range", from, to };
  }

  private predefined(): { kind: "predefined"; letter: string } | null {
    const letter = this.pattern[this.pos + 1];
    if (this.pattern[this.pos] === "\\" && letter !== undefined && "dDsSwW".includes(letter)) {
      this.pos += 2;
      return { kind: "predefined", letter };
    }
    return null;
  }

  private charExp(): string {
    this.match("\\");
    return this.next();
  }

  private simple(): Node {
    const at = this.pos;
    if (this.match(".")) return { kind: "any" };
    if (this.match("#")) return { kind: "empty" };
    if (this.match("@")) return { kind: "anyString" };
    if (this.match('"')) {
      const close = this.pattern.indexOf('"', this.pos);
      if (close < 0) {
        throw new LuceneRegexError(`expected '"' to close the literal string opened at position ${at}`, this.pattern.length);
      }
      const text = this.pattern.slice(this.pos, close);
      this.pos = close + 1;
      return { kind: "literal", text };
    }
    if (this.match("(")) {
      if (this.match(")")) return { kind: "literal", text: "" };
      const inner = this.union();
      if (!this.match(")")) {
        throw new LuceneRegexError(`expected ')' at position ${this.pos} to close the '(' at ${at}`, this.pos);
      }
      return inner;
    }
    if (this.match("<")) return this.interval(at);
    return this.predefined() ?? { kind: "char", ch: this.charExp() };
  }

  /** `<n-m>`: decimal numbers from n to m; zero-padded to a fixed width when n and m are written equally long. */
  private interval(at: number): Node {
    const close = this.pattern.indexOf(">", this.pos);
    if (close < 0) throw new LuceneRegexError(`expected '>' to close the '<' at position ${at}`, this.pattern.length);
    const body = this.pattern.slice(this.pos, close);
    this.pos = close + 1;
    const dash = body.indexOf("-");
    if (dash < 0) {
      throw new LuceneRegexError(`named automata such as <${body}> are not supported; write a numeric interval <n-m>`, at);
    }
    const low = body.slice(0, dash);
    const high = body.slice(dash + 1);
    if (!/^\d+$/.test(low) || !/^\d+$/.test(high)) {
      throw new LuceneRegexError(`interval syntax error at position ${at}: expected <n-m> with whole numbers, found <${body}>`, at);
    }
    let min = Number(low);
    let max = Number(high);
    if (min > MAX_INT || max > MAX_INT) throw new LuceneRegexError(`interval <${body}> is too large (numbers up to ${MAX_INT})`, at);
    if (min > max) [min, max] = [max, min];
    return { kind: "interval", min, max, digits: low.length === high.length ? low.length : 0 };
  }
}

function repeatOf(operand: Node, min: number, max: number | null, at: number): Node {
  return { kind: "repeat", operand, min, max, at };
}

// ---- translation ----

/** JS text plus how tightly it binds: an atom can take a quantifier, a sequence can be concatenated. */
interface Js {
  src: string;
  binding: "atom" | "quantified" | "sequence" | "alternation";
}

const atom = (src: string): Js => ({ src, binding: "atom" });

/** Translation at a place where the node must match the whole (rest of the) string: `&` and `~` allowed. */
function wholeString(node: Node): string {
  switch (node.kind) {
    case "union":
      return node.options.map(wholeString).join("|");
    case "intersection": {
      const checks = node.operands.slice(0, -1).map((operand) => `(?=(?:${wholeString(operand)})$)`);
      return `${checks.join("")}(?:${wholeString(node.operands[node.operands.length - 1])})`;
    }
    case "complement":
      return `(?!(?:${wholeString(node.operand)})$)[\\s\\S]*`;
    default:
      return translate(node).src;
  }
}

function group(js: Js): string {
  return js.binding === "atom" ? js.src : `(?:${js.src})`;
}

function translate(node: Node): Js {
  switch (node.kind) {
    case "char":
      return atom(escapeRegExpChar(node.ch));
    case "any":
      return atom("[\\s\\S]");
    case "anyString":
      return { src: "[\\s\\S]*", binding: "quantified" };
    case "empty":
      // A lookahead cannot take a quantifier under the `u` flag, so it is grouped when repeated.
      return { src: "(?!)", binding: "sequence" };
    case "predefined":
      return atom(PREDEFINED[node.letter]);
    case "literal": {
      const chars = [...node.text];
      if (chars.length === 0) return atom("(?:)");
      const src = chars.map(escapeRegExpChar).join("");
      return chars.length === 1 ? atom(src) : { src, binding: "sequence" };
    }
    case "class":
      return atom(translateClass(node.negated, node.items));
    case "interval":
      return { src: intervalSource(node.min, node.max, node.digits), binding: "sequence" };
    case "concat":
      return {
        src: node.parts
          .map((part) => {
            const js = translate(part);
            return js.binding === "alternation" ? `(?:${js.src})` : js.src;
          })
          .join(""),
        binding: "sequence",
      };
    case "union":
      return { src: node.options.map((option) => translate(option).src).join("|"), binding: "alternation" };
    case "repeat":
      return translateRepeat(node.operand, node.min, node.max);
    case "intersection":
    case "complement":
      throw misplacedOperator(node);
  }
}

/** The error for `&` or `~` inside a pattern rather than over whole patterns. */
export function misplacedOperator(node: { kind: "intersection" | "complement"; at: number }): LuceneRegexError {
  return node.kind === "intersection"
    ? new LuceneRegexError(
        "the intersection operator '&' can only join whole patterns (e.g. @&~(abc.*)); escape it as \\& to match a literal '&'",
        node.at,
      )
    : new LuceneRegexError(
        "the complement operator '~' can only apply to a whole pattern (e.g. ~(abc.*)); escape it as \\~ to match a literal '~'",
        node.at,
      );
}

function quantifier(min: number, max: number | null): string {
  if (min === 0 && max === null) return "*";
  if (min === 1 && max === null) return "+";
  if (min === 0 && max === 1) return "?";
  if (max === null) return `{${min},}`;
  return min === max ? `{${min}}` : `{${min},${max}}`;
}

/** `x**`, `x+*`, `(x?)+`...: nested simple quantifiers collapse to one, so the JS engine never backtracks on them. */
function translateRepeat(operand: Node, min: number, max: number | null): Js {
  if (operand.kind === "repeat" && isSimple(operand.min, operand.max) && isSimple(min, max)) {
    const innerMin = operand.min;
    const innerMax = operand.max;
    const combinedMin = innerMin * min === 1 ? 1 : 0;
    const combinedMax = innerMax === 1 && max === 1 ? 1 : null;
    return translateRepeat(operand.operand, combinedMin, combinedMax);
  }
  // `@` repeated is `@` again, except zero times (`@{0}`), which is the empty string.
  if (operand.kind === "anyString" && max !== 0) return { src: "[\\s\\S]*", binding: "quantified" };
  const js = translate(operand);
  return { src: `${group(js)}${quantifier(min, max)}`, binding: "quantified" };
}

function isSimple(min: number, max: number | null): boolean {
  return (min === 0 || min === 1) && (max === null || max === 1);
}

function translateClass(negated: boolean, items: ClassItem[]): string {
  const body = items
    .map((item) => {
      if (item.kind === "char") return escapeClassChar(item.ch);
      if (item.kind === "range") return `${escapeClassChar(item.from)}-${escapeClassChar(item.to)}`;
      return CLASS_PREDEFINED[item.letter];
    })
    .join("");
  return `[${negated ? "^" : ""}${body}]`;
}

/** Regex for decimal numbers in [min, max]: exactly `digits` wide (zero-padded), or with any leading zeros when 0. */
export function intervalSource(min: number, max: number, digits: number): string {
  if (digits > 0) {
    return fixedWidthRange(String(min).padStart(digits, "0"), String(max).padStart(digits, "0"));
  }
  const options = rangeByWidth(min, max).map(([low, high]) => fixedWidthRange(low, high));
  return `0*(?:${options.join("|")})`;
}

/**
 * [min, max] (unpadded decimals) split into one [low, high] per digit count, each pair as wide as its digits:
 * 7..120 is 7..9, 10..99, 100..120. The regex and the automaton build their alternatives from these.
 */
export function rangeByWidth(min: number, max: number): Array<[low: string, high: string]> {
  const minText = String(min);
  const maxText = String(max);
  const ranges: Array<[string, string]> = [];
  for (let width = minText.length; width <= maxText.length; width++) {
    const low = width === minText.length ? minText : `1${"0".repeat(width - 1)}`;
    const high = width === maxText.length ? maxText : "9".repeat(width);
    ranges.push([low, high]);
  }
  return ranges;
}

/** Regex for digit strings of one width between `low` and `high` (same length, low <= high). */
function fixedWidthRange(low: string, high: string): string {
  const width = low.length;
  if (width === 0) return "";
  if (low === high) return low;
  if (/^0*$/.test(low) && /^9*$/.test(high)) return width === 1 ? "[0-9]" : `[0-9]{${width}}`;
  if (low[0] === high[0]) return low[0] + fixedWidthRange(low.slice(1), high.slice(1));
  const rest = width - 1;
  const lowFirst = Number(low[0]);
  const highFirst = Number(high[0]);
  const options = [lowFirst + fixedWidthRange(low.slice(1), "9".repeat(rest))];
  if (highFirst - lowFirst > 1) {
    const middle = highFirst - lowFirst === 2 ? String(lowFirst + 1) : `[${lowFirst + 1}-${highFirst - 1}]`;
    options.push(middle + (rest === 0 ? "" : rest === 1 ? "[0-9]" : `[0-9]{${rest}}`));
  }
  options.push(highFirst + fixedWidthRange("0".repeat(rest), high.slice(1)));
  return `(?:${options.join("|")})`;
}
