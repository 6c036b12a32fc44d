/**
 * Splits a stream of text into top-level JSON objects: one per line as eslogger prints them, pretty-printed,
 * or concatenated without separators (as people paste them). Commas and brackets between objects are ignored,
 * so a JSON array of messages works too. It only finds object boundaries; JSON.parse checks the rest.
 *
 * Recovery, so that one bad object never swallows the ones after it: a raw newline inside a string (never valid
 * JSON) ends the broken object, and a `{` in the first column of a line while an object is still open starts a
 * new one (eslogger starts every message there; nested objects of a pretty-printed message never do).
 */
export type SplitItem =
  | { kind: "object"; text: string; line: number; column: number }
  | { kind: "error"; reason: string; line: number; column: number };

const NEWLINE = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const BOM = 0xfeff;

export class JsonObjectSplitter {
  private line = 1;
  private column = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private skippingLine = false;
  private parts: string[] = [];
  private objectLine = 0;
  private objectColumn = 0;

  /** Feeds the next piece of text; returns the objects (and errors) completed by it. */
  push(chunk: string): SplitItem[] {
    const out: SplitItem[] = [];
    let segmentStart = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.depth === 0) {
        if (this.skippingLine) {
          if (c === NEWLINE) this.skippingLine = false;
        } else if (c === LBRACE) {
          this.depth = 1;
          this.objectLine = this.line;
          this.objectColumn = this.column;
          this.parts = [];
          segmentStart = i;
        } else if (!(c === SPACE || c === NEWLINE || c === CR || c === TAB || c === COMMA || c === LBRACKET || c === RBRACKET || c === BOM)) {
          out.push({ kind: "error", reason: `expected '{' (a JSON object), found ${describe(chunk, i)}`, line: this.line, column: this.column });
          this.skippingLine = true;
        }
      } else if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (c === NEWLINE) {
          out.push({ kind: "error", reason: "line ends inside a string: the object is cut off or not JSON", line: this.line, column: this.column });
          this.reset();
          segmentStart = -1;
        }
      } else if (c === QUOTE) {
        this.inString = true;
      } else if (c === LBRACE || c === LBRACKET) {
        if (c === LBRACE && this.column === 1) {
          out.push({
            kind: "error",
            reason: `object is not closed before the next object starts at line ${this.line}`,
            line: this.objectLine,
            column: this.objectColumn,
          });
          this.depth = 1;
          this.objectLine = this.line;
          this.objectColumn = this.column;
          this.parts = [];
          segmentStart = i;
        } else {
          this.depth++;
        }
      } else if (c === RBRACE || c === RBRACKET) {
        this.depth--;
        if (this.depth === 0) {
          this.parts.push(chunk.slice(segmentStart, i + 1));
          out.push({ kind: "object", text: this.parts.join(""), line: this.objectLine, column: this.objectColumn });
          this.parts = [];
          segmentStart = -1;
        }
      }
      if (c === NEWLINE) {
        this.line++;
        this.column = 1;
      } else {
        this.column++;
      }
    }
    if (this.depth > 0 && segmentStart >= 0) this.parts.push(chunk.slice(segmentStart));
    return out;
  }

  /** Ends the input: an object still open is an error. */
  end(): SplitItem[] {
    if (this.depth === 0) return [];
    const item: SplitItem = { kind: "error", reason: "input ends inside an object", line: this.objectLine, column: this.objectColumn };
    this.reset();
    return [item];
  }

  private reset(): void {
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.parts = [];
  }
}

function describe(text: string, i: number): string {
  const rest = text.slice(i, i + 20).split("\n")[0];
  return JSON.stringify(rest.length === 20 ? rest + "…" : rest);
}
