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
import type { Expr, Query } from "../eql/ast.js";

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
  return condition(query.body.condition);
}

function condition(expr: Expr): Condition {
  switch (expr.kind) {
    case "and": {
      const parts = expr.operands.map(condition).filter((c): c is PrefilterSpec => c !== "any");
      if (parts.length === 0) return "any";
      return parts.reduce((best, c) => (moreSelective(c, best) ? c : best));
    }
    case "or": {
      let acc = NOTHING();
      for (const operand of expr.operands) {
        const c = condition(operand);
        if (c === "any") return "any";
        acc = union(acc, c);
      }
      return acc;
    }
    case "literal":
      return expr.value === false || expr.value === null ? NOTHING() : "any";
    case "comparison":
      if (expr.op !== "==") return "any";
      return (
        equality(expr.left, [expr.right], false) ??
        equality(expr.right, [expr.left], false) ??
        "any"
      );
    case "in":
      return equality(expr.subject, expr.values, false) ?? "any";
    case "pattern":
      if (expr.op === "regex") return "any";
      return equality(expr.subject, expr.patterns, true) ?? "any";
    default:
      return "any";
  }
}

/** `field OP values` where every value is a string literal, for the fields the native side can see. */
function equality(subject: Expr, values: Expr[], wildcards: boolean): Condition | undefined {
  if (subject.kind !== "field") return undefined;
  const field = subject.path.join(".");
  const strings: string[] = [];
  for (const v of values) {
    if (v.kind !== "literal") return undefined;
    if (v.type === "null") continue;
    if (typeof v.value !== "string") return undefined;
    strings.push(v.value);
  }
  const spec = NOTHING();
  for (const text of strings) {
    const atom = atomFor(field, text, wildcards);
    if (atom === "any") return "any";
    if (atom) spec[atom[0]].push(atom[1]);
  }
  return spec;
}

type Atom = [keyof PrefilterSpec, string];

function atomFor(field: string, text: string, wildcards: boolean): Atom | "any" | null {
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
