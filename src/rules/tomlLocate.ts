/**
 * Where things are in a TOML file: smol-toml gives values, not positions, so rule errors that are about a
 * value (wrong type, bad EQL inside a query string) find the key's place here with a small scanner of their own.
 * It understands headers, dotted/quoted keys, all four string forms and nested arrays/inline tables well enough
 * to step over them; it never decides whether the document is valid (smol-toml does).
 */

export interface KeyLocation {
  /** Full dotted path with array-of-tables indices: `rule.threat[0].tactic.id`. */
  path: string;
  keyOffset: number;
  valueOffset: number;
  valueEnd: number;
}

export interface TomlLayout {
  keys: KeyLocation[];
  /** Offset of each table header by its path (`rule`, `rule.threat[1]`). */
  headers: Map<string, number>;
}

const BARE_KEY = /[A-Za-z0-9_-]/;

export function scanToml(text: string): TomlLayout {
  const keys: KeyLocation[] = [];
  const headers = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let prefix: string[] = [];
  let i = 0;
  const n = text.length;

  const skipInlineSpace = (): void => {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
  };
  const skipToLineEnd = (): void => {
    while (i < n && text[i] !== "\n") i++;
  };
  const readKeyPart = (): string | null => {
    skipInlineSpace();
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = skipString(text, i);
      const raw = text.slice(i + 1, end - 1);
      i = end;
      return raw;
    }
    const start = i;
    while (i < n && BARE_KEY.test(text[i])) i++;
    return i > start ? text.slice(start, i) : null;
  };
  const readDottedKey = (): string[] | null => {
    const parts: string[] = [];
    for (;;) {
      const part = readKeyPart();
      if (part === null) return null;
      parts.push(part);
      skipInlineSpace();
      if (text[i] !== ".") return parts;
      i++;
    }
  };
  /** Resolves a header's dotted key to a path with the current index of every array table along it. */
  const indexedPath = (parts: string[], isArrayTable: boolean): string[] => {
    const out: string[] = [];
    for (let p = 0; p < parts.length; p++) {
      const plain = [...out, parts[p]].join(".");
      const last = p === parts.length - 1;
      if (last && isArrayTable) {
        const count = arrayCounts.get(plain) ?? 0;
        arrayCounts.set(plain, count + 1);
        out.push(`${parts[p]}[${count}]`);
      } else {
        const count = arrayCounts.get(plain);
        out.push(count === undefined ? parts[p] : `${parts[p]}[${count - 1}]`);
      }
    }
    return out;
  };

  while (i < n) {
    skipInlineSpace();
    const c = text[i];
    if (c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") {
      skipToLineEnd();
      continue;
    }
    if (c === "[") {
      const headerOffset = i;
      const isArrayTable = text[i + 1] === "[";
      i += isArrayTable ? 2 : 1;
      const parts = readDottedKey();
      skipToLineEnd();
      if (parts) {
        prefix = indexedPath(parts, isArrayTable);
        headers.set(prefix.join("."), headerOffset);
      }
      continue;
    }
    const keyOffset = i;
    const parts = readDottedKey();
    skipInlineSpace();
    if (!parts || text[i] !== "=") {
      skipToLineEnd();
      continue;
    }
    i++;
    skipInlineSpace();
    const valueOffset = i;
    i = skipValue(text, i);
    keys.push({ path: [...prefix, ...parts].join("."), keyOffset, valueOffset, valueEnd: i });
    skipToLineEnd();
  }
  return { keys, headers };
}

