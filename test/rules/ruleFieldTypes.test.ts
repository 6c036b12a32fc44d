// Rule queries checked against ECS field types at load: type errors stop the rule (an error entry at the file's
// line and column), unknown fields warn (the rule loads), and the check can be turned off or given a mapping.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { mappingFileSchema } from "../../src/ecs/ecsSchema.js";
import { loadRules } from "../../src/rules/loader.js";
import { RuleWarning } from "../../src/rules/ruleError.js";
import { parseRuleFile, type RuleFileResult } from "../../src/rules/ruleFile.js";
import { shippedRulesPath } from "../../src/rules/shippedRules.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = `${root}test/fixtures/rules-ecs/`;

function parseFixture(name: string, options = {}): RuleFileResult {
  return parseRuleFile(readFileSync(fixtures + name, "utf8"), `rules-ecs/${name}`, options);
}

/** A rule file whose query is `query` on the line after `query = '''` (line 5). */
function ruleWithQuery(query: string): string {
  return [
    "[rule]",
    'rule_id = "a1d3c0de-0000-4000-8000-0000000000aa"',
    'name = "Q"\ndescription = "Q"\nseverity = "low"\nrisk_score = 1\ntype = "eql"',
    "query = '''",
    query,
    "'''",
    "",
  ].join("\n");
}

describe("ECS field types at rule load", () => {
  it("a typo'd field: the rule loads, with a warning at the field's line and column naming the closest field", () => {
    const r = parseFixture("typo_field.toml");
    if (r.status !== "loaded") throw new Error(`expected loaded, got ${r.status}`);
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0];
    expect(w).toBeInstanceOf(RuleWarning);
    expect([w.line, w.column, w.width]).toEqual([15, 3, 12]);
    expect(w.reason).toBe("unknown field 'process.nmae': neither in ECS nor produced by macsensor; did you mean 'process.name'?");
    expect(w.queryField).toBe("process.nmae");
    expect(w.suggestion).toBe("process.name");
    expect(w.summary).toBe("rules-ecs/typo_field.toml:15:3: " + w.reason);
    expect(w.message).toContain("15 |   process.nmae == \"security\" and process.parent.name : \"bash\"\n   |   ^^^^^^^^^^^^");
  });

  it("':' on a numeric field: an error at its place in the file, the rule not loaded", () => {
    const r = parseFixture("pid_pattern.toml");
    if (r.status !== "error") throw new Error(`expected error, got ${r.status}`);
    expect(r.ruleId).toBe("a1d3c0de-0000-4000-8000-000000000031");
    expect([r.error.line, r.error.column, r.error.width]).toEqual([14, 42, 11]);
    expect(r.error.reason).toBe("bad EQL in rule.query: ':' needs a string field, but 'process.pid' is long in ECS; compare with == instead");
  });

  it("== with a literal the field cannot hold: the error points at the literal, through TOML escapes", () => {
    const r = parseFixture("pid_equals.toml");
    if (r.status !== "error") throw new Error(`expected error, got ${r.status}`);
    // query = "process where process.pid == \"x\"": the literal is the escaped \"x\" at column 39, 4 characters wide.
    expect([r.error.line, r.error.column, r.error.width]).toEqual([13, 39, 4]);
    expect(r.error.reason).toBe("bad EQL in rule.query: \"x\" is not a number, but 'process.pid' is long in ECS (Elasticsearch rejects the comparison)");
  });

  it("more errors at exact places: wildcard on a number, cidrMatch on a keyword, in-list of the wrong type", () => {
    const cases: [string, number, string][] = [
      ['process where process.args_count like "1*"', 15, "'like' needs a string field, but 'process.args_count' is long in ECS"],
      ['network where cidrMatch(destination.domain, "10.0.0.0/8")', 25, "argument 1 of 'cidrMatch' must be an ip, but 'destination.domain' is keyword in ECS"],
      ['process where process.parent.pid in (1, "2")', 41, "'in' list value \"2\" is a string, but 'process.parent.pid' is long in ECS: every value must be of the field's type"],
      ["process where process.code_signature.trusted == 1", 49, "1 is not true or false, but 'process.code_signature.trusted' is boolean in ECS (Elasticsearch rejects the comparison)"],
    ];
    for (const [query, column, reason] of cases) {
      const r = parseRuleFile(ruleWithQuery(query), "q.toml");
      if (r.status !== "error") throw new Error(`expected error for ${query}, got ${r.status}`);
      expect([r.error.line, r.error.column, r.error.reason]).toEqual([9, column, `bad EQL in rule.query: ${reason}`]);
    }
  });

  it("fieldTypes: null turns the check off (the rule loads without warnings); a mapping replaces ECS", () => {
    for (const name of ["typo_field.toml", "pid_pattern.toml", "pid_equals.toml"]) {
      const r = parseFixture(name, { fieldTypes: null });
      expect(r.status).toBe("loaded");
      if (r.status === "loaded") expect(r.warnings).toEqual([]);
    }
    const mapping = mappingFileSchema("map.json", JSON.stringify({ "event.action": "keyword", "process.pid": "keyword" }));
    const r = parseFixture("pid_pattern.toml", { fieldTypes: mapping });
    expect(r.status).toBe("loaded");
    if (r.status === "loaded") expect(r.warnings).toEqual([]);
  });

  it("one bad rule does not stop the others: the folder loads, with the errors and the warning listed", () => {
    const result = loadRules([fixtures]);
    expect(result.files.map((f) => [f.file.slice(fixtures.length), f.status])).toEqual([
      ["pid_equals.toml", "error"],
      ["pid_pattern.toml", "error"],
      ["typo_field.toml", "loaded"],
    ]);
    expect(result.rules.map((r) => r.metadata.ruleId)).toEqual(["a1d3c0de-0000-4000-8000-000000000030"]);
  });

  it("every shipped rule and the Linux demo rule load with no warning", () => {
    const result = loadRules([shippedRulesPath(), `${root}samples/linux-demo`]);
    expect(result.errors).toEqual([]);
    expect(result.rules.length).toBeGreaterThanOrEqual(6);
    for (const f of result.files) {
      expect(f.status).toBe("loaded");
      if (f.status === "loaded") expect(f.warnings.map((w) => w.summary)).toEqual([]);
    }
  });
});
