import { describe, expect, it } from "vitest";
import { parseRuleFile, type RuleFileResult } from "../../src/rules/ruleFile.js";
import { RuleError } from "../../src/rules/ruleError.js";

/** A valid EQL rule; `patch` replaces whole lines by their key (`key = ...`) or appends lines to [rule]. */
function ruleText(patch: Record<string, string | null> = {}, query = `'''\nprocess where process.name == "security"\n'''`): string {
  const fields: Record<string, string> = {
    author: `["Example Org"]`,
    description: `"Test rule."`,
    language: `"eql"`,
    name: `"Test Rule"`,
    risk_score: `73`,
    rule_id: `"0f0e0d0c-0000-4000-8000-00000000abcd"`,
    severity: `"high"`,
    type: `"eql"`,
  };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete fields[k];
    else fields[k] = v;
  }
  const lines = ["[metadata]", `maturity = "production"`, "", "[rule]"];
  for (const [k, v] of Object.entries(fields)) lines.push(`${k} = ${v}`);
  lines.push("", `query = ${query}`, "");
  return lines.join("\n");
}

function expectError(result: RuleFileResult): RuleError {
  if (result.status !== "error") throw new Error(`expected an error, got ${result.status}`);
  expect(result.error).toBeInstanceOf(RuleError);
  return result.error;
}

function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split("\n").length;
}

describe("parseRuleFile: loading", () => {
  it("reads metadata, threat and compiles the query", () => {
    const text = `${ruleText({ version: "2", license: `"Apache-2.0"`, tags: `["OS: macOS"]`, references: `["https://a", "https://b"]`, timestamp_override: `"event.ingested"` })}
[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1555"
name = "Credentials from Password Stores"
reference = "https://attack.mitre.org/techniques/T1555/"
[[rule.threat.technique.subtechnique]]
id = "T1555.001"
name = "Keychain"
[rule.threat.tactic]
id = "TA0006"
name = "Credential Access"
reference = "https://attack.mitre.org/tactics/TA0006/"
`;
    const result = parseRuleFile(text, "x.toml");
    expect(result.status).toBe("loaded");
    if (result.status !== "loaded") return;
    const m = result.rule.metadata;
    expect(m).toMatchObject({
      ruleId: "0f0e0d0c-0000-4000-8000-00000000abcd",
      name: "Test Rule",
      description: "Test rule.",
      severity: "high",
      riskScore: 73,
      version: 2,
      license: "Apache-2.0",
      author: ["Example Org"],
      references: ["https://a", "https://b"],
      tags: ["OS: macOS"],
      file: "x.toml",
      ruleset: "custom",
      timestampOverride: "event.ingested",
    });
    expect(m.threat).toEqual([
      {
        framework: "MITRE ATT&CK",
        tactic: { id: "TA0006", name: "Credential Access", reference: "https://attack.mitre.org/tactics/TA0006/" },
        technique: [
          {
            id: "T1555",
            name: "Credentials from Password Stores",
            reference: "https://attack.mitre.org/techniques/T1555/",
            subtechnique: [{ id: "T1555.001", name: "Keychain" }],
          },
        ],
      },
    ]);
    expect(result.rule.maturity).toBe("production");
    const q = result.rule.query;
    expect(q.isSequence).toBe(false);
    expect(q.test?.({ event: { category: ["process"] }, process: { name: "security" } })).toBe(true);
    expect(q.test?.({ event: { category: ["process"] }, process: { name: "grep" } })).toBe(false);
  });

  it("names the ruleset after the author", () => {
    const elastic = parseRuleFile(ruleText({ author: `["Elastic"]` }), "e.toml");
    const ours = parseRuleFile(ruleText({ author: `["macsensor"]` }), "m.toml");
    expect(elastic.status === "loaded" && elastic.rule.metadata.ruleset).toBe("elastic");
    expect(ours.status === "loaded" && ours.rule.metadata.ruleset).toBe("macsensor");
    const forced = parseRuleFile(ruleText(), "f.toml", { ruleset: "fleet" });
    expect(forced.status === "loaded" && forced.rule.metadata.ruleset).toBe("fleet");
  });

  it("compiles sequences", () => {
    const text = ruleText({}, `'''\nsequence by process.entity_id\n  [process where process.name == "a"]\n  [process where process.name == "b"]\n'''`);
    const result = parseRuleFile(text, "s.toml");
    expect(result.status === "loaded" && result.rule.query.isSequence).toBe(true);
  });
});