/** Offset just past the TOML value starting at `start` (string, array, inline table, or a bare scalar). */
function skipValue(text: string, start: number): number {
  const c = text[start];
  if (c === '"' || c === "'") return skipString(text, start);
  if (c === "[" || c === "{") {
    const close = c === "[" ? "]" : "}";
    let i = start + 1;
    while (i < text.length) {
      const d = text[i];
      if (d === close) return i + 1;
      if (d === '"' || d === "'" || d === "[" || d === "{") {
        i = skipValue(text, i);
        continue;
      }
      if (d === "#") {
        while (i < text.length && text[i] !== "\n") i++;
        continue;
      }
      i++;
    }
    return text.length;
  }
  let i = start;
  while (i < text.length && text[i] !== "\n" && text[i] !== "#" && text[i] !== "," && text[i] !== "]" && text[i] !== "}") i++;
  return i;
}

function skipString(text: string, start: number): number {
  const quote = text[start];
  const triple = text.startsWith(quote.repeat(3), start);
  const literal = quote === "'";
  let i = start + (triple ? 3 : 1);
  while (i < text.length) {
    const d = text[i];
    if (!literal && d === "\\") {
      i += 2;
      continue;
    }
    if (!triple && d === "\n") return i;
    if (d === quote) {
      if (!triple) return i + 1;
      if (text.startsWith(quote.repeat(3), i)) {
        // A closing delimiter may be followed by up to two more quotes that belong to the content.
        let end = i + 3;
        while (end < text.length && text[end] === quote && end < i + 5) end++;
        return end;
      }
    }
    i++;
  }
  return text.length;
}

export function findKey(layout: TomlLayout, path: string): KeyLocation | undefined {
  return layout.keys.find((k) => k.path === path);
}

/**
 * The best place to report a problem with `path`: the key itself, else the closest enclosing key or table header
 * that exists in the file, else the start of the file.
 */
export function locate(layout: TomlLayout, path: string): { offset: number; exact: boolean } {
  const key = findKey(layout, path);
  if (key) return { offset: key.keyOffset, exact: true };
  let p = path;
  while (p.length > 0) {
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut > 0 ? p.slice(0, cut) : "";
    if (!p) break;
    const parent = findKey(layout, p);
    if (parent) return { offset: parent.keyOffset, exact: false };
    const header = layout.headers.get(p);
    if (header !== undefined) return { offset: header, exact: false };
  }
  return { offset: 0, exact: false };
}

/**
 * For a string value at `valueOffset`, a function from an index in the decoded string to the offset in the file
 * of the character that produced it (escapes and line-ending backslashes accounted for).
 */
export function stringOffsetMapper(text: string, valueOffset: number): (index: number) => number {
  const quote = text[valueOffset];
  const triple = text.startsWith(quote.repeat(3), valueOffset);
  const literal = quote === "'";
  let i = valueOffset + (triple ? 3 : 1);
  // TOML trims a newline that immediately follows the opening delimiter of a multi-line string.
  if (triple && text[i] === "\n") i++;
  else if (triple && text[i] === "\r" && text[i + 1] === "\n") i += 2;
  const offsets: number[] = [];
  const end = skipString(text, valueOffset) - (triple ? 3 : 1);
  while (i < end) {
    const d = text[i];
    if (!literal && d === "\\") {
      const e = text[i + 1];
      if (triple && (e === "\n" || e === " " || e === "\t" || e === "\r")) {
        // Line-ending backslash: it and all whitespace/newlines after it vanish.
        let j = i + 1;
        while (j < end && /[ \t\r\n]/.test(text[j])) j++;
        i = j;
        continue;
      }
      const width = e === "u" ? 6 : e === "U" ? 10 : 2;
      offsets.push(i);
      if (e === "U" && parseInt(text.slice(i + 2, i + 10), 16) > 0xffff) offsets.push(i);
      i += width;
      continue;
    }
    if (d === "\r" && text[i + 1] === "\n" && triple) {
      // smol-toml keeps CRLF as written; one decoded char per raw char.
      offsets.push(i);
      i++;
      continue;
    }
    offsets.push(i);
    i++;
  }
  return (index: number) => {
    if (index < offsets.length) return offsets[Math.max(0, index)];
    return offsets.length > 0 ? offsets[offsets.length - 1] + 1 : i;
  };
}
