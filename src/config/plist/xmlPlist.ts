/**
 * Reads XML property lists (Apple's plist 1.0 DTD): plist, dict/key, array, string, integer, real, true, false,
 * date, data. Only the XML that plists use: a prolog (`<?xml?>`, DOCTYPE, comments), elements without attributes
 * other than plist's version, character and entity references, CDATA. Anything else is an error naming the line
 * and column.
 */
import { PlistError } from "./plistError.js";
import type { PlistDict, PlistValue } from "./plistValue.js";

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

interface Tag {
  name: string;
  /** Offset of `<`. */
  start: number;
  selfClosing: boolean;
}

class XmlPlistReader {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(reason: string, offset = this.pos): never {
    throw new PlistError(reason, this.file, offset, this.text);
  }

  read(): PlistValue {
    this.skipMisc(true);
    const root = this.openTag();
    if (root.name !== "plist") this.fail(`expected <plist>, found <${root.name}>`, root.start);
    if (root.selfClosing) this.fail("empty <plist/>", root.start);
    this.skipMisc(false);
    const value = this.value();
    this.skipMisc(false);
    this.closeTag("plist");
    this.skipMisc(false);
    if (this.pos < this.text.length) this.fail("unexpected content after </plist>");
    return value;
  }

  /** Whitespace, comments, and (in the prolog only) the XML declaration and DOCTYPE. */
  private skipMisc(prolog: boolean): void {
    for (;;) {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
      if (this.text.startsWith("\uFEFF", this.pos) && this.pos === 0) {
        this.pos++;
        continue;
      }
      if (this.text.startsWith("<!--", this.pos)) {
        const end = this.text.indexOf("-->", this.pos + 4);
        if (end < 0) this.fail("unterminated comment");
        this.pos = end + 3;
      } else if (prolog && this.text.startsWith("<?", this.pos)) {
        const end = this.text.indexOf("?>", this.pos + 2);
        if (end < 0) this.fail("unterminated <? ... ?>");
        this.pos = end + 2;
      } else if (prolog && this.text.startsWith("<!DOCTYPE", this.pos)) {
        const end = this.text.indexOf(">", this.pos);
        if (end < 0) this.fail("unterminated <!DOCTYPE");
        this.pos = end + 1;
      } else {
        return;
      }
    }
  }