describe("parseRuleFile: skipping", () => {
  const cases: [string, Record<string, string | null>, RegExp][] = [
    ["kuery", { type: `"query"`, language: `"kuery"` }, /rule type "query" in kuery: only EQL rules run on the host/],
    ["esql", { type: `"esql"`, language: `"esql"` }, /rule type "esql" in esql/],
    ["threshold", { type: `"threshold"`, language: `"kuery"` }, /rule type "threshold"/],
    ["new_terms", { type: `"new_terms"`, language: `"kuery"` }, /rule type "new_terms"/],
    ["machine learning", { type: `"machine_learning"`, language: null }, /^rule type "machine_learning": only EQL/],
  ];
  for (const [label, patch, reason] of cases) {
    it(`skips ${label} rules with a one-line reason`, () => {
      const result = parseRuleFile(ruleText(patch), "k.toml");
      expect(result.status).toBe("skipped");
      if (result.status !== "skipped") return;
      expect(result.reason).toMatch(reason);
      expect(result.reason).not.toContain("\n");
      expect(result.ruleId).toBe("0f0e0d0c-0000-4000-8000-00000000abcd");
      expect(result.name).toBe("Test Rule");
    });
  }

  it("skips valid EQL the engine does not run (sample queries, pipes other than head/tail), naming where", () => {
    const sample = parseRuleFile(ruleText({}, `'''\nsample by host.id [process where true] [process where true]\n'''`), "s.toml");
    expect(sample.status).toBe("skipped");
    expect(sample.status === "skipped" && sample.reason).toMatch(/^unsupported EQL \(line \d+, column 1\): sample queries are not supported$/);
    const pipe = parseRuleFile(ruleText({}, `'process where true | unique process.name'`), "u.toml");
    expect(pipe).toMatchObject({ status: "skipped", ruleId: "0f0e0d0c-0000-4000-8000-00000000abcd" });
    expect(pipe.status === "skipped" && pipe.reason).toContain("the 'unique' pipe is not supported");
  });

  it("skips deprecated rules even if their query would not compile", () => {
    const text = ruleText({}, `'process where nope('`).replace(`maturity = "production"`, `maturity = "deprecated"`);
    const result = parseRuleFile(text, "d.toml");
    expect(result).toMatchObject({ status: "skipped", reason: 'deprecated (metadata.maturity = "deprecated")' });
  });
});

