/**
 * EQL lexer: query text → tokens. Follows Elasticsearch's EqlBase.g4 lexer rules; every malformed piece of
 * text becomes an EqlSyntaxError at its offset, with a message that says what to write instead.
 */
import { EqlSyntaxError } from "./errors.js";
import { KEYWORDS, SYMBOLS, TILDE_KEYWORDS, type Token } from "./tokens.js";

const enum Char {
  Tab = 9,
  LineFeed = 10,
  CarriageReturn = 13,
  Space = 32,
  Bang = 33,
  DoubleQuote = 34,
  Ampersand = 38,
  SingleQuote = 39,
  Star = 42,
  Dot = 46,
  Slash = 47,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  Question = 63,
  At = 64,
  UpperA = 65,
  UpperZ = 90,
  Backslash = 92,
  Underscore = 95,
  Backtick = 96,
  LowerA = 97,
  LowerZ = 122,
  OpenBrace = 123,
  Pipe = 124,
  CloseBrace = 125,
  Tilde = 126,
}

function isDigit(c: number): boolean {
  return c >= Char.Zero && c <= Char.Nine;
}

function isLetter(c: number): boolean {
  return (c >= Char.UpperA && c <= Char.UpperZ) || (c >= Char.LowerA && c <= Char.LowerZ);
}

function isIdentifierPart(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === Char.Underscore;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** How to show one character in a message: itself when visible, its code point otherwise. */
export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (code < 0x21 || (code >= 0x7f && code <= 0xa0) || (code >= 0xd800 && code <= 0xdfff) || /\s/u.test(ch)) {
    return hex;
  }
  return `'${ch}' (${hex})`;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  '"': '"',
  "'": "'",
  "\\": "\\",
};

/** Splits a query into tokens, ending with one `eof` token. Throws EqlSyntaxError on malformed text. */
export function tokenize(source: string): Token[] {
  return new Lexer(source).run();
}

