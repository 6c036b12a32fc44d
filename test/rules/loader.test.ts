import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadRules } from "../../src/rules/loader.js";

const fixtures = fileURLToPath(new URL("../fixtures/rules/", import.meta.url));
const rel = (p: string) => p.slice(fixtures.length);

describe("loadRules", () => {
  it("loads a folder recursively, in sorted order, *.toml only, skipping with reasons", () => {
    const result = loadRules([join(fixtures, "good")]);
    expect(result.files.map((f) => [rel(f.file), f.status])).toEqual([
      ["good/nested/deprecated_rule.toml", "skipped"],
      ["good/nested/kuery_rule.toml", "skipped"],
      ["good/nested/ml_rule.toml", "skipped"],
      ["good/nested/shell_after_curl.toml", "loaded"],
      ["good/osascript_password_prompt.toml", "loaded"],
    ]);
    expect(result.errors).toEqual([]);
    expect(result.rules.map((r) => r.metadata.name)).toEqual(["Download Then Shell", "Password Prompt via osascript"]);
    const osa = result.rules[1].metadata;
    expect(osa.threat.map((t) => t.tactic.id)).toEqual(["TA0006", "TA0009"]);
    expect(osa.threat[1].technique).toEqual([]);
    expect(osa.version).toBe(3);
  });

  it("one bad file never stops the others", () => {
    const result = loadRules([join(fixtures, "bad"), join(fixtures, "good", "osascript_password_prompt.toml")]);
    expect(result.files.map((f) => [rel(f.file), f.status])).toEqual([
      ["bad/bad_eql.toml", "error"],
      ["bad/malformed.toml", "error"],
      ["bad/missing_name.toml", "error"],
      ["good/osascript_password_prompt.toml", "loaded"],
    ]);
    expect(result.rules).toHaveLength(1);
    const [badEql, malformed, missingName] = result.errors;
    expect(badEql.message).toMatch(/bad_eql\.toml:16:3: bad EQL in rule\.query: .*startWith/);
    expect(malformed.message).toMatch(/malformed\.toml:7:\d+: malformed TOML/);
    expect(missingName.summary).toMatch(/missing_name\.toml:4:1: missing field rule\.name \(expected a string\)$/);
  });

  it("a duplicate rule_id is an error for the second file only", () => {
    const result = loadRules([join(fixtures, "dup")]);
    expect(result.files.map((f) => [rel(f.file), f.status])).toEqual([
      ["dup/a_first.toml", "loaded"],
      ["dup/b_second.toml", "error"],
    ]);
    const error = result.errors[0];
    expect(error.reason).toBe(`duplicate rule_id "a1d3c0de-0000-4000-8000-000000000020" (already loaded from ${join(fixtures, "dup", "a_first.toml")})`);
    expect(error.field).toBe("rule.rule_id");
    expect(error.line).toBe(6);
    expect(result.rules.map((r) => r.metadata.name)).toEqual(["First"]);
  });

  it("reports a path that does not exist, and still loads the rest", () => {
    const result = loadRules([join(fixtures, "nope"), join(fixtures, "dup", "a_first.toml")]);
    expect(result.files[0]).toMatchObject({ status: "error" });
    expect(result.errors[0].message).toBe(`${join(fixtures, "nope")}: cannot read: no such file or folder`);
    expect(result.errors[0].hasPosition).toBe(false);
    expect(result.rules).toHaveLength(1);
  });

  describe("with links", () => {
    const dir = mkdtempSync(join(tmpdir(), "macsensor-rules-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("follows a symlinked folder once, and reads a file named directly whatever its extension", () => {
      mkdirSync(join(dir, "pack"));
      writeFileSync(join(dir, "pack", "r.toml"), readFileSync(join(fixtures, "dup", "a_first.toml")));
      symlinkSync(join(dir, "pack"), join(dir, "pack-link"));
      symlinkSync(dir, join(dir, "pack", "loop"));
      writeFileSync(join(dir, "rule.txt"), readFileSync(join(fixtures, "good", "nested", "shell_after_curl.toml")));
      const result = loadRules([dir, join(dir, "rule.txt")]);
      expect(result.errors).toEqual([]);
      expect(result.rules.map((r) => r.metadata.name)).toEqual(["First", "Download Then Shell"]);
    });

    it("follows no link out of the folder and none that loops: each is an error in its place, the rest loads", () => {
      const outside = join(dir, "outside");
      mkdirSync(outside);
      writeFileSync(join(outside, "stray.toml"), readFileSync(join(fixtures, "good", "osascript_password_prompt.toml")));
      const root = join(dir, "walled");
      mkdirSync(join(root, "sub"), { recursive: true });
      writeFileSync(join(root, "good.toml"), readFileSync(join(fixtures, "dup", "a_first.toml")));
      writeFileSync(join(root, "sub", "r2.toml"), readFileSync(join(fixtures, "good", "nested", "shell_after_curl.toml")));
      symlinkSync("..", join(root, "up"));
      symlinkSync(join(outside, "stray.toml"), join(root, "out.toml"));
      symlinkSync(outside, join(root, "outdir"));
      symlinkSync("b.toml", join(root, "a.toml"));
      symlinkSync("a.toml", join(root, "b.toml"));
      symlinkSync("self.toml", join(root, "self.toml"));
      symlinkSync("missing.toml", join(root, "broken.toml"));
      symlinkSync("good.toml", join(root, "inner.toml"));
      symlinkSync("sub", join(root, "sub-link"));
      symlinkSync("/etc/hostname", join(root, "notes.txt"));

      const result = loadRules([root]);
      const why = (name: string) => result.errors.find((e) => e.file === join(root, name))?.reason;
      expect(result.files.map((f) => [f.file.slice(root.length + 1), f.status])).toEqual([
        ["a.toml", "error"],
        ["b.toml", "error"],
        ["broken.toml", "error"],
        ["good.toml", "loaded"],
        ["out.toml", "error"],
        ["outdir", "error"],
        ["self.toml", "error"],
        ["sub/r2.toml", "loaded"],
        ["up", "error"],
      ]);
      expect(result.rules.map((r) => r.metadata.name)).toEqual(["First", "Download Then Shell"]);
      expect(why("up")).toBe(`symbolic link to ${dir}, outside the rule folder ${root}; not followed`);
      expect(why("out.toml")).toBe(`symbolic link to ${join(outside, "stray.toml")}, outside the rule folder ${root}; not followed`);
      expect(why("outdir")).toBe(`symbolic link to ${outside}, outside the rule folder ${root}; not followed`);
      for (const loop of ["a.toml", "b.toml", "self.toml"]) expect(why(loop)).toMatch(/^symbolic link loop \(ELOOP\)/);
      expect(why("broken.toml")).toBe("broken symbolic link: its target does not exist");
      expect(result.errors.find((e) => e.file === join(root, "up"))?.message).toBe(`${join(root, "up")}: ${why("up")}`);
    });

    it("follows a link inside the folder to a file inside it, whatever the target's name", () => {
      const root = join(dir, "inner");
      mkdirSync(join(root, "data"), { recursive: true });
      writeFileSync(join(root, "data", "rule.txt"), readFileSync(join(fixtures, "dup", "a_first.toml")));
      symlinkSync(join("data", "rule.txt"), join(root, "linked.toml"));
      const result = loadRules([root]);
      expect(result.errors).toEqual([]);
      expect(result.files.map((f) => [f.file, f.status])).toEqual([[join(root, "linked.toml"), "loaded"]]);
    });
  });
});

describe("the shipped rules", () => {
  it("all load, none skipped, no errors", () => {
    const result = loadRules([fileURLToPath(new URL("../../rules/", import.meta.url))]);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.files.every((f) => f.status === "loaded")).toBe(true);
    expect(result.rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of result.rules) {
      expect(rule.metadata.ruleset).toBe("macsensor");
      expect(rule.metadata.threat[0].tactic.id).toBe("TA0006");
      expect(rule.metadata.threat[0].technique.map((t) => t.id)).toContain("T1555");
    }
  });
});
