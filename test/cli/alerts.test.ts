import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildAlert } from "../../src/response/alert.js";
import { createAlertLog } from "../../src/output/alertLog.js";
import type { RuleMetadata } from "../../src/rules/ruleMetadata.js";
import { alertLogFiles, parseSince, readAlerts } from "../../src/status/index.js";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "macsensor-alerts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3600_000;
const now = Date.now();
const iso = (msAgo: number): string => new Date(now - msAgo).toISOString();

function alertLine(o: { ago: number; id: string; name: string; severity: number; user: string; cmd: string; action?: string; result?: string }): string {
  return JSON.stringify({
    "@timestamp": iso(o.ago),
    event: { kind: "alert", severity: o.severity },
    rule: { id: o.id, name: o.name },
    user: { name: o.user },
    process: { command_line: o.cmd, pid: 812 },
    message: `${o.name}: ${o.cmd}`,
    macsensor: { response: { action: o.action ?? "report", result: o.result ?? "not_applicable" } },
  });
}

// A rotated log as the alert log writer leaves it: alerts.ndjson.2 (oldest), .1, then the live file.
const log = join(dir, "alerts.ndjson");
const KEYCHAIN = "c0ffee00-0000-4000-8000-00000000beef";
writeFileSync(
  `${log}.2`,
  [
    alertLine({ ago: 50 * HOUR, id: "old-rule", name: "Old Rule", severity: 21, user: "bob", cmd: "/bin/old" }),
    alertLine({ ago: 30 * HOUR, id: KEYCHAIN, name: "Keychain Dump", severity: 73, user: "ann", cmd: "security dump-keychain -d" }),
  ].join("\n") + "\n",
);
utimesSync(`${log}.2`, new Date(now - 30 * HOUR), new Date(now - 30 * HOUR));
writeFileSync(
  `${log}.1`,
  [
    alertLine({ ago: 20 * HOUR, id: KEYCHAIN, name: "Keychain Dump", severity: 73, user: "ann", cmd: "security -v dump-keychain -d login.keychain-db", action: "block", result: "success" }),
    "this line is not JSON",
    alertLine({ ago: 10 * HOUR, id: "curl-pipe", name: "Curl Piped to Shell", severity: 47, user: "carl", cmd: "sh -c 'curl x | sh'\n\u001b[2Jfake row" }),
  ].join("\n") + "\n",
);
writeFileSync(log, alertLine({ ago: 1 * HOUR, id: KEYCHAIN, name: "Keychain Dump", severity: 99, user: "dan", cmd: "security dump-keychain -d", action: "kill", result: "success" }) + "\n");
// Not part of the log: other names in the folder.
writeFileSync(join(dir, "alerts.ndjson.bak"), alertLine({ ago: 0, id: "x", name: "X", severity: 21, user: "x", cmd: "x" }) + "\n");
writeFileSync(join(dir, "alerts.ndjson.1.gz"), "binary");

function alerts(...args: string[]) {
  return spawnSync(process.execPath, [cli, "alerts", "--file", log, ...args], { encoding: "utf8", env: { ...process.env, COLUMNS: "300" } });
}

describe("alert log files", () => {
  it("lists the live file and its numbered rotations, oldest first, nothing else", () => {
    expect(alertLogFiles(log)).toEqual([`${log}.2`, `${log}.1`, log]);
    expect(alertLogFiles(join(dir, "missing", "alerts.ndjson"))).toEqual([]);
  });

  it("reads every alert once, in order, across rotation by the real alert log writer", async () => {
    const rotated = mkdtempSync(join(tmpdir(), "macsensor-rot-"));
    try {
      const file = join(rotated, "alerts.ndjson");
      const alertLog = createAlertLog({ file, maxBytes: 4096, maxFiles: 50 });
      const rule: RuleMetadata = {
        ruleId: "r-1", name: "Rule One", description: "d", severity: "high", riskScore: 73,
        author: [], references: [], tags: [], threat: [], file: "r.toml",
      };
      for (let i = 0; i < 200; i++) {
        alertLog.write(
          buildAlert({
            rule,
            event: { "@timestamp": iso(HOUR), event: { category: ["process"], type: ["start"] }, process: { pid: i, command_line: `cmd ${i}` }, user: { name: "ann" } },
            response: { action: "report", result: "not_applicable" },
            now: new Date(now - HOUR + i),
          }),
        );
      }
      await alertLog.close();
      const files = alertLogFiles(file);
      expect(files.length).toBeGreaterThan(3);
      const pids: number[] = [];
      for await (const a of readAlerts(files, { since: new Date(now - 2 * HOUR), rule: "r-1" })) {
        pids.push((a.doc.process as { pid: number }).pid);
      }
      expect(pids).toEqual(Array.from({ length: 200 }, (_, i) => i));
    } finally {
      rmSync(rotated, { recursive: true, force: true });
    }
  });

  it("parses --since durations and dates, and refuses anything else", () => {
    const at = new Date("2026-11-27T00:00:00Z");
    expect(parseSince("24h", at).toISOString()).toBe("2026-11-26T00:00:00.000Z");
    expect(parseSince("30m", at).toISOString()).toBe("2026-11-26T23:30:00.000Z");
    expect(parseSince("7d", at).toISOString()).toBe("2026-11-20T00:00:00.000Z");
    expect(parseSince("2026-11-26T08:00:00Z", at).toISOString()).toBe("2026-11-26T08:00:00.000Z");
    expect(() => parseSince("yesterday", at)).toThrow(/--since: expected a duration/);
  });
});

