/**
 * File events end to end on Linux (as root): `macsensor run --backend linux` with a file rule and a file block
 * rule, real files touched by real processes, alerts read back from the alert log; a guarded open denied for real,
 * the guard derived from the block rule alone (no auth.guard_paths).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleToml } from "../helpers/ruleToml.js";
import { readNdjson, spawnAgent, waitFor, waitForLinuxStart, type Agent } from "./liveAgent.js";

const live = process.platform === "linux" && process.geteuid?.() === 0;

const CREATE_RULE_ID = "9b1f6a2e-7c3d-4e5f-8a9b-0c1d2e3f4a01";
const BLOCK_RULE_ID = "9b1f6a2e-7c3d-4e5f-8a9b-0c1d2e3f4a02";

function run(cmd: string, args: string[]): Promise<{ pid: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ pid: child.pid ?? -1, code, stdout, stderr }));
  });
}

/** `macsensor run` on the Linux backend with BLOCK_RULE_ID set to block in its configuration file. */
async function startBlockingAgent(dir: string, rules: string, alerts: string, log: string): Promise<Agent> {
  const config = join(dir, "config.toml");
  writeFileSync(config, `[actions]\n"${BLOCK_RULE_ID}" = "block"\n`);
  const agent = spawnAgent(["run", "--backend", "linux", "--config", config, "--rules", rules, "--alerts", alerts, "--log", log], {
    ...process.env,
    MACSENSOR_DEV: "1",
    MACSENSOR_PID_FILE: join(dir, "macsensor.pid"),
  });
  await waitForLinuxStart(agent);
  return agent;
}

