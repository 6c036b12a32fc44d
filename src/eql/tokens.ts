/**
 * EQL tokens (Elasticsearch dialect). The lexer turns a query into these; the parser reads only these.
 * Offsets are UTF-16 indexes into the query text.
 */

export type TokenKind =
  /** A plain name: letters, digits and `_`, starting with a letter, `_` or `@` (so `@timestamp` needs no quoting). */
  | "identifier"
  /** A backtick-quoted name; `value` is the name with doubled backticks undone. */
  | "quotedIdentifier"
  /** A name directly followed by `~`, e.g. `startsWith~`; `value` is the name without the tilde. */
  | "tildeIdentifier"
  /** A reserved word (always lowercase); `value` is the word, e.g. `in~`. */
  | "keyword"
  /** A double-quoted or `"""raw"""` string; `value` is the decoded text. */
  | "string"
  | "integer"
  | "decimal"
  /** Punctuation and operators; `value` is the symbol, e.g. `==` or `![`. */
  | "symbol"
  | "eof";

export interface Token {
  kind: TokenKind;
  /** Decoded value (see TokenKind); for numbers the source text. */
  value: string;
  /** Offset of the first character. */
  start: number;
  /** Offset just past the last character. */
  end: number;
}

/** Reserved words. Elasticsearch's lexer matches them case-sensitively, so `AND` is a name, not `and`. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "and",
  "any",
  "by",
  "false",
  "in",
  "in~",
  "join",
  "like",
  "like~",
  "maxspan",
  "not",
  "null",
  "of",
  "or",
  "regex",
  "regex~",
  "sample",
  "sequence",
  "true",
  "until",
  "where",
  "with",
]);

/** Words that take a `~` to become their case-insensitive form. */
export const TILDE_KEYWORDS: ReadonlySet<string> = new Set(["in", "like", "regex"]);

/** Every symbol the lexer produces, longest first so that matching can take the first that fits. */
export const SYMBOLS: readonly string[] = [
  "==",
  "!=",
  "<=",
  ">=",
  "![",
  ":",
  "=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  ".",
  ",",
  "[",
  "]",
  "(",
  ")",
  "|",
  "?",
];

/** A plain identifier as the lexer reads it (used by render to decide when a name needs backticks). */
export const PLAIN_IDENTIFIER = /^[A-Za-z_@][A-Za-z0-9_]*$/;
