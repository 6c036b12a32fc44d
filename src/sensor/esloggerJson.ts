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

/** Offset of a JSON.parse SyntaxError in the text it parsed, when V8 says where. */
export function syntaxErrorOffset(err: unknown): number | undefined {
  const m = err instanceof SyntaxError ? /at position (\d+)/.exec(err.message) : null;
  return m ? Number(m[1]) : undefined;
}
