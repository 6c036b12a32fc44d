/**
 * The EQL function library (Elasticsearch's 16 functions). Each entry describes its signature for the checker
 * and builds a specialised implementation for one call site (literal arguments are prepared once). Null in,
 * null out, as Elasticsearch documents; a value the function cannot use (a divisor of 0, a string that is no
 * number) also yields null, because nothing may throw at event time.
 */
import { cidrContains, ipv4Number, ipv4Range, parseCidr, parseIp, type CidrBlock } from "./cidr.js";
import { foldCase, isIntegral, scalarToString, type Scalar } from "./values.js";

export type ArgKind = "string" | "number" | "integer" | "boolean" | "any";
export type ResultKind = "string" | "number" | "boolean";

export interface CallSite {
  /** The `~` variant. */
  caseInsensitive: boolean;
  /** Some argument is a decimal (float) expression: arithmetic does not truncate. */
  float: boolean;
  /** Literal argument values by position (undefined where the argument is not a literal). */
  literals: readonly (Scalar | undefined)[];
}

export type FunctionImpl = (args: readonly Scalar[]) => Scalar;

export interface FunctionSpec {
  name: string;
  minArgs: number;
  maxArgs: number;
  /** Whether the `~` (case-insensitive) variant exists. */
  caseInsensitive: boolean;
  argKind(index: number): ArgKind;
  /** Argument positions that must be literals (Elasticsearch: "fields are not supported as arguments"). */
  literalOnly?: readonly number[];
  returns: ResultKind;
  make(site: CallSite): FunctionImpl;
  /**
   * The same function as a function of its first argument, for a call site whose other arguments are all
   * literals (`cidrMatch(destination.ip, "10.0.0.0/8", ...)`): no argument array per call. Optional.
   */
  makeOfFirst?(site: CallSite): (first: Scalar) => Scalar;
}

function str(v: Scalar): string | null {
  return typeof v === "string" ? v : null;
}

function num(v: Scalar): number | null {
  return typeof v === "number" && !Number.isNaN(v) ? v : null;
}

function arithmetic(name: string, op: (a: number, b: number, float: boolean) => number | null): FunctionSpec {
  return {
    name,
    minArgs: 2,
    maxArgs: 2,
    caseInsensitive: false,
    argKind: () => "number",
    returns: "number",
    make: (site) => (args) => {
      const a = num(args[0]);
      const b = num(args[1]);
      if (a === null || b === null) return null;
      const r = op(a, b, site.float);
      return r === null || !Number.isFinite(r) ? null : r;
    },
  };
}

/** Integer division truncates toward zero unless either operand is a float. */
export function divideNumbers(a: number, b: number, float: boolean): number | null {
  if (b === 0) return null;
  return !float && isIntegral(a) && isIntegral(b) ? Math.trunc(a / b) : a / b;
}

export function moduloNumbers(a: number, b: number): number | null {
  return b === 0 ? null : a % b;
}

function stringPredicate(
  name: string,
  test: (source: string, sub: string) => boolean,
): FunctionSpec {
  return {
    name,
    minArgs: 2,
    maxArgs: 2,
    caseInsensitive: true,
    argKind: () => "string",
    returns: "boolean",
    make: (site) => {
      if (!site.caseInsensitive) {
        return (args) => {
          const s = str(args[0]);
          const t = str(args[1]);
          return s === null || t === null ? null : test(s, t);
        };
      }
      const literalSub = site.literals[1];
      const foldedSub = typeof literalSub === "string" ? foldCase(literalSub) : undefined;
      return (args) => {
        const s = str(args[0]);
        const t = str(args[1]);
        if (s === null || t === null) return null;
        return test(foldCase(s), foldedSub ?? foldCase(t));
      };
    },
  };
}

/** Elasticsearch's between(): text after the first `left` up to the next (or, greedy, the last) `right`. */
export function between(source: string, left: string, right: string, greedy: boolean, ci: boolean): string {
  const hay = ci ? foldCase(source) : source;
  const l = ci ? foldCase(left) : left;
  const r = ci ? foldCase(right) : right;
  const leftIndex = hay.indexOf(l);
  if (leftIndex < 0) return "";
  const start = leftIndex + l.length;
  const rightIndex = greedy ? hay.lastIndexOf(r) : hay.indexOf(r, start);
  if (rightIndex < start) return "";
  return source.substring(start, rightIndex);
}

/** indexOf() with Elasticsearch's rules: negative start is 0, start past the end or no match is null. */
export function indexOf(source: string, sub: string, start: number, ci: boolean): number | null {
  const from = Math.max(0, Math.trunc(start));
  if (from > source.length) return null;
  const i = ci ? foldCase(source).indexOf(foldCase(sub), from) : source.indexOf(sub, from);
  return i < 0 ? null : i;
}

/** substring() with Python-style negative positions. */
export function substring(source: string, start: number, end: number | null): string {
  const n = source.length;
  let s = Math.trunc(start);
  let e = end === null ? n : Math.trunc(end);
  if (s < 0) s += n;
  if (e < 0) e += n;
  s = Math.max(0, s);
  e = Math.min(n, e);
  return s >= e ? "" : source.substring(s, e);
}

/** number(): integer or float from a string, hexadecimal when it starts with 0x or a base is given. */
export function toNumber(v: Scalar, base: number | null): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v !== "string") return null;
  let text = v.trim();
  if (text === "") return null;
  let sign = 1;
  if (text[0] === "+" || text[0] === "-") {
    if (text[0] === "-") sign = -1;
    text = text.slice(1);
  }
  let radix = base ?? 10;
  if (/^0[xX]/.test(text) && (base === null || base === 16)) {
    text = text.slice(2);
    radix = 16;
  }
  if (radix === 10 && base === null) {
    if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return null;
    return sign * Number(text);
  }
  if (radix < 2 || radix > 36 || !Number.isInteger(radix)) return null;
  const digits = "0123456789abcdefghijklmnopqrstuvwxyz".slice(0, radix);
  if (text === "" || ![...text.toLowerCase()].every((c) => digits.includes(c))) return null;
  return sign * parseInt(text, radix);
}