describe("macsensor alerts", () => {
  it("shows the last 24 h by default as a table across rotated files, with a readable response", () => {
    const r = alerts();
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SEVERITY\s+RULE\s+USER\s+RESPONSE\s+COMMAND LINE$/);
    expect(lines).toHaveLength(5); // header, 3 alerts, summary
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+high\s+Keychain Dump\s+ann\s+block: success\s+security -v dump-keychain -d login.keychain-db$/);
    expect(lines[2]).toMatch(/medium\s+Curl Piped to Shell\s+carl\s+report: not_applicable\s+sh -c 'curl x \| sh'\\n\\u001b\[2Jfake row$/);
    expect(lines[3]).toMatch(/critical\s+Keychain Dump\s+dan\s+kill: success\s+security dump-keychain -d$/);
    expect(lines[4]).toMatch(/^3 alerts since \S+ in 3 files$/);
    expect(r.stderr).toContain(`${log}.1:2: not JSON`);
  });

  it("filters by rule id or rule name, and --since all reaches the oldest file", () => {
    const byId = alerts("--rule", KEYCHAIN, "--since", "all");
    expect(byId.stdout.trimEnd().split("\n").slice(1, -1).map((l) => l.split(/\s{2,}/)[3])).toEqual(["ann", "ann", "dan"]);
    expect(byId.stdout).toMatch(/3 alerts of rule c0ffee00-0000-4000-8000-00000000beef in 3 files\n$/);
    const byName = alerts("--rule", "keychain dump", "--since", "all");
    expect(byName.stdout.trimEnd().split("\n")).toHaveLength(5);
    const old = alerts("--rule", "old-rule", "--since", "all");
    expect(old.stdout).toContain("Old Rule");
  });

  it("prints NDJSON lines exactly as stored with --json", () => {
    const r = alerts("--json", "--since", "36h");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(JSON.parse(l).event.kind).toBe("alert");
    expect(lines[3]).toBe(alertLine({ ago: 1 * HOUR, id: KEYCHAIN, name: "Keychain Dump", severity: 99, user: "dan", cmd: "security dump-keychain -d", action: "kill", result: "success" }));
  });

  it("says so when nothing matches or no log exists, and rejects a bad --since", () => {
    const none = alerts("--rule", "no-such-rule");
    expect(none.status).toBe(0);
    expect(none.stdout).toMatch(/^0 alerts since/);
    const missing = spawnSync(process.execPath, [cli, "alerts", "--file", join(dir, "nope", "alerts.ndjson")], { encoding: "utf8" });
    expect(missing.status).toBe(0);
    expect(missing.stderr).toContain("no alert log at");
    const bad = alerts("--since", "soon");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--since: expected a duration");
  });

  it("stops quietly when its reader goes away (| head)", async () => {
    const big = join(dir, "big", "alerts.ndjson");
    mkdirSync(join(dir, "big"));
    const line = alertLine({ ago: HOUR, id: "r", name: "R", severity: 21, user: "u", cmd: "x".repeat(200) });
    writeFileSync(big, `${line}\n`.repeat(5000));
    const child = spawn(process.execPath, [cli, "alerts", "--json", "--file", big], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("has --help", () => {
    const r = spawnSync(process.execPath, [cli, "alerts", "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: macsensor alerts/);
  });
});
