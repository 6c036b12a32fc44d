/**
 * JSON.parse that keeps integers beyond 2^53 exact: such integers (e.g. eslogger's `st_ino` on the sealed system
 * volume, about 1.15e18) come back as decimal strings instead of silently rounded numbers. Node 20's JSON.parse
 * reviver has no access to the source text, so the text is rewritten first: long integer literals outside
 * strings get quotes. Texts without a run of 16 digits skip that pass.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  return JSON.parse(quoteBigIntegers(text));
}

/** Puts quotes around every integer literal outside strings that a double cannot hold exactly. */
export function quoteBigIntegers(text: string): string {
  let out = "";
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      const next = j < text.length ? text.charCodeAt(j) : 0;
      const isInteger = next !== 46 && next !== 101 && next !== 69; // not followed by . e E
      if (isInteger && !Number.isSafeInteger(Number(text.slice(i, j)))) {
        out += text.slice(copied, i) + '"' + text.slice(i, j) + '"';
        copied = j;
      }
      i = j - 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Where and why a text is not valid JSON (V8's messages do not always give a position). Only used after
 * JSON.parse failed, so it favours clarity over speed. Returns undefined for valid JSON.
 */
export function findJsonSyntaxError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly reason: string,
    ) {}
  }
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const found = (): string => (i >= text.length ? "end of input" : JSON.stringify(text[i]));
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Stop(i, `expected a property name in double quotes, found ${found()}`);
        string();
        ws();
        if (text[i] !== ":") throw new Stop(i, `expected ':' after the property name, found ${found()}`);
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        throw new Stop(i, `expected ',' or '}' in an object, found ${found()}`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        throw new Stop(i, `expected ',' or ']' in an array, found ${found()}`);
      }
    }
    if (c === '"') return string();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) throw new Stop(i, `expected a value, found ${found()}`);
    i += m[0].length;
  };
  const string = (): void => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) throw new Stop(i, "control character inside a string");
      if (c === 92) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, "bad \\u escape");
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i, "bad escape in a string");
        i += 2;
        continue;
      }
      i++;
    }
    throw new Stop(start, "string is not closed");
  };
  try {
    value();
    ws();
    if (i < text.length) throw new Stop(i, `unexpected ${found()} after the JSON value`);
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
  return undefined;
}

/** The same JSON on one line: whitespace outside strings removed, everything else byte for byte (numbers keep their digits). */
export function compactJsonText(text: string): string {
  if (!/[\n\r]/.test(text)) return text;
  let out = "";
  let copied = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 32 || c === 10 || c === 13 || c === 9) {
      out += text.slice(copied, i);
      copied = i + 1;
    }
  }
  return out + text.slice(copied);
}
