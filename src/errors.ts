/** Base of every error macsensor raises on purpose; anything else reaching the CLI is a bug. */
export class MacsensorError extends Error {
  override name = "MacsensorError";
}

export interface SourcePosition {
  /** 1-based line. */
  line: number;
  /** 1-based column, counted in UTF-16 code units as editors do. */
  column: number;
}

/** Line and column of an offset in a text. */
export function positionAt(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** The offending line (and the one before it) with a caret under the position, for error messages. */
export function codeblock(text: string, offset: number, width = 1): string {
  const { line, column } = positionAt(text, offset);
  const lines = text.split("\n");
  const numberWidth = String(line).length;
  const out: string[] = [];
  if (line >= 2) out.push(`${String(line - 1).padStart(numberWidth)} | ${lines[line - 2]}`);
  out.push(`${String(line).padStart(numberWidth)} | ${lines[line - 1] ?? ""}`);
  out.push(`${" ".repeat(numberWidth)} | ${" ".repeat(column - 1)}${"^".repeat(Math.max(1, width))}`);
  return out.join("\n");
}

/** An error about a place in a text (a query, a rule file): carries the offset and computes line/column/codeblock. */
export class SourceError extends MacsensorError {
  override name = "SourceError";
  readonly source: string;
  readonly offset: number;
  readonly width: number;
  readonly line: number;
  readonly column: number;
  /** The message without the position suffix. */
  readonly reason: string;

  constructor(reason: string, source: string, offset: number, width = 1, options?: { cause?: unknown }) {
    const { line, column } = positionAt(source, offset);
    super(`${reason} (line ${line}, column ${column})\n${codeblock(source, offset, width)}`, options);
    this.reason = reason;
    this.source = source;
    this.offset = offset;
    this.width = width;
    this.line = line;
    this.column = column;
  }

  get codeblock(): string {
    return codeblock(this.source, this.offset, this.width);
  }
}
