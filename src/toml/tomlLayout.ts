/**
 * Where things are in a TOML file, for messages that must say file:line:column. smol-toml gives values without
 * positions; toml-eslint-parser gives an AST with ranges, which we reduce to key paths and offsets. One layout
 * serves the rule loader (keys with array-of-tables indices, `rule.threat[0].tactic.id`) and the configuration
 * loader (every key, inline-table key and array element, `rules.paths[1]`). It runs on text smol-toml already
 * accepted, and never throws: text it cannot parse yields an empty layout (messages then point at line 1).
 */
import { parseTOML } from "toml-eslint-parser";
import type { AST } from "toml-eslint-parser";

export interface KeyLocation {
  /** Dotted path with array-of-tables indices: `rule.threat[0].tactic.id`. */
  path: string;
  keyOffset: number;
  valueOffset: number;
  valueEnd: number;
}

export interface TomlLayout {
  /** Keys of key/value lines (not those inside inline tables), in file order. */
  keys: KeyLocation[];
  /** Offset of each table header by its path (`rule`, `rule.threat[1]`). */
  headers: Map<string, number>;
  /**
   * Every key, inline-table key, array element (`paths[1]`) and header, by a path in which array-of-tables
   * indices are left out (`things.name` for `[[things]] name = …`); the first occurrence wins.
   */
  offsets: Map<string, number>;
}

export function scanToml(text: string): TomlLayout {
  const layout: TomlLayout = { keys: [], headers: new Map(), offsets: new Map() };
  let program: AST.TOMLProgram;
  try {
    program = parseTOML(text, { tomlVersion: "latest" });
  } catch {
    return layout;
  }
  const note = (plain: string, offset: number): void => {
    if (!layout.offsets.has(plain)) layout.offsets.set(plain, offset);
  };
  for (const top of program.body) {
    for (const node of top.body) {
      if (node.type === "TOMLTable") {
        const indexed = pathOf(node.resolvedKey, true);
        const plain = pathOf(node.resolvedKey, false);
        layout.headers.set(indexed, node.range[0]);
        note(plain, node.range[0]);
        for (const kv of node.body) addKeyValue(layout, kv, indexed, plain, note);
      } else {
        addKeyValue(layout, node, "", "", note);
      }
    }
  }
  return layout;
}

function addKeyValue(layout: TomlLayout, kv: AST.TOMLKeyValue, indexed: string, plain: string, note: (plain: string, offset: number) => void): void {
  const parts = kv.key.keys.map(keyName);
  layout.keys.push({ path: join(indexed, parts.join(".")), keyOffset: kv.range[0], valueOffset: kv.value.range[0], valueEnd: kv.value.range[1] });
  addNested(kv, plain, note);
}

/** A key/value, inline-table keys and array elements under `plain`, for the configuration's per-element messages. */
function addNested(value: AST.TOMLContentNode | AST.TOMLKeyValue, plain: string, note: (plain: string, offset: number) => void): void {
  if (value.type === "TOMLArray") {
    value.elements.forEach((element, i) => {
      note(`${plain}[${i}]`, element.range[0]);
      addNested(element, `${plain}[${i}]`, note);
    });
  } else if (value.type === "TOMLInlineTable") {
    for (const kv of value.body) addNested(kv, plain, note);
  } else if (value.type === "TOMLKeyValue") {
    // A dotted key also places the tables it implies: `a.b.c = 1` is where `a` and `a.b` are, too.
    let path = plain;
    for (const part of value.key.keys) {
      path = join(path, keyName(part));
      note(path, value.range[0]);
    }
    addNested(value.value, path, note);
  }
}

function keyName(part: AST.TOMLBare | AST.TOMLQuoted): string {
  return part.type === "TOMLBare" ? part.name : part.value;
}

function pathOf(resolved: (string | number)[], withIndices: boolean): string {
  let out = "";
  for (const part of resolved) {
    if (typeof part === "number") {
      if (withIndices) out += `[${part}]`;
    } else {
      out = join(out, part);
    }
  }
  return out;
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
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
 * For the string value of `key`, a function from an index in the decoded string to the offset in the file of the
 * character that produced it (escapes and line-ending backslashes accounted for).
 */
export function stringOffsetMapper(text: string, key: KeyLocation): (index: number) => number {
  const { valueOffset } = key;
  const quote = text[valueOffset];
  const triple = text.startsWith(quote.repeat(3), valueOffset);
  const literal = quote === "'";
  let i = valueOffset + (triple ? 3 : 1);
  // TOML trims a newline that immediately follows the opening delimiter of a multi-line string.
  if (triple && text[i] === "\n") i++;
  else if (triple && text[i] === "\r" && text[i + 1] === "\n") i += 2;
  const offsets: number[] = [];
  const end = key.valueEnd - (triple ? 3 : 1);
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
      const width = e === "u" ? 6 : e === "U" ? 10 : e === "x" ? 4 : 2;
      offsets.push(i);
      if (e === "U" && parseInt(text.slice(i + 2, i + 10), 16) > 0xffff) offsets.push(i);
      i += width;
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