function stopAgent(agent: Agent | undefined, dir: string): void {
  if (agent?.child.exitCode === null) agent.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

describe.runIf(live)("macsensor run --backend linux: file events (live, as root)", () => {
  let dir: string;
  let alerts: string;
  let watched: string;
  let secret: string;
  let other: string;
  let rules: string;
  let log: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "macsensor-e2e-files-")));
    rules = join(dir, "rules");
    log = join(dir, "macsensor.log");
    watched = join(dir, "watched");
    mkdirSync(rules);
    mkdirSync(watched);
    mkdirSync(join(dir, "guard"));
    secret = join(dir, "guard", "secret");
    other = join(dir, "guard", "other");
    writeFileSync(secret, "s3cret\n");
    writeFileSync(other, "public\n");
    writeFileSync(
      join(rules, "created.toml"),
      ruleToml(CREATE_RULE_ID, `file where event.action == "creation" and file.path : "${watched}/*"`, { name: "File created in the watched folder (test)" }),
    );
    writeFileSync(
      join(rules, "secret.toml"),
      ruleToml(BLOCK_RULE_ID, `file where event.action == "open" and file.path == "${secret}"`, { name: "Secret file opened (test)" }),
    );
    alerts = join(dir, "alerts.ndjson");
    agent = await startBlockingAgent(dir, rules, alerts, log);
  });

  afterAll(() => stopAgent(agent, dir));

  it("a file rule alerts within 2 s with the acting process's executable, args and parent", async () => {
    const target = join(watched, "new.txt");
    // The shell lives on after the write, so that its exec is in the process table well before its file event.
    const script = `sleep 0.3; echo hi > ${target}; sleep 0.3`;
    const shell = await run("/bin/sh", ["-c", script]);
    expect(shell.code).toBe(0);
    const alert = await waitFor("the creation alert", () => readNdjson(alerts).find((a) => a.rule.id === CREATE_RULE_ID), 2_000);
    expect(alert.file.path).toBe(target);
    expect(alert.process.pid).toBe(shell.pid);
    expect(alert.process.executable).toBe(realpathSync("/bin/sh"));
    expect(alert.process.args).toEqual(["/bin/sh", "-c", script]);
    expect(alert.process.parent.pid).toBe(process.pid);
  });

  it("says at start which opens it holds, and for which block rule", () => {
    expect(agent.stderr()).toContain(`macsensor:   files in ${join(dir, "guard")}: block rule ${BLOCK_RULE_ID} (Secret file opened (test))`);
  });

  it("a block rule alone makes cat of its file fail with EPERM (fanotify's FAN_DENY; EACCES is not possible), its neighbour opens", async () => {
    const denied = await run("/bin/cat", [secret]);
    expect(denied.code).not.toBe(0);
    // strerror(EPERM): FAN_DENY fails the open with EPERM, and FAN_DENY_ERRNO (Linux 6.13+, pre-content groups
    // only) does not allow EACCES either; see docs/internals.md, "Denied opens: EPERM, not EACCES".
    expect(denied.stderr).toBe(`/bin/cat: ${secret}: Operation not permitted\n`);
    expect(await run("/bin/cat", [other])).toMatchObject({ code: 0, stdout: "public\n" });
    const alert = await waitFor("the block alert", () => readNdjson(alerts).find((a) => a.rule.id === BLOCK_RULE_ID), 5_000);
    expect(alert.process.pid).toBe(denied.pid);
    expect(alert.macsensor.response).toMatchObject({ action: "block", result: "success" });
  });

  it("a reload that removes the block rule unguards its file; putting it back guards it again", async () => {
    const aside = join(dir, "secret.toml.off");
    renameSync(join(rules, "secret.toml"), aside);
    const before = agent.stderr().length;
    agent.child.kill("SIGHUP");
    await waitFor("the reload", () => (agent.stderr().slice(before).includes("no open is held for a verdict") ? true : undefined), 10_000);
    expect(await run("/bin/cat", [secret])).toMatchObject({ code: 0, stdout: "s3cret\n" });
    renameSync(aside, join(rules, "secret.toml"));
    const again = agent.stderr().length;
    agent.child.kill("SIGHUP");
    await waitFor("the second reload", () => (agent.stderr().slice(again).includes(`block rule ${BLOCK_RULE_ID}`) ? true : undefined), 10_000);
    expect((await run("/bin/cat", [secret])).code).not.toBe(0);
  });

  it("the agent killed with SIGKILL while an open is pending never hangs the host", async () => {
    // Stopped, the agent holds the guarded open without answering (its watchdog thread is stopped too).
    agent.child.kill("SIGSTOP");
    const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
    await waitFor("the agent to stop", () => (state(agent.child.pid!) === "T" ? true : undefined), 10_000);
    const cat = spawn("/bin/cat", [secret]);
    let out = "";
    cat.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const pending = new Promise<number | null>((resolve) => cat.on("close", resolve));
    // cat waits in the kernel for the stopped agent's answer.
    const wchan = () => readFileSync(`/proc/${cat.pid}/wchan`, "utf8");
    await waitFor("cat to wait on fanotify", () => (wchan().includes("fanotify") ? true : undefined), 10_000).catch((e) => {
      throw new Error(`${e.message}; wchan ${wchan()}`);
    });
    const exited = new Promise((resolve) => agent.child.once("exit", resolve));
    agent.child.kill("SIGKILL");
    await exited;
    expect(await pending).toBe(0);
    expect(out).toBe("s3cret\n");
    expect(spawnSync("/bin/cat", [secret], { encoding: "utf8" }).stdout).toBe("s3cret\n");
  });
});

describe.runIf(live)("macsensor run --backend linux: a macOS-only file rule (live, as root)", () => {
  let dir: string;
  let log: string;
  let agent: Agent;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "macsensor-e2e-macrule-")));
    const rules = join(dir, "rules");
    mkdirSync(rules);
    log = join(dir, "macsensor.log");
    writeFileSync(
      join(rules, "keychain.toml"),
      ruleToml(BLOCK_RULE_ID, `file where host.os.type == "macos" and event.type == "access" and file.name == "login.keychain-db"`, { name: "Keychain opened (macOS)" }),
    );
    agent = await startBlockingAgent(dir, rules, join(dir, "alerts.ndjson"), log);
  });

  afterAll(() => stopAgent(agent, dir));

  it("subscribes to no file event, holds no open, and says the rule cannot fire here", () => {
    const loaded = readNdjson(log).find((r) => r.message === "rules loaded");
    expect(loaded?.macsensor.event_kinds).toEqual([]);
    expect(agent.stderr()).toMatch(/1 rules \(0 can fire on this sensor's events, 1 blocking\)/);
    expect(agent.stderr()).toContain("no open is held for a verdict");
    const warning = readNdjson(log).find((r) => r.message === "rule loaded but can never fire");
    expect(warning?.macsensor.reason).toBe("its host.os.type condition excludes this sensor's host (linux)");
  });
});
