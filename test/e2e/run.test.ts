/**
 * The live agent end to end on Linux (as root, as CI runs): `macsensor run --backend linux` as a real process,
 * real execs, alerts read back from the alert log on disk.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleToml } from "../helpers/ruleToml.js";
import { resolveBackend } from "../../src/cli/runCommand.js";
import { cli, readNdjson, spawnAgent, waitFor, waitForLinuxStart, type Agent } from "./liveAgent.js";

const isRoot = process.geteuid?.() === 0;

const DUMP_RULE_ID = "0c7c1d8e-3b7a-4c55-9a57-3f2d7c1e9a01";
const LATER_RULE_ID = "5e0b8f3a-6d1c-4a8e-8f4b-2a9c7d6e5f02";

describe.runIf(isRoot && process.platform === "linux")("macsensor run --backend linux (live, as root)", () => {
  let dir: string;
  let rules: string;
  let alerts: string;
  let opsLog: string;
  let security: string;
  let agent: Agent;
  let killedPid: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "macsensor-e2e-"));
    rules = join(dir, "rules");
    spawnSync("mkdir", ["-p", rules]);
    // Elastic's keychain rule without its macOS condition, so that it can fire on this Linux host.
    writeFileSync(
      join(rules, "dump.toml"),
      ruleToml(
        DUMP_RULE_ID,
        'process where event.type == "start" and event.action == "exec" and process.name == "security" and process.args == "dump-keychain" and process.args == "-d"',
        { name: "Keychain dump via security (test)", severity: "high" },
      ),
    );
    alerts = join(dir, "alerts.ndjson");
    opsLog = join(dir, "macsensor.log");
    security = join(dir, "security");
    // A program named security that lives 1 s, so that /proc still has its arguments when the agent reads
    // them even in a burst (a process gone before it is read gives a partial event, counted apart).
    writeFileSync(join(dir, "security.c"), "#include <unistd.h>\nint main(void) { usleep(1000000); return 0; }\n");
    const cc = spawnSync("cc", ["-O2", "-o", security, join(dir, "security.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    // An agent killed with SIGKILL leaves its pid file behind: the next start must take it over.
    const killed = startAgent();
    await waitForLinuxStart(killed);
    const killedExit = new Promise((resolve) => killed.child.once("exit", resolve));
    killed.child.kill("SIGKILL");
    await killedExit;
    expect(readFileSync(pidFile(), "utf8")).toBe(`${killed.child.pid}\n`);
    killedPid = killed.child.pid!;
    agent = startAgent();
    await waitForLinuxStart(agent);
  });

  const pidFile = () => join(dir, "macsensor.pid");
  const runArgs = () => ["run", "--backend", "linux", "--rules", rules, "--alerts", alerts, "--log", opsLog, "--heartbeat", "1"];
  const runEnv = () => ({ ...process.env, MACSENSOR_DEV: "1", MACSENSOR_PID_FILE: pidFile(), MACSENSOR_CONFIG: "" });

  const startAgent = () => spawnAgent(runArgs(), runEnv());

  afterAll(() => {
    if (agent?.child.exitCode === null) agent.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("says how many loaded rules can fire on this sensor's events", () => {
    expect(agent!.stderr()).toMatch(/running with the linux backend, 1 rules \(1 can fire on this sensor's events, 0 blocking\)/);
  });

  it("alerts on a program named security run with dump-keychain -d, with its args and parent", async () => {
    const before = readNdjson(alerts).length;
    const r = spawnSync("/bin/sh", ["-c", `${security} dump-keychain -d login.keychain-db; echo $$`], { encoding: "utf8" });
    const shellPid = Number(r.stdout.trim());
    const alert = await waitFor(
      "the alert",
      () => readNdjson(alerts).slice(before).find((a) => a.process?.args?.includes("login.keychain-db")),
      // Latency is measured by the agent benchmark; here only that the alert comes, however loaded the machine.
      20_000,
    );
    expect(alert.rule.id).toBe(DUMP_RULE_ID);
    expect(alert.event.kind).toBe("alert");
    expect(alert.process.executable).toBe(security);
    expect(alert.process.name).toBe("security");
    expect(alert.process.args).toEqual([security, "dump-keychain", "-d", "login.keychain-db"]);
    expect(alert.process.parent.pid).toBe(shellPid);
    // process.name is the executable's own name: /bin/sh is a link to dash on Debian.
    expect(alert.process.parent.name).toBe(basename(realpathSync("/bin/sh")));
    expect(alert.macsensor.response).toMatchObject({ action: "report", result: "success" });
  });

  it("refuses a second agent on the same pid file, naming the running one, and leaves its pid file alone", () => {
    expect(readFileSync(pidFile(), "utf8")).toBe(`${agent.child.pid}\n`);
    const second = spawnSync(process.execPath, [cli, ...runArgs()], { env: runEnv(), encoding: "utf8", timeout: 60_000 });
    expect(second.status, second.stderr).toBe(75);
    expect(second.stderr).toContain(`already running (pid ${agent.child.pid}, pid file ${pidFile()})`);
    expect(second.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readFileSync(pidFile(), "utf8")).toBe(`${agent.child.pid}\n`);
    const status = spawnSync(process.execPath, [cli, "status", "--pid-file", pidFile(), "--log", opsLog, "--alerts", alerts], { encoding: "utf8" });
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toContain(`running (pid ${agent.child.pid})`);
    // Each run's start names its pid in the agent log: what status tells the runs apart by.
    const starts = readFileSync(opsLog, "utf8")
      .split("\n")
      .filter((l) => l.includes('"agent started"'))
      .map((l) => JSON.parse(l));
    expect(starts.map((s) => s.process?.pid)).toEqual([killedPid, agent.child.pid]);
  });

  it("makes no alert for a harmless exec", async () => {
    const before = readNdjson(alerts).length;
    spawnSync(security, ["list-keychains"]);
    spawnSync("/bin/echo", ["dump-keychain", "-d"]);
    // A matching exec after the harmless ones: once its alert is on disk, the harmless ones were processed too.
    spawnSync(security, ["dump-keychain", "-d", "marker-after-harmless"]);
    await waitFor("the marker alert", () => readNdjson(alerts).slice(before).find((a) => a.process.args.includes("marker-after-harmless")), 10_000);
    // Only our own programs count: anything else on the machine may exec what it likes meanwhile.
    const added = readNdjson(alerts)
      .slice(before)
      .filter((a) => a.process.executable === security || a.process.executable === "/bin/echo");
    expect(added.map((a) => a.process.args.join(" "))).toEqual([`${security} dump-keychain -d marker-after-harmless`]);
  });

  it("reloads rules on SIGHUP without a restart", async () => {
    writeFileSync(join(rules, "later.toml"), ruleToml(LATER_RULE_ID, 'process where process.args == "added-by-reload"', { name: "Added later (test)", severity: "high" }));
    agent.child.kill("SIGHUP");
    const ops = () => readFileSync(opsLog, "utf8");
    await waitFor("the reload", () => (ops().match(/"rules loaded"/g)?.length === 2 ? true : undefined), 10_000);
    // Our long-lived program, so that /proc still holds its arguments when the agent reads them.
    spawnSync(security, ["added-by-reload"]);
    const alert = await waitFor("the new rule's alert", () => readNdjson(alerts).find((a) => a.rule.id === LATER_RULE_ID), 10_000);
    expect(alert.process.args).toEqual([security, "added-by-reload"]);
  });

  it("survives a burst of 2,000 execs: every match alerted or counted as dropped; SIGTERM drains and exits 0", async () => {
    const before = readNdjson(alerts).filter((a) => a.rule.id === DUMP_RULE_ID).length;
    const burst = spawnSync("/bin/sh", ["-c", `i=0; while [ $i -lt 2000 ]; do ${security} dump-keychain -d burst & i=$((i+1)); done; wait`]);
    expect(burst.status).toBe(0);
    const exited = new Promise<number | null>((resolve) => agent.child.once("exit", (code) => resolve(code)));
    agent.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const burstAlerts = readNdjson(alerts)
      .slice(0)
      .filter((a) => a.rule.id === DUMP_RULE_ID && a.process.executable === security && a.process.args.includes("burst"));
    const stopped = readFileSync(opsLog, "utf8")
      .split("\n")
      .filter((l) => l.includes('"agent stopped"'))
      .map((l) => JSON.parse(l))[0];
    expect(stopped, agent.stderr()).toBeDefined();
    const { drops, partialExecs } = stopped.macsensor.counts as { drops: number; partialExecs: number };
    expect(burstAlerts.length + drops + partialExecs).toBeGreaterThanOrEqual(2000);
    expect(burstAlerts.length).toBeLessThanOrEqual(2000);
    expect(new Set(burstAlerts.map((a) => a.process.pid)).size).toBe(burstAlerts.length);
    expect(before).toBeGreaterThan(0);
    expect(existsSync(join(dir, "macsensor.pid"))).toBe(false);
  }, 300_000);
});

describe("backend selection", () => {
  it("auto picks the process connector on Linux as root and Endpoint Security on macOS as root", () => {
    expect(resolveBackend("auto", "linux", 0)).toEqual({ backend: "linux" });
    expect(resolveBackend("auto", "darwin", 0)).toEqual({ backend: "es" });
    expect(resolveBackend("eslogger", "darwin", 501)).toEqual({ backend: "eslogger" });
  });

  it("says what is missing without root", () => {
    expect(resolveBackend("auto", "linux", 1000).unavailable).toMatch(/needs root on Linux/);
    expect(resolveBackend("auto", "darwin", 501).unavailable).toMatch(/needs root on macOS/);
    expect(() => resolveBackend("kernel", "linux", 0)).toThrow(/--backend must be/);
  });
});

describe("macsensor run --replay (the quick start without root)", () => {
  it("replays the bundled recording through the shipped rules and prints the keychain alert", () => {
    const r = spawnSync(process.execPath, [cli, "run", "--replay", new URL("../../samples/recorded-events.ndjson", import.meta.url).pathname], {
      encoding: "utf8",
      env: { ...process.env, MACSENSOR_CONFIG: "" },
    });
    expect(r.status, r.stderr).toBe(0);
    const alerts = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(alerts.some((a) => a.rule.name.includes("Keychain") && a.process.args.includes("dump-keychain"))).toBe(true);
    expect(r.stderr).toMatch(/replayed \d+ events, \d+ alerts/);
  });
});
