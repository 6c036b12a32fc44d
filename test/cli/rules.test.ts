import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { trustedTempDir } from "../config/trustedTemp.js";

// Runs the built CLI (npm test builds first; alone: npx tsc -p . && npx vitest run test/cli/rules).
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));
const macsensor = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root });

describe("macsensor rules validate", () => {
  it("shipped rules: a table of loaded files, exit 0", () => {
    const r = macsensor("rules", "validate", "--host-os", "macos", "rules");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^STATUS\s+FILE\s+RULE ID\s+FIRES\s+NEEDS\s+NAME \/ REASON$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^loaded\s+rules\/macos\/keychain_dump_via_security\.toml\s+4d667968-8a1d-4326-92cd-8c2bed996ab9\s+yes\s+process\s+Keychain Secrets Dumped via Security Command$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^loaded\s+rules\/macos\/keychain_database_opened_by_unexpected_process\.toml\s+\S+\s+yes\s+file\s+/));
    expect(lines).toContainEqual(expect.stringMatching(/^(\d+) of \1 loaded rules can fire on this sensor's events \(process, file; host\.os\.type macos\)$/));
    expect(lines.at(-1)).toMatch(/^\d+ loaded, 0 skipped, 0 in error$/);
    expect(r.stderr).toBe("");
  });

  it("errors and skips: file:line:column in the table, full messages with the excerpt on stderr, exit 1", () => {
    const r = macsensor("rules", "validate", "test/fixtures/rules/bad", "test/fixtures/rules/good");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error\s+test\/fixtures\/rules\/bad\/bad_eql\.toml:16:3\s+a1d3c0de-0000-4000-8000-000000000012\s+-\s+-\s+Bad Query: bad EQL in rule\.query: unknown function 'startWith'/m);
    expect(r.stdout).toMatch(/^error\s+test\/fixtures\/rules\/bad\/missing_name\.toml:4:1\s+-?\s*a1d3c0de-0000-4000-8000-000000000011\s+-\s+-\s+missing field rule\.name \(expected a string\)$/m);
    expect(r.stdout).toMatch(/^skipped\s+test\/fixtures\/rules\/good\/nested\/kuery_rule\.toml\s+\S+\s+-\s+-\s+Launch Agent Written: rule type "query" in kuery: only EQL rules run on the host$/m);
    expect(r.stdout).toMatch(/^2 loaded, 3 skipped, 3 in error$/m);
    expect(r.stderr).toContain("16 |   startWith(process.name, \"secur\")\n   |   ^^^^^^^^^");
  });

  it("says which categories each rule needs and flags a rule that can never fire, in the table and --json", () => {
    const table = macsensor("rules", "validate", "test/fixtures/rules/coverage");
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^loaded\s+test\/fixtures\/rules\/coverage\/file_open\.toml\s+\S+\s+yes\s+file\s+Keychain Opened$/m);
    expect(table.stdout).toMatch(
      /^loaded\s+test\/fixtures\/rules\/coverage\/network_then_file\.toml\s+\S+\s+no\s+file,network\s+Download Then Keychain Read: needs network events, which this sensor does not produce$/m,
    );
    expect(table.stdout).toMatch(/^1 of 2 loaded rules can fire on this sensor's events \(process, file; host\.os\.type \w+\)\n2 loaded, 0 skipped, 0 in error$/m);
    const json = macsensor("rules", "validate", "--json", "test/fixtures/rules/coverage");
    const rows = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.name, r.needs, r.fires, r.reason])).toEqual([
      ["Keychain Opened", ["file"], true, null],
      ["Download Then Keychain Read", ["file", "network"], false, "needs network events, which this sensor does not produce"],
    ]);
  });

  it("--host-os: a macOS rule cannot fire for a Linux sensor (the default on Linux), and can for any OS", () => {
    const rule = "rules/macos/keychain_dump_via_security.toml";
    const linux = macsensor("rules", "validate", "--json", "--host-os", "linux", rule);
    expect(JSON.parse(linux.stdout)).toMatchObject({ fires: false, reason: "its host.os.type condition excludes this sensor's host (linux)" });
    expect(JSON.parse(macsensor("rules", "validate", "--json", "--host-os", "any", rule).stdout)).toMatchObject({ fires: true, reason: null });
    const here = process.platform === "darwin" ? "macos" : process.platform === "linux" ? "linux" : undefined;
    if (here) expect(macsensor("rules", "validate", rule).stdout).toContain(`host.os.type ${here})`);
    const bad = macsensor("rules", "validate", "--host-os", "Mac OS", rule);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--host-os must be");
  });

  it("--json: one object per file with file, status, rule_id, name, reason", () => {
    const r = macsensor("rules", "validate", "--json", "test/fixtures/rules/dup", "test/fixtures/rules/good/nested/ml_rule.toml");
    expect(r.status).toBe(1);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { file: "test/fixtures/rules/dup/a_first.toml", status: "loaded", rule_id: "a1d3c0de-0000-4000-8000-000000000020", name: "First", reason: null, needs: ["process"], fires: true, warnings: [] },
      {
        file: "test/fixtures/rules/dup/b_second.toml",
        status: "error",
        rule_id: "a1d3c0de-0000-4000-8000-000000000020",
        name: "Second",
        reason: 'duplicate rule_id "a1d3c0de-0000-4000-8000-000000000020" (already loaded from test/fixtures/rules/dup/a_first.toml)',
        line: 6,
        column: 1,
      },
      {
        file: "test/fixtures/rules/good/nested/ml_rule.toml",
        status: "skipped",
        rule_id: "a1d3c0de-0000-4000-8000-000000000004",
        name: "Rare Process",
        reason: 'rule type "machine_learning": only EQL rules run on the host',
      },
    ]);
  });

  it("--json exits 0 when nothing is in error", () => {
    const r = macsensor("rules", "validate", "--json", "test/fixtures/rules/good");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).status)).toEqual(["skipped", "skipped", "skipped", "loaded", "loaded"]);
  });

  describe("a folder with links out of it and link loops", () => {
    const dir = trustedTempDir("rules-links-");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const rules = join(dir, "rules");
    mkdirSync(rules);
    copyFileSync(join(root, "test/fixtures/rules/dup/a_first.toml"), join(rules, "good.toml"));
    symlinkSync("..", join(rules, "up"));
    symlinkSync("b.toml", join(rules, "a.toml"));
    symlinkSync("a.toml", join(rules, "b.toml"));
    symlinkSync("self.toml", join(rules, "self.toml"));
    const outside = `symbolic link to ${dir}, outside the rule folder ${rules}; not followed`;

    it("table: each link is an error row with its reason, the good rule loads, exit 1", () => {
      const r = macsensor("rules", "validate", rules);
      expect(r.status).toBe(1);
      const rows = r.stdout.trim().split("\n").slice(1, -3);
      expect(rows.map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
        ["error", join(rules, "a.toml")],
        ["error", join(rules, "b.toml")],
        ["loaded", join(rules, "good.toml")],
        ["error", join(rules, "self.toml")],
        ["error", join(rules, "up")],
      ]);
      expect(rows[4].endsWith(`  -${" ".repeat(35)}  -      -        ${outside}`)).toBe(true);
      expect(r.stdout).toMatch(/^1 loaded, 0 skipped, 4 in error$/m);
      expect(r.stderr).toContain(`${join(rules, "up")}: ${outside}\n`);
      expect(r.stderr).toContain(`${join(rules, "self.toml")}: symbolic link loop (ELOOP)`);
      expect(r.stderr).not.toContain("internal error");
    });

    it("--json: the same rows with file and reason, exit 1", () => {
      const r = macsensor("rules", "validate", "--json", rules);
      expect(r.status).toBe(1);
      const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(rows.map((row) => [row.file, row.status])).toEqual([
        [join(rules, "a.toml"), "error"],
        [join(rules, "b.toml"), "error"],
        [join(rules, "good.toml"), "loaded"],
        [join(rules, "self.toml"), "error"],
        [join(rules, "up"), "error"],
      ]);
      expect(rows[4]).toEqual({ file: join(rules, "up"), status: "error", rule_id: null, name: null, reason: outside });
      expect(rows[0].reason).toMatch(/^symbolic link loop \(ELOOP\)/);
    });
  });

  it("usage errors exit 2; --help exits 0", () => {
    expect(macsensor("rules").status).toBe(2);
    expect(macsensor("rules", "validate").stderr).toContain("missing <path>");
    expect(macsensor("rules", "check", "x").stderr).toContain("unknown subcommand 'check'");
    const help = macsensor("rules", "--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: macsensor rules validate/);
  });

  it("ECS field types: a type error is an error at file:line:column, an unknown field a warning line with the closest name", () => {
    const r = macsensor("rules", "validate", "test/fixtures/rules-ecs");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error\s+test\/fixtures\/rules-ecs\/pid_pattern\.toml:14:42\s+a1d3c0de-0000-4000-8000-000000000031\s+-\s+-\s+Pid compared with text: bad EQL in rule\.query: ':' needs a string field, but 'process\.pid' is long in ECS; compare with == instead$/m);
    expect(r.stdout).toMatch(/^loaded\s+test\/fixtures\/rules-ecs\/typo_field\.toml\s+a1d3c0de-0000-4000-8000-000000000030\s+yes\s+process\s+Typo in a field\n+warning\s+test\/fixtures\/rules-ecs\/typo_field\.toml:15:3\s+unknown field 'process\.nmae': neither in ECS nor produced by macsensor; did you mean 'process\.name'\?$/m);
    expect(r.stdout).toMatch(/^1 loaded, 0 skipped, 2 in error, 1 warning$/m);
    expect(r.stderr).toContain("warning: test/fixtures/rules-ecs/typo_field.toml:15:3: unknown field 'process.nmae'");
    expect(r.stderr).toContain("15 |   process.nmae == \"security\" and process.parent.name : \"bash\"\n   |   ^^^^^^^^^^^^");
  });

  it("--json: warnings of a loaded rule with line, column, field and suggestion; warnings alone exit 0", () => {
    const r = macsensor("rules", "validate", "--json", "test/fixtures/rules-ecs/typo_field.toml");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      file: "test/fixtures/rules-ecs/typo_field.toml",
      status: "loaded",
      rule_id: "a1d3c0de-0000-4000-8000-000000000030",
      name: "Typo in a field",
      reason: null,
      needs: ["process"],
      fires: true,
      warnings: [
        {
          line: 15,
          column: 3,
          field: "process.nmae",
          reason: "unknown field 'process.nmae': neither in ECS nor produced by macsensor; did you mean 'process.name'?",
          suggestion: "process.name",
        },
      ],
    });
  });

  it("--no-ecs-types loads them all without warnings; --mapping checks against the mapping instead", () => {
    const off = macsensor("rules", "validate", "--json", "--no-ecs-types", "test/fixtures/rules-ecs");
    expect(off.status).toBe(0);
    expect(off.stdout.trim().split("\n").map((l) => [JSON.parse(l).status, JSON.parse(l).warnings])).toEqual([
      ["loaded", []],
      ["loaded", []],
      ["loaded", []],
    ]);
    const mapping = "test/fixtures/rules-ecs/mapping/pid-keyword.json";
    const mapped = macsensor("rules", "validate", "--json", "--mapping", mapping, "test/fixtures/rules-ecs/pid_pattern.toml");
    expect(mapped.status).toBe(0);
    expect(JSON.parse(mapped.stdout).status).toBe("loaded");
  });
});