const SPECS: FunctionSpec[] = [
  arithmetic("add", (a, b) => a + b),
  arithmetic("subtract", (a, b) => a - b),
  arithmetic("multiply", (a, b) => a * b),
  arithmetic("divide", divideNumbers),
  arithmetic("modulo", (a, b) => moduloNumbers(a, b)),
  {
    name: "between",
    minArgs: 3,
    maxArgs: 4,
    caseInsensitive: true,
    argKind: (i) => (i === 3 ? "boolean" : "string"),
    returns: "string",
    make: (site) => (args) => {
      const s = str(args[0]);
      const l = str(args[1]);
      const r = str(args[2]);
      if (s === null || l === null || r === null) return null;
      const greedy = args.length > 3 ? args[3] : false;
      if (typeof greedy !== "boolean") return null;
      return between(s, l, r, greedy, site.caseInsensitive);
    },
  },
  {
    name: "cidrMatch",
    minArgs: 2,
    maxArgs: Infinity,
    caseInsensitive: false,
    argKind: () => "string",
    returns: "boolean",
    make: (site) => {
      const fixed: (CidrBlock | null)[] = site.literals.slice(1).map((l) => (typeof l === "string" ? parseCidr(l) : null));
      return (args) => {
        const ip = str(args[0]);
        if (ip === null) return null;
        const addr = parseIp(ip);
        let sawNull = false;
        for (let i = 1; i < args.length; i++) {
          const a = args[i];
          if (a === null) {
            sawNull = true;
            continue;
          }
          const block = fixed[i - 1] ?? (typeof a === "string" ? parseCidr(a) : null);
          if (block && addr && cidrContains(block, addr)) return true;
        }
        return sawNull ? null : false;
      };
    },
    makeOfFirst: (site) => {
      const literals = site.literals.slice(1);
      const blocks = literals.flatMap((l) => {
        const block = typeof l === "string" ? parseCidr(l) : null;
        return block ? [block] : [];
      });
      const ranges = blocks.flatMap((b) => ipv4Range(b) ?? []);
      const noMatch = literals.includes(null) ? null : false;
      return (first) => {
        const ip = str(first);
        if (ip === null) return null;
        // A plain IPv4 address (most of them) is a number compared with ranges: nothing parsed into bytes.
        const n = ipv4Number(ip);
        if (n >= 0) {
          for (let i = 0; i < ranges.length; i++) if (((n & ranges[i].mask) >>> 0) === ranges[i].base) return true;
          return noMatch;
        }
        const addr = parseIp(ip);
        if (addr !== null) for (let i = 0; i < blocks.length; i++) if (cidrContains(blocks[i], addr)) return true;
        return noMatch;
      };
    },
  },
  {
    name: "concat",
    minArgs: 1,
    maxArgs: Infinity,
    caseInsensitive: false,
    argKind: () => "any",
    returns: "string",
    make: () => (args) => {
      let out = "";
      for (const a of args) {
        if (a === null) return null;
        out += scalarToString(a);
      }
      return out;
    },
  },
  stringPredicate("endsWith", (s, t) => s.endsWith(t)),
  stringPredicate("startsWith", (s, t) => s.startsWith(t)),
  stringPredicate("stringContains", (s, t) => s.includes(t)),
  {
    name: "indexOf",
    minArgs: 2,
    maxArgs: 3,
    caseInsensitive: true,
    argKind: (i) => (i === 2 ? "integer" : "string"),
    returns: "number",
    make: (site) => (args) => {
      const s = str(args[0]);
      const t = str(args[1]);
      const start = args.length > 2 ? num(args[2]) : 0;
      if (s === null || t === null || start === null) return null;
      return indexOf(s, t, start, site.caseInsensitive);
    },
  },
  {
    name: "length",
    minArgs: 1,
    maxArgs: 1,
    caseInsensitive: false,
    argKind: () => "string",
    returns: "number",
    make: () => (args) => {
      const s = str(args[0]);
      return s === null ? null : s.length;
    },
  },
  {
    name: "number",
    minArgs: 1,
    maxArgs: 2,
    caseInsensitive: false,
    argKind: (i) => (i === 0 ? "string" : "integer"),
    literalOnly: [1],
    returns: "number",
    make: (site) => {
      const base = site.literals[1];
      const radix = typeof base === "number" ? base : null;
      return (args) => toNumber(args[0], radix);
    },
  },
  {
    name: "string",
    minArgs: 1,
    maxArgs: 1,
    caseInsensitive: false,
    argKind: () => "any",
    returns: "string",
    make: () => (args) => (args[0] === null ? null : scalarToString(args[0])),
  },
  {
    name: "substring",
    minArgs: 2,
    maxArgs: 3,
    caseInsensitive: false,
    argKind: (i) => (i === 0 ? "string" : "integer"),
    returns: "string",
    make: () => (args) => {
      const s = str(args[0]);
      const start = num(args[1]);
      const end = args.length > 2 ? num(args[2]) : null;
      if (s === null || start === null) return null;
      if (args.length > 2 && end === null) return null;
      return substring(s, start, end);
    },
  },
];

const BY_NAME = new Map(SPECS.map((s) => [s.name.toLowerCase(), s]));

/** The function of that name (any case), or undefined. */
export function lookupFunction(name: string): FunctionSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export const FUNCTION_NAMES: readonly string[] = SPECS.map((s) => s.name);