class Lexer {
  private pos = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly source: string) {}

  run(): Token[] {
    const src = this.source;
    while (true) {
      this.skipTrivia();
      if (this.pos >= src.length) break;
      const start = this.pos;
      const c = src.charCodeAt(start);
      if (c === Char.DoubleQuote) this.readString();
      else if (c === Char.Backtick) this.readQuotedIdentifier();
      else if (isDigit(c) || (c === Char.Dot && isDigit(src.charCodeAt(start + 1)))) this.readNumber();
      else if (isLetter(c) || c === Char.Underscore || c === Char.At) this.readWord();
      else this.readSymbol();
    }
    this.tokens.push({ kind: "eof", value: "", start: src.length, end: src.length });
    return this.tokens;
  }

  private fail(reason: string, offset: number, width = 1): never {
    throw new EqlSyntaxError(reason, this.source, offset, width);
  }

  private skipTrivia(): void {
    const src = this.source;
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos);
      if (c === Char.Space || c === Char.Tab || c === Char.LineFeed || c === Char.CarriageReturn) {
        this.pos++;
      } else if (c === Char.Slash && src.charCodeAt(this.pos + 1) === Char.Slash) {
        const newline = src.indexOf("\n", this.pos);
        this.pos = newline < 0 ? src.length : newline + 1;
      } else if (c === Char.Slash && src.charCodeAt(this.pos + 1) === Char.Star) {
        this.skipBlockComment();
      } else {
        return;
      }
    }
  }

  /** `/* ... *\/`, nesting as Elasticsearch's grammar allows. */
  private skipBlockComment(): void {
    const src = this.source;
    const opened = this.pos;
    let depth = 0;
    while (this.pos < src.length) {
      if (src.startsWith("/*", this.pos)) {
        depth++;
        this.pos += 2;
      } else if (src.startsWith("*/", this.pos)) {
        depth--;
        this.pos += 2;
        if (depth === 0) return;
      } else {
        this.pos++;
      }
    }
    this.fail("unterminated comment: '/*' has no matching '*/'", opened, 2);
  }

  private push(kind: Token["kind"], value: string, start: number): void {
    this.tokens.push({ kind, value, start, end: this.pos });
  }

  private readWord(): void {
    const src = this.source;
    const start = this.pos;
    this.pos++;
    while (this.pos < src.length && isIdentifierPart(src.charCodeAt(this.pos))) this.pos++;
    const word = src.slice(start, this.pos);
    if (src.charCodeAt(this.pos) === Char.Tilde && isLetter(src.charCodeAt(start))) {
      this.pos++;
      if (TILDE_KEYWORDS.has(word)) this.push("keyword", `${word}~`, start);
      else this.push("tildeIdentifier", word, start);
      return;
    }
    if (KEYWORDS.has(word)) this.push("keyword", word, start);
    else this.push("identifier", word, start);
  }

  private readNumber(): void {
    const src = this.source;
    const start = this.pos;
    let decimal = false;
    while (isDigit(src.charCodeAt(this.pos))) this.pos++;
    if (src.charCodeAt(this.pos) === Char.Dot) {
      decimal = true;
      this.pos++;
      while (isDigit(src.charCodeAt(this.pos))) this.pos++;
    }
    const e = src.charCodeAt(this.pos);
    if (e === 69 || e === 101) {
      let p = this.pos + 1;
      const sign = src.charCodeAt(p);
      if (sign === 43 || sign === 45) p++;
      if (isDigit(src.charCodeAt(p))) {
        decimal = true;
        while (isDigit(src.charCodeAt(p))) p++;
        this.pos = p;
      }
    }
    this.push(decimal ? "decimal" : "integer", src.slice(start, this.pos), start);
  }

  private readQuotedIdentifier(): void {
    const src = this.source;
    const start = this.pos;
    let name = "";
    let p = start + 1;
    while (true) {
      const close = src.indexOf("`", p);
      if (close < 0) {
        this.fail("unterminated quoted name: the opening '`' has no closing '`' (write a backtick inside as '``')", start);
      }
      name += src.slice(p, close);
      if (src.charCodeAt(close + 1) === Char.Backtick) {
        name += "`";
        p = close + 2;
        continue;
      }
      this.pos = close + 1;
      break;
    }
    if (name === "") this.fail("empty quoted name '``': a field name needs at least one character", start, 2);
    this.push("quotedIdentifier", name, start);
  }

  private readString(): void {
    if (this.source.startsWith('"""', this.pos)) this.readRawString();
    else this.readEscapedString();
  }

  /** `"""raw"""`: no escapes, one line; up to two quotes right before the closing `"""` belong to the text. */
  private readRawString(): void {
    const src = this.source;
    const start = this.pos;
    const contentStart = start + 3;
    let p = contentStart;
    while (p < src.length) {
      const c = src.charCodeAt(p);
      if (c === Char.LineFeed || c === Char.CarriageReturn) break;
      if (src.startsWith('"""', p)) {
        let end = p + 3;
        // `""""` or `"""""` at the close: the extra quotes are part of the text (Elasticsearch's rule).
        let extra = 0;
        while (extra < 2 && src.charCodeAt(end) === Char.DoubleQuote) {
          end++;
          extra++;
        }
        this.pos = end;
        this.push("string", src.slice(contentStart, p + extra), start);
        return;
      }
      p++;
    }
    this.fail('unterminated raw string: \'"""\' needs a closing \'"""\' on the same line', start, 3);
  }

  private readEscapedString(): void {
    const src = this.source;
    const start = this.pos;
    let p = start + 1;
    let value = "";
    let chunkStart = p;
    while (true) {
      if (p >= src.length) {
        this.fail("unterminated string: the opening '\"' has no closing '\"'", start);
      }
      const c = src.charCodeAt(p);
      if (c === Char.DoubleQuote) break;
      if (c === Char.LineFeed || c === Char.CarriageReturn) {
        this.fail("unterminated string: a string cannot span lines (write a line break as \\n)", start);
      }
      if (c !== Char.Backslash) {
        p++;
        continue;
      }
      value += src.slice(chunkStart, p);
      const escape = src[p + 1];
      if (escape === undefined) this.fail("unterminated string: the opening '\"' has no closing '\"'", start);
      if (escape === "u") {
        const { text, next } = this.readUnicodeEscape(p);
        value += text;
        p = next;
      } else if (Object.hasOwn(SIMPLE_ESCAPES, escape)) {
        value += SIMPLE_ESCAPES[escape];
        p += 2;
      } else {
        const shown = /[\s]/u.test(escape) ? describeChar(escape) : `'\\${escape}'`;
        this.fail(
          `unknown escape ${shown} in string: use \\n \\r \\t \\\\ \\" or \\u{XXXX} (write a backslash as \\\\)`,
          p,
          2,
        );
      }
      chunkStart = p;
    }
    value += src.slice(chunkStart, p);
    this.pos = p + 1;
    this.push("string", value, start);
  }

  /** `\u{1F600}`: 1 to 8 hex digits naming a Unicode scalar value. `at` is the backslash. */
  private readUnicodeEscape(at: number): { text: string; next: number } {
    const src = this.source;
    if (src.charCodeAt(at + 2) !== Char.OpenBrace) {
      this.fail("unicode escape needs braces: write \\u{XXXX} with 1 to 8 hex digits", at, 2);
    }
    let p = at + 3;
    while (p < src.length && isHexDigit(src.charCodeAt(p))) p++;
    const digits = src.slice(at + 3, p);
    if (src.charCodeAt(p) !== Char.CloseBrace) {
      const found = p < src.length ? describeChar(String.fromCodePoint(src.codePointAt(p) ?? 0)) : "the end of the query";
      this.fail(`unicode escape \\u{...} expects hex digits and a closing '}', found ${found}`, p);
    }
    const width = p + 1 - at;
    if (digits.length === 0) this.fail("empty unicode escape \\u{}: write 1 to 8 hex digits", at, width);
    if (digits.length > 8) {
      this.fail(`unicode escape \\u{${digits}} has ${digits.length} hex digits; use 1 to 8`, at, width);
    }
    const code = Number.parseInt(digits, 16);
    if (code > 0x10ffff) {
      this.fail(`\\u{${digits}} is not a Unicode code point (the largest is 10FFFF)`, at, width);
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      this.fail(`\\u{${digits}} is a surrogate, not a character; write the character's own code point`, at, width);
    }
    return { text: String.fromCodePoint(code), next: p + 1 };
  }

  private readSymbol(): void {
    const src = this.source;
    const start = this.pos;
    const c = src.charCodeAt(start);
    const next = src.charCodeAt(start + 1);
    if (c === Char.SingleQuote) {
      this.fail("strings are written in double quotes in EQL: use \"...\", not '...'", start);
    }
    if (c === Char.Question && (next === Char.DoubleQuote || next === Char.SingleQuote)) {
      this.fail(`use triple double quotes """...""" for an unescaped string, not ?${src[start + 1]}...`, start, 2);
    }
    if (c === Char.Bang && next === Char.Colon) {
      this.fail("'!:' is not an EQL operator: write 'not field : value'", start, 2);
    }
    if (c === Char.Pipe && next === Char.Pipe) {
      this.fail("'||' is not an EQL operator: use 'or'", start, 2);
    }
    if (c === Char.Ampersand) {
      const width = next === Char.Ampersand ? 2 : 1;
      this.fail(`'${src.slice(start, start + width)}' is not an EQL operator: use 'and'`, start, width);
    }
    if (c === Char.Tilde) {
      this.fail("unexpected '~': write it right after the name, with no space, e.g. 'in~', 'like~' or 'startsWith~('", start);
    }
    for (const symbol of SYMBOLS) {
      if (src.startsWith(symbol, start)) {
        this.pos = start + symbol.length;
        this.push("symbol", symbol, start);
        return;
      }
    }
    if (c === Char.Bang) {
      this.fail("unexpected '!': use 'not' to negate, '!=' to compare", start);
    }
    const ch = String.fromCodePoint(src.codePointAt(start) ?? c);
    const hint = /\p{L}/u.test(ch) ? ": a field name with such characters must be quoted in backticks, e.g. `name`" : "";
    this.fail(`unexpected character ${describeChar(ch)}${hint}`, start, ch.length);
  }
}
