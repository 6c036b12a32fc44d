/**
 * `macsensor run` as a real process with rule folders an attacker has touched: links out of the folder and link
 * loops are per-file errors (never a crash), and a rule a non-root user could change, dropped in after start, is
 * refused on SIGHUP while the old rules keep running. Without MACSENSOR_DEV: the strict check is the point.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleToml } from "../helpers/ruleToml.js";
import { trustedTempDir } from "../config/trustedTemp.js";
import { cli, readNdjson, spawnAgent, waitFor, waitForLinuxStart, type Agent } from "./liveAgent.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;
const env = { ...process.env, MACSENSOR_DEV: "", MACSENSOR_CONFIG: "" };

/** A rule that fires on an exec with `arg` among its arguments. */
const argRule = (ruleId: string, name: string, arg: string) =>
  ruleToml(ruleId, `process where event.type == "start" and process.args == "${arg}"`, { name, severity: "high" });

/** A rule folder holding `good` plus a link out of it (`up -> ..`), a two-link loop and a self-link. */
function rulesWithBadLinks(dir: string, good: Record<string, string>): string {
  const rules = join(dir, "rules");
  mkdirSync(rules, { mode: 0o755 });
  chmodSync(rules, 0o755);
  for (const [name, text] of Object.entries(good)) writeFileSync(join(rules, name), text, { mode: 0o644 });
  symlinkSync("..", join(rules, "up"));
  symlinkSync("b.toml", join(rules, "a.toml"));
  symlinkSync("a.toml", join(rules, "b.toml"));
  symlinkSync("self.toml", join(rules, "self.toml"));
  return rules;
}

describe("macsensor run --replay with links out of the rule folder and link loops", () => {
  const dir = trustedTempDir("run-links-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports each link with its reason, loads and runs the other rules, exits 1 as for any rule error", () => {
    const keychain = readFileSync(join(repo, "rules/macos/keychain_dump_via_security.toml"), "utf8");
    const rules = rulesWithBadLinks(dir, { "keychain.toml": keychain });
    const r = spawnSync(process.execPath, [cli, "run", "--replay", join(repo, "samples/recorded-events.ndjson"), "--rules", rules], { encoding: "utf8", env });
    expect(r.stderr).not.toContain("internal error");
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`macsensor: ${join(rules, "up")}: symbolic link to ${dir}, outside the rule folder ${rules}; not followed\n`);
    for (const loop of ["a.toml", "b.toml", "self.toml"]) expect(r.stderr).toContain(`macsensor: ${join(rules, loop)}: symbolic link loop (ELOOP)`);
    const alerts = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alerts.some((a) => a.rule.name === "Keychain Secrets Dumped via Security Command")).toBe(true);
  });
});

describe.runIf(isRoot && process.platform === "linux")("macsensor run --backend linux: links and an untrusted rule on reload (live, as root)", () => {
  const OLD_RULE_ID = "7a4e2c1d-5b3f-4e8a-9c6d-1f2e3a4b5c01";
  const DROPPED_RULE_ID = "7a4e2c1d-5b3f-4e8a-9c6d-1f2e3a4b5c02";
  let dir: string;
  let rules: string;
  let alerts: string;
  let opsLog: string;
  let tool: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = trustedTempDir("run-trust-");
    rules = rulesWithBadLinks(dir, { "old.toml": argRule(OLD_RULE_ID, "Old rule (test)", "old-rule-marker") });
    alerts = join(dir, "alerts.ndjson");
    opsLog = join(dir, "macsensor.log");
    // A program that lives 200 ms, so that /proc still has its arguments when the agent reads them.
    tool = join(dir, "tool");
    writeFileSync(join(dir, "tool.c"), "#include <unistd.h>\nint main(void) { usleep(200000); return 0; }\n");
    const cc = spawnSync("cc", ["-O2", "-o", tool, join(dir, "tool.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    agent = spawnAgent(["run", "--backend", "linux", "--rules", rules, "--alerts", alerts, "--log", opsLog, "--heartbeat", "60"], {
      ...env,
      MACSENSOR_PID_FILE: join(dir, "macsensor.pid"),
    });
    await waitForLinuxStart(agent);
  }, 60_000);

  afterAll(() => {
    if (agent?.child.exitCode === null) agent.child.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("starts with the links as per-file errors in the agent log", async () => {
    expect(agent.stderr()).toContain("running with the linux backend, 1 rules");
    // The agent log is written asynchronously: wait for the record that follows the per-file errors.
    await waitFor("the rules loaded record", () => (readNdjson(opsLog).some((l) => l.message === "rules loaded") ? true : undefined), 10_000);
    const notLoaded = readNdjson(opsLog).filter((l) => l.message === "rule not loaded");
    expect(notLoaded.map((l) => l.file.path).sort()).toEqual(["a.toml", "b.toml", "self.toml", "up"].map((n) => join(rules, n)));
  });

  it("refuses on SIGHUP a rule owned by nobody and writable by all; the old rule keeps firing", async () => {
    const dropped = join(rules, "dropped.toml");
    writeFileSync(dropped, argRule(DROPPED_RULE_ID, "Dropped after start (test)", "dropped-rule-marker"));
    chmodSync(dropped, 0o666);
    chownSync(dropped, NOBODY, NOBODY);
    agent.child.kill("SIGHUP");
    const refused = await waitFor("the refusal", () => readNdjson(opsLog).find((l) => l.message === "rule reload refused; the previous rules stay in force"), 10_000);
    expect(refused.file.path).toBe(dropped);
    expect(refused.error.message).toContain(`${dropped} is owned by uid ${NOBODY}, not root`);
    await waitFor("the refusal on stderr", () => (agent.stderr().includes("macsensor: rule reload refused, the previous rules stay in force: refusing to load") ? true : undefined), 10_000);

    // Execs are handled in order, so once the old rule's alert is written the dropped rule's chance has passed.
    spawnSync(tool, ["dropped-rule-marker"]);
    spawnSync(tool, ["old-rule-marker"]);
    await waitFor("the old rule's alert", () => readNdjson(alerts).find((a) => a.rule.id === OLD_RULE_ID), 10_000);
    expect(readNdjson(alerts).filter((a) => a.rule.id === DROPPED_RULE_ID)).toEqual([]);
    expect(agent.child.exitCode).toBeNull();
  });
});
