import { MacsensorError, positionAt } from "../../errors.js";

/** A plist that cannot be read: names the file and where in it (line:column for XML, byte offset for binary). */
export class PlistError extends MacsensorError {
  override name = "PlistError";
  readonly file: string;
  readonly reason: string;
  /** Byte offset (binary) or character offset (XML) of the problem. */
  readonly offset: number;
  readonly line?: number;
  readonly column?: number;

  constructor(reason: string, file: string, offset: number, text?: string) {
    const pos = text === undefined ? undefined : positionAt(text, offset);
    const where = pos ? `${file}:${pos.line}:${pos.column}` : `${file} (byte ${offset})`;
    super(`${where}: ${reason}`);
    this.file = file;
    this.reason = reason;
    this.offset = offset;
    if (pos) {
      this.line = pos.line;
      this.column = pos.column;
    }
  }
}
