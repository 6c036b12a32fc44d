/**
 * EQL abstract syntax tree (Elasticsearch dialect). Plain data: the parser builds it, the type checker and
 * compiler read it, render() (in render.ts) prints it back. Every node carries the source offsets it came
 * from so that semantic errors can point at the exact place.
 */

export interface Span {
  /** Offset of the node's first character in the query text. */
  start: number;
  /** Offset just past the node's last character. */
  end: number;
}

export type LiteralType = "string" | "integer" | "decimal" | "boolean" | "null";

export interface Literal extends Span {
  kind: "literal";
  type: LiteralType;
  value: string | number | boolean | null;
}

export interface FieldRef extends Span {
  kind: "field";
  /** Path segments, e.g. ["process", "parent", "name"]; a backtick-quoted name is one segment with its dots. */
  path: string[];
  /** `?field`: an optional field; absent from the schema is not an error and its value is null. */
  optional: boolean;
}

export interface Not extends Span {
  kind: "not";
  operand: Expr;
}

export interface BooleanOp extends Span {
  kind: "and" | "or";
  /** Two or more operands, flattened. */
  operands: Expr[];
}

export type ComparisonOperator = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface Comparison extends Span {
  kind: "comparison";
  op: ComparisonOperator;
  left: Expr;
  right: Expr;
}

/**
 * `field : "a*"` (always case-insensitive, wildcards), `like` / `like~` (wildcards), `regex` / `regex~`
 * (Lucene regular expressions, whole-string match). A list form `field : ("a", "b")` holds if any pattern matches.
 */
export interface PatternMatch extends Span {
  kind: "pattern";
  op: ":" | "like" | "regex";
  caseInsensitive: boolean;
  subject: Expr;
  patterns: Expr[];
}

/** `x in ("a", "b")` / `in~`. `not in` is parsed as Not(InSet). Literal comparison, no wildcards. */
export interface InSet extends Span {
  kind: "in";
  caseInsensitive: boolean;
  subject: Expr;
  values: Expr[];
}

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "%";

export interface Arithmetic extends Span {
  kind: "arithmetic";
  op: ArithmeticOperator;
  left: Expr;
  right: Expr;
}

export interface Negate extends Span {
  kind: "negate";
  operand: Expr;
}

export interface FunctionCall extends Span {
  kind: "call";
  /** Canonical (documented) spelling, e.g. "startsWith", whatever case the query used. */
  name: string;
  /** The `~` variant, e.g. `startsWith~(...)`. */
  caseInsensitive: boolean;
  args: Expr[];
}

export type Expr =
  | Literal
  | FieldRef
  | Not
  | BooleanOp
  | Comparison
  | PatternMatch
  | InSet
  | Arithmetic
  | Negate
  | FunctionCall;

/** `<category> where <condition>`; category null means `any`. */
export interface EventQuery extends Span {
  kind: "event";
  category: string | null;
  condition: Expr;
}

export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

export interface Duration extends Span {
  value: number;
  unit: DurationUnit;
  millis: number;
}

export interface SequenceStage extends Span {
  query: EventQuery;
  /** Stage-level `by` keys; combined with the sequence-level keys (sequence keys first). */
  joinKeys: Expr[];
  /** `with runs=N`: the stage repeats N times (1 when absent). */
  runs: number;
  /** `![...]`: a missing-event stage. */
  missing: boolean;
}

export interface SequenceQuery extends Span {
  kind: "sequence";
  joinKeys: Expr[];
  maxspan: Duration | null;
  stages: SequenceStage[];
  until: SequenceStage | null;
}

export interface Pipe extends Span {
  kind: "head" | "tail";
  count: number;
}

export interface Query extends Span {
  body: EventQuery | SequenceQuery;
  pipes: Pipe[];
  /** The query text the offsets refer to. */
  source: string;
}
