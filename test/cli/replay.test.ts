import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// Runs the built CLI (npm test builds first; alone: npx tsc -p . && npx vitest run test/cli/replay).
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));
const DUMP_ID = "4d667968-8a1d-4326-92cd-8c2bed996ab9";
const positives = "test/fixtures/events/keychain_dump_via_security/positive.ndjson";
const macsensor = (args: string[], input?: string, cwd = root) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd, input });

const tmp = mkdtempSync(join(tmpdir(), "macsensor-replay-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("macsensor replay", () => {
  it("shipped rules by default (from any cwd): alerts as NDJSON on stdout", () => {
    const r = macsensor(["replay", join(root, "samples/recorded-events.ndjson")], undefined, tmp);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const alerts = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alerts.map((a) => a.rule.name)).toEqual([
      "Keychain Secrets Dumped via Security Command",
      "Keychain Database Copied or Archived",
      "Keychain Database Accessed by an Unexpected Process",
    ]);
    expect(alerts[0].event.kind).toBe("alert");
  });

  it("--stats: one JSON line on stderr", () => {
    const r = macsensor(["replay", "--stats", positives]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stderr.trim());
    expect(Object.keys(stats)).toEqual(["events", "alerts", "alerts_written", "alerts_lost", "seconds", "events_per_second"]);
    expect(stats).toMatchObject({ events: 14, alerts: 14, alerts_written: 14, alerts_lost: 0 });
    expect(typeof stats.seconds).toBe("number");
    expect(stats.events_per_second).toBeGreaterThan(0);
  });

  it("reads stdin with -, reports bad lines by number and processes the rest, exit 1", () => {
    const good = readFileSync(join(root, positives), "utf8").split("\n")[0];
    const r = macsensor(["replay", "-"], `${good}\nnot json\n${good}\n"x"\n`);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(/^<stdin>:2: not JSON: /m);
    expect(r.stderr).toMatch(/^<stdin>:4: expected a JSON object \(one ECS event\), found "x"$/m);
  });

  it("--parse-all reports a {…} line that is not JSON even where no rule could match it", () => {
    const good = readFileSync(join(root, positives), "utf8").split("\n")[0];
    const input = `${good}\n{"a": }\n`;
    expect(macsensor(["replay", "-"], input)).toMatchObject({ status: 0 });
    const strict = macsensor(["replay", "--parse-all", "-"], input);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/^<stdin>:2: not JSON: /m);
  });

  it("--alerts FILE with rotation; --action block is recorded as not applicable", () => {
    const file = join(tmp, "logs", "alerts.ndjson");
    const input = join(tmp, "many.ndjson");
    const line = readFileSync(join(root, positives), "utf8").split("\n")[0];
    writeFileSync(input, `${line}\n`.repeat(300));
    const r = macsensor(["replay", "--rules", "rules", "--alerts", file, "--alerts-max-bytes", "100000", "--alerts-max-files", "50", "--action", `${DUMP_ID}=block`, "--stats", input]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ events: 300, alerts: 300 });
    const files = readdirSync(join(tmp, "logs"));
    expect(files.length).toBeGreaterThan(1);
    const alerts = files.flatMap((f) => readFileSync(join(tmp, "logs", f), "utf8").trim().split("\n")).map((l) => JSON.parse(l));
    expect(alerts).toHaveLength(300);
    const text = JSON.stringify(alerts[0]);
    expect(text).toContain('"action":"block"');
    expect(text).toContain('"result":"not_applicable"');
    expect(text).toContain('"reason":"replay"');
  });

  it("--alerts on a full disk (/dev/full): counts the alerts lost, says how many and why, exit 1", () => {
    const r = macsensor(["replay", "--alerts", "/dev/full", "--stats", positives]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(JSON.parse(lines.find((l) => l.startsWith("{")) ?? "null")).toMatchObject({ events: 14, alerts: 14, alerts_written: 0, alerts_lost: 14 });
    expect(r.stderr).toMatch(/^macsensor replay: 14 of 14 alerts lost: cannot write to \/dev\/full: ENOSPC/m);
    // Said once when the writes began to fail, not once per alert.
    expect(r.stderr.match(/alerts wait in memory/g)).toHaveLength(1);
  });

  it("--format eslogger: Apple eslogger JSON through the same mapping as `macsensor ecs`", () => {
    const r = macsensor(["replay", "--format", "eslogger", "--stats", "test/fixtures/eslogger/v6-session.jsonl"]);
    expect(r.status, r.stderr).toBe(0);
    const alerts = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alerts.map((a) => [a.rule.id, a.process.executable, a.process.args])).toEqual([
      [DUMP_ID, "/usr/bin/security", ["security", "dump-keychain", "-d"]],
    ]);
    expect(alerts[0].host.os.type).toBe("macos");
    // 7 events with security's open of the keychain, which no rule flags: security is an Apple platform binary
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ events: 7, alerts: 1 });
  });

  it("--format eslogger reports a malformed message with its place and reads on (exit 1); pretty input from stdin", () => {
    const bad = macsensor(["replay", "--format", "eslogger", "test/fixtures/eslogger/malformed.jsonl"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/malformed\.jsonl:\d+:\d+: /);
    const pretty = readFileSync(join(root, "test/fixtures/eslogger/v11-pretty.json"), "utf8");
    const r = macsensor(["replay", "--format", "eslogger", "--stats", "-"], pretty);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stderr.trim()).events).toBeGreaterThan(0);
    expect(macsensor(["replay", "--format", "kql", positives]).stderr).toMatch(/--format must be ecs or eslogger/);
  });

  it("rule files in error are reported and the others still run (exit 1)", () => {
    const r = macsensor(["replay", "--rules", "test/fixtures/rules/bad", "--rules", "rules", positives]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("rule not loaded: test/fixtures/rules/bad/bad_eql.toml:16:3: bad EQL");
    expect(r.stdout.trim().split("\n")).toHaveLength(14);
  });

  it("usage errors exit 2 and say what is wrong", () => {
    expect(macsensor(["replay"]).stderr).toContain("missing <events>");
    expect(macsensor(["replay", "--action", "x=deny", positives]).stderr).toContain("expected RULE_ID=report|block|kill");
    expect(macsensor(["replay", "--alerts-max-files", "3", positives]).stderr).toContain("need --alerts <file>");
    expect(macsensor(["replay", "--alerts", "a", "--alerts-max-bytes", "-1", positives]).status).toBe(2);
    expect(macsensor(["replay", "--rules", "test/fixtures/rules/bad", positives])).toMatchObject({ status: 2 });
    expect(macsensor(["replay", "no-such-file.ndjson"]).stderr).toContain("cannot read no-such-file.ndjson: ENOENT");
    expect(macsensor(["replay", "--help"]).stdout).toMatch(/^Usage: macsensor replay/);
  });
});
