import { describe, expect, it } from "vitest";
import { parse } from "smol-toml";
import { findKey, locate, scanToml, stringOffsetMapper } from "../../src/toml/tomlLayout.js";

const text = `# a comment [not.a.header]
[metadata]
integration = ["endpoint", "]tricky["]
maturity = "production" # trailing comment

[rule]
"quoted.key" = 1
dotted.inner = 2
inline = { a = 1, b = [1, 2] }
tags = [
    "a [x]",
    'b = 3',
]
query = '''
sequence
  [process where true]
[rule.not_a_header]
x = 1
'''
risk_score = 5

[[rule.threat]]
framework = "A"
[[rule.threat.technique]]
id = "T1"
[[rule.threat.technique]]
id = "T2"
[rule.threat.tactic]
id = "TA1"

[[rule.threat]]
framework = "B"
[rule.threat.tactic]
id = "TA2"
`;

describe("scanToml", () => {
  const layout = scanToml(text);
  const line = (offset: number) => text.slice(0, offset).split("\n").length;

  it("finds every top-level key with its dotted path, never inside strings, arrays or comments", () => {
    expect(layout.keys.map((k) => k.path)).toEqual([
      "metadata.integration",
      "metadata.maturity",
      "rule.quoted.key",
      "rule.dotted.inner",
      "rule.inline",
      "rule.tags",
      "rule.query",
      "rule.risk_score",
      "rule.threat[0].framework",
      "rule.threat[0].technique[0].id",
      "rule.threat[0].technique[1].id",
      "rule.threat[0].tactic.id",
      "rule.threat[1].framework",
      "rule.threat[1].tactic.id",
    ]);
    expect(line(findKey(layout, "rule.risk_score")!.keyOffset)).toBe(20);
    expect(line(findKey(layout, "rule.threat[0].technique[1].id")!.keyOffset)).toBe(27);
    expect(line(findKey(layout, "rule.threat[1].tactic.id")!.keyOffset)).toBe(34);
  });

  it("records table headers with array indices", () => {
    expect([...layout.headers.keys()]).toEqual([
      "metadata",
      "rule",
      "rule.threat[0]",
      "rule.threat[0].technique[0]",
      "rule.threat[0].technique[1]",
      "rule.threat[0].tactic",
      "rule.threat[1]",
      "rule.threat[1].tactic",
    ]);
  });

  it("locates a missing key at the closest enclosing key or header", () => {
    expect(locate(layout, "rule.threat[1].tactic.name")).toEqual({ offset: layout.headers.get("rule.threat[1].tactic"), exact: false });
    expect(locate(layout, "rule.inline.c")).toEqual({ offset: findKey(layout, "rule.inline")!.keyOffset, exact: false });
    expect(locate(layout, "rule.name").offset).toBe(layout.headers.get("rule"));
    expect(locate(layout, "nothing.here")).toEqual({ offset: 0, exact: false });
  });
});

describe("stringOffsetMapper", () => {
  function check(toml: string) {
    const value = parse(toml).q as string;
    const key = findKey(scanToml(toml), "q")!;
    const map = stringOffsetMapper(toml, key);
    // Every character of the decoded string that stands for itself is found at its mapped offset in the file.
    for (let i = 0; i < value.length; i++) {
      const raw = toml[map(i)];
      if (raw !== "\\") expect(raw, `index ${i} of ${JSON.stringify(value)}`).toBe(value[i]);
    }
    return { value, map };
  }

  it("literal strings, one line and multi-line (first newline trimmed)", () => {
    check(`q = 'a "b" \\c'`);
    const { map } = check(`q = '''\nline1\n  line2'''`);
    expect(map(0)).toBe(`q = '''\n`.length);
  });

  it("basic strings with escapes, unicode escapes and line-ending backslashes", () => {
    check(`q = "a\\tb\\"c\\u00e9d\\U0001F600e"`);
    check(`q = """\nx \\\n    y\\n z"""`);
  });

  it("past the end maps just after the last character", () => {
    const toml = `q = 'abc'`;
    const map = stringOffsetMapper(toml, findKey(scanToml(toml), "q")!);
    expect(map(3)).toBe(toml.indexOf("c") + 1);
  });
});
