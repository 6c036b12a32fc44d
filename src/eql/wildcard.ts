/**
 * EQL wildcard patterns (`:` and `like`): `*` is any run of characters, `?` exactly one, everything else is
 * literal (there is no escape character). The pattern matches the whole string.
 */

const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/;
const CLASS_SYNTAX = /[\\\]\[^-]/;

/** One character as a literal in a JS regular expression (valid with and without the `u` flag). */
export function escapeRegExpChar(ch: string): string {
  return REGEXP_SYNTAX.test(ch) ? `\\${ch}` : ch;
}

/** One character as a literal inside a JS character class `[...]`. */
export function escapeClassChar(ch: string): string {
  return CLASS_SYNTAX.test(ch) ? `\\${ch}` : ch;
}

/**
 * The JS RegExp source for a wildcard pattern, anchored at both ends: `^(?:...)$`. Meant for the `u` flag (so
 * that `?` is one code point, as in Elasticsearch) plus `i` when case-insensitive; never add `m`. The engine does
 * not run it (a backtracking RegExp can take minutes on a crafted value): it matches with wildcardMatch.ts, and
 * this is the definition the tests compare that matcher with.
 */
export function wildcardToRegExpSource(pattern: string): string {
  let out = "";
  let pendingStars = false;
  for (const ch of pattern) {
    if (ch === "*") {
      pendingStars = true;
      continue;
    }
    if (pendingStars) {
      // A run of stars is one star: keeps the expression linear for patterns like "a**b".
      out += "[\\s\\S]*";
      pendingStars = false;
    }
    out += ch === "?" ? "[\\s\\S]" : escapeRegExpChar(ch);
  }
  if (pendingStars) out += "[\\s\\S]*";
  return `^(?:${out})$`;
}

/** Whether the pattern has a wildcard at all (without one, `:` and `like` are plain string comparisons). */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}
