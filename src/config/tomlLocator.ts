/**
 * Finds where each key (and array element) sits in a TOML text, so that messages about a value can say
 * file:line:column. smol-toml gives values without positions; this scanner walks the same grammar loosely,
 * only far enough to know key paths and offsets. It runs on text smol-toml already accepted and never throws.
 */

/** Dotted key path (`alerts.max_bytes`, `actions.<id>`, `rules.paths[1]`) → offset of the key or element. */
export type KeyOffsets = Map<string, number>;

const BARE_KEY = /[A-Za-z0-9_-]/;

class Scanner {
  pos = 0;
  readonly offsets: KeyOffsets = new Map();

  constructor(private readonly s: string) {}

  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.s[this.pos];
      if (c === " " || c === "\t" || c === "\r" || (newlines && c === "\n")) this.pos++;
      else if (c === "#") while (this.pos < this.s.length && this.s[this.pos] !== "\n") this.pos++;
      else return;
    }
  }

  private skipLine(): void {
    while (this.pos < this.s.length && this.s[this.pos] !== "\n") this.pos++;
  }

  /** A quoted or bare key part, or undefined if none starts here. */
  private keyPart(): string | undefined {
    const c = this.s[this.pos];
    if (c === '"' || c === "'") {
      const start = this.pos;
      this.skipString();
      const raw = this.s.slice(start, this.pos);
      if (c === "'") return raw.slice(1, -1);
      try {
        return JSON.parse(raw.replace(/\\U([0-9A-Fa-f]{8})/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16))));
      } catch {
        return raw.slice(1, -1);
      }
    }
    const start = this.pos;
    while (this.pos < this.s.length && BARE_KEY.test(this.s[this.pos])) this.pos++;
    return this.pos > start ? this.s.slice(start, this.pos) : undefined;
  }

  private dottedKey(): string[] | undefined {
    const parts: string[] = [];
    for (;;) {
      this.skipSpace(false);
      const part = this.keyPart();
      if (part === undefined) return undefined;
      parts.push(part);
      this.skipSpace(false);
      if (this.s[this.pos] !== ".") return parts;
      this.pos++;
    }
  }

  private skipString(): void {
    const q = this.s[this.pos];
    if (this.s.startsWith(q.repeat(3), this.pos)) {
      const end = this.s.indexOf(q.repeat(3), this.pos + 3);
      this.pos = end < 0 ? this.s.length : end + 3;
      while (this.s[this.pos] === q) this.pos++; // up to two quotes may end the content
      return;
    }
    this.pos++;
    while (this.pos < this.s.length && this.s[this.pos] !== q && this.s[this.pos] !== "\n") {
      if (q === '"' && this.s[this.pos] === "\\") this.pos++;
      this.pos++;
    }
    this.pos++;
  }

  private value(path: string): void {
    const c = this.s[this.pos];
    if (c === '"' || c === "'") this.skipString();
    else if (c === "[") this.array(path);
    else if (c === "{") this.inlineTable(path);
    else while (this.pos < this.s.length && !",]}\n#".includes(this.s[this.pos])) this.pos++;
  }

  private array(path: string): void {
    this.pos++;
    for (let i = 0; this.pos < this.s.length; i++) {
      this.skipSpace(true);
      if (this.s[this.pos] === "]") break;
      this.offsets.set(`${path}[${i}]`, this.pos);
      this.value(`${path}[${i}]`);
      this.skipSpace(true);
      if (this.s[this.pos] === ",") this.pos++;
      else break;
    }
    this.skipSpace(true);
    if (this.s[this.pos] === "]") this.pos++;
  }

  private inlineTable(path: string): void {
    this.pos++;
    while (this.pos < this.s.length) {
      this.skipSpace(true);
      if (this.s[this.pos] === "}") break;
      const start = this.pos;
      if (!this.keyValue([path], start)) return;
      this.skipSpace(true);
      if (this.s[this.pos] === ",") this.pos++;
      else break;
    }
    this.skipSpace(true);
    if (this.s[this.pos] === "}") this.pos++;
  }

  /** `key = value` under `table`; records the key path. False when no key/value starts here. */
  private keyValue(table: string[], start: number): boolean {
    const keys = this.dottedKey();
    if (!keys || this.s[this.pos] !== "=") return false;
    this.pos++;
    const full = [...table.filter((t) => t !== ""), ...keys];
    for (let i = 1; i <= full.length; i++) {
      const p = full.slice(0, i).join(".");
      if (!this.offsets.has(p)) this.offsets.set(p, start);
    }
    this.skipSpace(false);
    this.value(full.join("."));
    return true;
  }

  scan(): KeyOffsets {
    let table: string[] = [];
    while (this.pos < this.s.length) {
      this.skipSpace(true);
      if (this.pos >= this.s.length) break;
      const start = this.pos;
      if (this.s[this.pos] === "[") {
        const arrayOfTables = this.s[this.pos + 1] === "[";
        this.pos += arrayOfTables ? 2 : 1;
        const keys = this.dottedKey();
        if (keys) {
          table = keys;
          const p = keys.join(".");
          if (!this.offsets.has(p)) this.offsets.set(p, start);
        }
        this.skipLine();
        continue;
      }
      if (!this.keyValue([table.join(".")], start)) this.skipLine();
    }
    return this.offsets;
  }
}

export function locateTomlKeys(text: string): KeyOffsets {
  return new Scanner(text).scan();
}