  private openTag(): Tag {
    const start = this.pos;
    const m = /^<([A-Za-z][A-Za-z0-9_.-]*)((?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
      this.text.slice(this.pos, this.pos + 512),
    );
    if (!m) this.fail(this.pos >= this.text.length ? "unexpected end of file, expected an element" : "expected an element");
    if (m[2] && m[1] !== "plist") this.fail(`unexpected attributes on <${m[1]}>`, start);
    this.pos += m[0].length;
    return { name: m[1], start, selfClosing: m[3] === "/" };
  }

  private closeTag(name: string): void {
    const m = /^<\/([A-Za-z][A-Za-z0-9_.-]*)\s*>/.exec(this.text.slice(this.pos, this.pos + 128));
    if (!m) this.fail(`expected </${name}>`);
    if (m[1] !== name) this.fail(`expected </${name}>, found </${m[1]}>`);
    this.pos += m[0].length;
  }

  /** Character data up to the next tag, with references and CDATA resolved; comments are skipped. */
  private textContent(): string {
    let out = "";
    for (;;) {
      const lt = this.text.indexOf("<", this.pos);
      if (lt < 0) this.fail("unexpected end of file in text");
      out += this.decodeReferences(this.text.slice(this.pos, lt), this.pos);
      this.pos = lt;
      if (this.text.startsWith("<![CDATA[", this.pos)) {
        const end = this.text.indexOf("]]>", this.pos + 9);
        if (end < 0) this.fail("unterminated CDATA section");
        out += this.text.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.text.startsWith("<!--", this.pos)) {
        const end = this.text.indexOf("-->", this.pos + 4);
        if (end < 0) this.fail("unterminated comment");
        this.pos = end + 3;
      } else {
        return out;
      }
    }
  }

  private decodeReferences(raw: string, base: number): string {
    return raw.replace(/&([^;&\s]*);?/g, (whole, name: string, at: number) => {
      if (!whole.endsWith(";")) this.fail("'&' must start an entity reference such as &amp;", base + at);
      if (name.startsWith("#")) {
        const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        const valid = /^#(x[0-9A-Fa-f]+|[0-9]+)$/.test(name) && code <= 0x10ffff;
        if (!valid) this.fail(`bad character reference &${name};`, base + at);
        return String.fromCodePoint(code);
      }
      const named = NAMED_ENTITIES[name];
      if (named === undefined) this.fail(`unknown entity &${name};`, base + at);
      return named;
    });
  }

  private value(): PlistValue {
    const tag = this.openTag();
    switch (tag.name) {
      case "true":
      case "false":
        if (!tag.selfClosing) {
          this.skipMisc(false);
          this.closeTag(tag.name);
        }
        return tag.name === "true";
      case "dict":
        return this.dict(tag);
      case "array":
        return this.array(tag);
      case "key":
        return this.fail("<key> outside a <dict>", tag.start);
      case "string":
      case "integer":
      case "real":
      case "date":
      case "data":
        return this.scalar(tag);
      default:
        return this.fail(`unknown plist element <${tag.name}>`, tag.start);
    }
  }

  private scalar(tag: Tag): PlistValue {
    const contentStart = this.pos;
    const text = tag.selfClosing ? "" : this.textContent();
    if (!tag.selfClosing) this.closeTag(tag.name);
    switch (tag.name) {
      case "string":
        return text;
      case "integer":
        return this.integer(text.trim(), contentStart);
      case "real":
        return this.real(text.trim(), contentStart);
      case "date": {
        const t = text.trim();
        const ms = Date.parse(t);
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(t) || Number.isNaN(ms)) {
          this.fail(`bad <date> '${t}': expected e.g. 2026-01-31T12:00:00Z`, contentStart);
        }
        return new Date(ms);
      }
      default: {
        const b64 = text.replace(/\s+/g, "");
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) this.fail("bad base64 in <data>", contentStart);
        return new Uint8Array(Buffer.from(b64, "base64"));
      }
    }
  }

  private integer(t: string, at: number): number | bigint {
    let big: bigint;
    if (/^[+-]?\d+$/.test(t)) big = BigInt(t);
    else if (/^[+-]?0x[0-9a-fA-F]+$/.test(t)) big = t.startsWith("-") ? -BigInt(t.slice(1)) : BigInt(t.replace(/^\+/, ""));
    else return this.fail(`bad <integer> '${t}'`, at);
    if (big < -(1n << 63n) || big >= 1n << 64n) this.fail(`<integer> ${t} does not fit in 64 bits`, at);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private real(t: string, at: number): number {
    const lower = t.toLowerCase();
    if (lower === "nan") return NaN;
    if (lower === "inf" || lower === "+inf" || lower === "infinity" || lower === "+infinity") return Infinity;
    if (lower === "-inf" || lower === "-infinity") return -Infinity;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) this.fail(`bad <real> '${t}'`, at);
    return Number(t);
  }

  private dict(tag: Tag): PlistDict {
    const out: PlistDict = {};
    if (tag.selfClosing) return out;
    for (;;) {
      this.skipMisc(false);
      if (this.text.startsWith("</", this.pos)) {
        this.closeTag("dict");
        return out;
      }
      const keyTag = this.openTag();
      if (keyTag.name !== "key") this.fail(`expected <key> in <dict>, found <${keyTag.name}>`, keyTag.start);
      const key = keyTag.selfClosing ? "" : this.textContent();
      if (!keyTag.selfClosing) this.closeTag("key");
      this.skipMisc(false);
      if (this.text.startsWith("</", this.pos)) this.fail(`<key>${key}</key> has no value`);
      // Own property even for "__proto__": dict keys are data, never the object's prototype.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
    }
  }

  private array(tag: Tag): PlistValue[] {
    const out: PlistValue[] = [];
    if (tag.selfClosing) return out;
    for (;;) {
      this.skipMisc(false);
      if (this.text.startsWith("</", this.pos)) {
        this.closeTag("array");
        return out;
      }
      out.push(this.value());
    }
  }
}

/** Parses an XML plist; `file` names it in errors. */
export function parseXmlPlist(text: string, file = "<plist>"): PlistValue {
  return new XmlPlistReader(text, file).read();
}
