/**
 * Text for a person to read on one line: log messages, alert titles, console output.
 *
 * Control characters (C0, DEL, C1), the Unicode line and paragraph separators and the bidirectional overrides
 * (which can make a terminal show a command line in a different order than it ran, "Trojan Source") are shown as
 * visible escapes; a lone UTF-16 surrogate becomes U+FFFD. Everything else is kept as it is.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(ch: string): string {
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return "\ufffd";
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` made safe to print on one line. When `maxLength` is given the result is cut to at most that many
 * UTF-16 units (never inside a surrogate pair or an escape), ending with "…".
 */
export function printableLine(text: string, maxLength?: number): string {
  const escaped = text.replace(UNPRINTABLE, escapeOne);
  if (maxLength === undefined || escaped.length <= maxLength) return escaped;
  let cut = Math.max(0, maxLength - 1);
  const code = escaped.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  // Do not end inside a "\xHH" / "\uHHHH" escape we just made.
  const tail = escaped.slice(Math.max(0, cut - 5), cut);
  const backslash = tail.lastIndexOf("\\");
  if (backslash >= 0) {
    const escapeStart = cut - tail.length + backslash;
    const escapeEnd = escapedEnd(escaped, escapeStart);
    if (escapeEnd > cut) cut = escapeStart;
  }
  return `${escaped.slice(0, cut)}…`;
}

function escapedEnd(text: string, start: number): number {
  const kind = text[start + 1];
  if (kind === "x") return start + 4;
  if (kind === "u") return start + 6;
  return start + 2;
}