describe("parseRuleFile: errors", () => {
  it("malformed TOML: smol-toml's position, as file:line:column", () => {
    const text = `[rule]\nname = "x"\nseverity = "low\nrisk_score = 1\n`;
    const error = expectError(parseRuleFile(text, "bad.toml"));
    expect(error.file).toBe("bad.toml");
    expect(error.line).toBe(3);
    expect(error.reason).toMatch(/^malformed TOML: /);
    expect(error.message).toMatch(/^bad\.toml:3:\d+: malformed TOML: /);
    expect(error.message).toContain('3 | severity = "low');
  });

  it("missing [rule] table", () => {
    const error = expectError(parseRuleFile(`[metadata]\nmaturity = "production"\n`, "m.toml"));
    expect(error.reason).toBe("missing table [rule]");
    expect(error.field).toBe("rule");
  });

  const missing = ["rule_id", "name", "description", "severity", "risk_score", "type"];
  for (const key of missing) {
    it(`missing field rule.${key} points at the [rule] header`, () => {
      const text = ruleText({ [key]: null });
      const error = expectError(parseRuleFile(text, "m.toml"));
      expect(error.field).toBe(`rule.${key}`);
      expect(error.reason).toMatch(new RegExp(`^missing field rule\\.${key} \\(expected (a string|an integer 0–100)\\)$`));
      expect(error.line).toBe(lineOf(text, "[rule]"));
      expect(error.column).toBe(1);
    });
  }

  it("missing query on an EQL rule", () => {
    const text = ruleText().replace(/\nquery = '''[\s\S]*'''\n/, "\n");
    const error = expectError(parseRuleFile(text, "q.toml"));
    expect(error.reason).toBe("missing field rule.query (expected a string)");
  });

  const wrongTypes: [string, string, string, RegExp][] = [
    ["risk_score", `"73"`, "risk_score", /^rule\.risk_score must be an integer, found the string "73"$/],
    ["risk_score", `130`, "risk_score", /^rule\.risk_score must be between 0 and 100, found 130$/],
    ["severity", `"severe"`, "severity", /^rule\.severity must be one of low, medium, high, critical, found the string "severe"$/],
    ["name", `42`, "name", /^rule\.name must be a string, found the integer 42$/],
    ["author", `"Example Org"`, "author", /^rule\.author must be an array of strings, found the string "Example Org"$/],
    ["tags", `["a", 3]`, "tags", /^rule\.tags\[1\] must be a string, found the integer 3$/],
    ["version", `1.5`, "version", /^rule\.version must be an integer, found the float 1\.5$/],
    ["rule_id", `"  "`, "rule_id", /^rule\.rule_id must not be empty$/],
  ];
  for (const [key, value, where, reason] of wrongTypes) {
    it(`wrong type: rule.${key} = ${value} at the key's line and column`, () => {
      const text = ruleText({ [key]: value });
      const error = expectError(parseRuleFile(text, "t.toml"));
      expect(error.reason).toMatch(reason);
      expect(error.field).toMatch(new RegExp(`^rule\\.${key}`));
      expect(error.line).toBe(lineOf(text, `\n${where} = `) + 1);
      expect(error.column).toBe(1);
      expect(error.message.split("\n")[0]).toBe(`t.toml:${error.line}:1: ${error.reason}`);
    });
  }

  it("threat entries: missing tactic name, at the tactic's line", () => {
    const text = `${ruleText()}
[[rule.threat]]
framework = "MITRE ATT&CK"
[rule.threat.tactic]
id = "TA0006"
reference = "https://attack.mitre.org/tactics/TA0006/"
`;
    const error = expectError(parseRuleFile(text, "t.toml"));
    expect(error.field).toBe("rule.threat[0].tactic.name");
    expect(error.reason).toBe("missing field rule.threat[0].tactic.name (expected a string)");
    expect(error.line).toBe(lineOf(text, "[rule.threat.tactic]"));
  });

  it("threat entries: wrong type inside the second technique", () => {
    const text = `${ruleText()}
[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1555"
name = "Credentials from Password Stores"
[[rule.threat.technique]]
id = 1552
name = "Unsecured Credentials"
[rule.threat.tactic]
id = "TA0006"
name = "Credential Access"
`;
    const error = expectError(parseRuleFile(text, "t.toml"));
    expect(error.field).toBe("rule.threat[0].technique[1].id");
    expect(error.reason).toBe("rule.threat[0].technique[1].id must be a string, found the integer 1552");
    expect(error.line).toBe(lineOf(text, "id = 1552"));
  });

  it("a language other than eql on an eql rule", () => {
    const error = expectError(parseRuleFile(ruleText({ language: `"kuery"` }), "l.toml"));
    expect(error.reason).toBe('rule.language must be "eql" for a rule of type "eql", found the string "kuery"');
  });

  it("keeps the rule's id and name on errors found after reading them", () => {
    const result = parseRuleFile(ruleText({ risk_score: `"x"` }), "t.toml");
    expect(result).toMatchObject({ status: "error", ruleId: "0f0e0d0c-0000-4000-8000-00000000abcd", name: "Test Rule" });
  });
});

describe("parseRuleFile: bad EQL is placed in the file", () => {
  it("inside a ''' multi-line literal string", () => {
    const query = `'''\nprocess where host.os.type == "macos" and\n  startWith(process.name, "sec")\n'''`;
    const text = ruleText({}, query);
    const error = expectError(parseRuleFile(text, "q.toml"));
    expect(error.field).toBe("rule.query");
    expect(error.reason).toMatch(/^bad EQL in rule\.query: /);
    expect(error.reason).toMatch(/startWith/);
    expect(error.line).toBe(lineOf(text, "  startWith("));
    expect(error.column).toBe(3);
    expect(error.message).toContain(`  startWith(process.name, "sec")\n`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("inside a one-line literal string", () => {
    const text = ruleText({}, `'process where process.name == '`);
    const error = expectError(parseRuleFile(text, "q.toml"));
    const queryLine = lineOf(text, "query = ");
    expect(error.line).toBe(queryLine);
    // The parser complains at the end of the query: just after "== " inside the quotes.
    expect(error.column).toBeGreaterThanOrEqual("query = 'process where process.name == ".length);
  });

  it("inside a basic string with escapes before the problem", () => {
    // In the file: process where process.name == \"a\\tb\" and length(...)  — escapes take 2 chars in the file
    // but 1 in the query, so the offset must be mapped, not added.
    const text = ruleText({}, `"process where process.name == \\"a\\tb\\" and nosuch(process.name)"`);
    const error = expectError(parseRuleFile(text, "q.toml"));
    const lineText = text.split("\n")[error.line - 1];
    expect(lineText.slice(error.column - 1).startsWith("nosuch(")).toBe(true);
  });

  it("inside a \"\"\" multi-line basic string with a line-ending backslash", () => {
    const text = ruleText({}, `"""\nprocess where \\\n    process.name == "a" and\n  nosuch(1)\n"""`);
    const error = expectError(parseRuleFile(text, "q.toml"));
    expect(error.line).toBe(lineOf(text, "  nosuch(1)"));
    expect(error.column).toBe(3);
  });
});
