import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchdState, linesBackwards, parseLaunchctlPrint, pidFileState, readOpsSummary } from "../../src/status/index.js";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "macsensor-status-"));
const HOUR = 3600_000;
const now = Date.now();
const iso = (msAgo: number): string => new Date(now - msAgo).toISOString();

// A stand-in agent: a live process whose command line names macsensor.
let agent: ChildProcess;
beforeAll(async () => {
  agent = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "macsensor-test-agent"], { stdio: "ignore" });
  await new Promise((resolve) => agent.once("spawn", resolve));
});
afterAll(() => {
  agent.kill();
  rmSync(dir, { recursive: true, force: true });
});

const record = (o: Record<string, unknown>): string => JSON.stringify({ log: { level: "info", logger: "macsensor" }, ...o });

// The agent's log as src/output/opsLogger.ts writes it: start, rules loaded, heartbeats, with filler between so
// that reading backwards crosses chunk boundaries.
const opsLog = join(dir, "macsensor.log");
const filler = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => record({ "@timestamp": iso(2 * HOUR), message: `exec seen ${i} ✓ ünïcödé`, macsensor: { n: i } }));
writeFileSync(
  opsLog,
  [
    record({ "@timestamp": iso(3 * HOUR), message: "start", macsensor: { backend: "eslogger" } }),
    record({ "@timestamp": iso(3 * HOUR), message: "rules loaded", macsensor: { rules: { loaded: 9, skipped: 1 } } }),
    record({ "@timestamp": iso(3 * HOUR), message: "start", macsensor: { backend: "linux" } }),
    record({ "@timestamp": iso(3 * HOUR), message: "rules loaded", macsensor: { rules: { loaded: 14, skipped: 2 } } }),
    record({ "@timestamp": iso(2 * HOUR), message: "heartbeat", event: { action: "heartbeat" }, macsensor: { counts: { events: 5, alerts: 0, drops: 0, deadline_fallbacks: 0 } } }),
    ...filler(1500),
    record({ "@timestamp": iso(60_000), message: "heartbeat", event: { action: "heartbeat" }, macsensor: { counts: { events: 120345, alerts: 3, drops: 7, deadlineFallbacks: 1, authLate: 2 } } }),
    "not json at all",
    record({ "@timestamp": iso(30_000), message: "cannot read rule file", log: { level: "error" } }),
  ].join("\n") + "\n",
);

const alertsLog = join(dir, "alerts.ndjson");
const alert = (ago: number, name: string, severity: number): string =>
  JSON.stringify({ "@timestamp": iso(ago), event: { kind: "alert", severity }, rule: { id: name.toLowerCase(), name } });
writeFileSync(`${alertsLog}.1`, [alert(30 * HOUR, "Old", 21), alert(5 * HOUR, "Keychain Dump", 73)].join("\n") + "\n");
writeFileSync(alertsLog, [alert(HOUR, "Keychain Dump", 73), alert(HOUR, "Curl Pipe", 47), alert(60_000, "Keychain Dump", 99)].join("\n") + "\n");

const pidFile = join(dir, "macsensor.pid");

function status(...args: string[]) {
  return spawnSync(process.execPath, [cli, "status", "--log", opsLog, "--alerts", alertsLog, "--pid-file", pidFile, ...args], { encoding: "utf8" });
}

describe("reading the agent's log backwards", () => {
  it("yields the same lines as reading forwards, across chunk boundaries and multi-byte characters", () => {
    const forwards = readFileSync(opsLog, "utf8").split("\n").filter((l) => l !== "");
    expect([...linesBackwards(opsLog)]).toEqual(forwards.reverse());
  });

  it("finds the last heartbeat, the latest backend and rule counts", () => {
    const s = readOpsSummary(opsLog);
    expect(s.heartbeat).toEqual({ time: iso(60_000), counts: { events: 120345, alerts: 3, drops: 7, deadlineFallbacks: 1, authLate: 2 } });
    expect(s.backend).toBe("linux");
    expect(s.rules).toEqual({ loaded: 14, skipped: 2 });
    expect(s.lastRecordTime).toBe(iso(30_000));
    expect(s.error).toBeUndefined();
  });

  it("looks into the rotated .1 file for what the live one lacks", () => {
    const live = join(dir, "rot.log");
    writeFileSync(live, record({ "@timestamp": iso(0), message: "heartbeat", macsensor: { counts: { events: 1 } } }) + "\n");
    writeFileSync(`${live}.1`, record({ message: "start", macsensor: { backend: "es", rules: { loaded: 3, skipped: 0 } } }) + "\n");
    const s = readOpsSummary(live);
    expect([s.backend, s.rules, s.heartbeat?.counts]).toEqual(["es", { loaded: 3, skipped: 0 }, { events: 1 }]);
  });

  it("says why when there is no log", () => {
    expect(readOpsSummary(join(dir, "none.log")).error).toMatch(/^no such file/);
  });
});

describe("is it running", () => {
  it("trusts a pid file naming a live macsensor process", () => {
    writeFileSync(pidFile, `${agent.pid}\n`);
    expect(pidFileState(pidFile)).toEqual({ running: true, via: "pid file", pid: agent.pid, detail: `running (pid ${agent.pid})` });
  });

  it("calls a pid file stale when its process is gone or the pid now belongs to a later process", () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    writeFileSync(pidFile, `${gone}\n`);
    expect(pidFileState(pidFile).detail).toBe(`not running: ${pidFile} names pid ${gone}, which is gone (stale pid file)`);
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(pidFile, `${other.pid}`);
      // written an hour ago, by an agent that has since died: the pid now names a process started later
      utimesSync(pidFile, new Date(now - HOUR), new Date(now - HOUR));
      expect(pidFileState(pidFile)).toMatchObject({ running: false, detail: expect.stringContaining("now another program started after the file was written") });
      // written after the process started: it is the writer
      writeFileSync(pidFile, `${other.pid}`);
      expect(pidFileState(pidFile)).toMatchObject({ running: true, pid: other.pid });
    } finally {
      other.kill();
    }
    writeFileSync(pidFile, "garbage");
    expect(pidFileState(pidFile).detail).toBe(`not running: ${pidFile} holds no pid`);
    expect(pidFileState(join(dir, "none.pid")).detail).toBe(`not running: no pid file at ${join(dir, "none.pid")}`);
  });

  const printed = [
    "system/com.macsensor.agent = {",
    "\tactive count = 1",
    "\tpath = /Library/LaunchDaemons/com.macsensor.agent.plist",
    "\ttype = LaunchDaemon",
    "\tstate = running",
    "",
    "\tprogram = /Library/Application Support/macsensor/macsensor.app/Contents/MacOS/macsensor",
    "\targuments = {",
    "\t\t/Library/Application Support/macsensor/macsensor.app/Contents/MacOS/macsensor",
    "\t\trun",
    "\t}",
    "\tpid = 812",
    "\timmediate reason = speculative",
    "\tlast exit code = (never exited)",
    "}",
  ].join("\n");

  it("reads state, pid and last exit code from `launchctl print`", () => {
    expect(parseLaunchctlPrint(printed)).toEqual({ state: "running", pid: 812, lastExit: "(never exited)" });
  });

  it("asks launchctl on macOS: running, loaded but stopped, not loaded", () => {
    const fake = join(dir, "launchctl");
    const answer = join(dir, "launchctl.out");
    writeFileSync(fake, `#!/bin/sh\n[ "$1 $2" = "print system/com.macsensor.agent" ] || exit 64\n[ -s '${answer}' ] || exit 113\ncat '${answer}'\n`);
    chmodSync(fake, 0o755);
    writeFileSync(answer, printed);
    expect(launchdState(fake)).toEqual({ running: true, via: "launchd", pid: 812, lastExit: "(never exited)", detail: "running (pid 812)" });
    writeFileSync(answer, "system/com.macsensor.agent = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}\n");
    expect(launchdState(fake).detail).toBe("loaded but not running, last exit code 78: EX_CONFIG");
    writeFileSync(answer, "");
    expect(launchdState(fake)).toMatchObject({ running: false, detail: expect.stringMatching(/^not loaded/) });
  });
});

describe("macsensor status", () => {
  it("reports a running agent, its backend, rules, last heartbeat and the last day's alerts", () => {
    writeFileSync(pidFile, `${agent.pid}\n`);
    const r = status();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`macsensor:       running (pid ${agent.pid}) [${pidFile}]`);
    expect(lines[1]).toBe("backend:         linux");
    expect(lines[2]).toBe("rules:           14 loaded, 2 skipped");
    expect(lines[3]).toMatch(
      /^last heartbeat:  \S+ \(\d+ s ago\): events 120345, alerts 3, drops 7, deadline fallbacks 1, auth late 2$/,
    );
    expect(lines[4]).toBe("alerts (24 h):   4 (critical 1, high 2, medium 1)");
    expect(lines[5]).toBe("       3  Keychain Dump");
    expect(lines[6]).toBe("       1  Curl Pipe");
    expect(lines[7]).toBe(`agent log:       ${opsLog}`);
    expect(lines[8]).toBe(`alert log:       ${alertsLog} (+1 rotated)`);
  });

  it("gives the same as JSON, and exit 3 when not running", () => {
    writeFileSync(pidFile, "999999999\n");
    const r = status("--json");
    expect(r.status).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      running: false,
      via: "pid file",
      backend: "linux",
      rules: { loaded: 14, skipped: 2 },
      heartbeat: { counts: { events: 120345, alerts: 3, drops: 7, deadlineFallbacks: 1 } },
      alerts_24h: { total: 4, by_severity: { critical: 1, high: 2, medium: 1 }, by_rule: { "Keychain Dump": 3, "Curl Pipe": 1 } },
      files: { pid_file: pidFile, log: opsLog, alerts: [`${alertsLog}.1`, alertsLog] },
    });
  });

  it("still answers with no logs at all", () => {
    const r = spawnSync(
      process.execPath,
      [cli, "status", "--log", join(dir, "x.log"), "--alerts", join(dir, "x.ndjson"), "--pid-file", join(dir, "x.pid")],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(3);
    expect(r.stdout).toContain("not running: no pid file");
    expect(r.stdout).toContain("backend:         unknown");
    expect(r.stdout).toContain("last heartbeat:  none");
    expect(r.stdout).toContain("alerts (24 h):   0");
    expect(r.stdout).toContain("no such file");
  });

  it("shows alerts written and lost from the heartbeat, and flags a lost count", () => {
    const log = join(dir, "lost.log");
    const heartbeat = (counts: Record<string, number>, ago: number): string =>
      record({ "@timestamp": iso(ago), message: "heartbeat", event: { action: "heartbeat" }, macsensor: { counts } });
    const run = () => spawnSync(process.execPath, [cli, "status", "--log", log, "--alerts", alertsLog, "--pid-file", pidFile], { encoding: "utf8" });
    writeFileSync(log, [record({ "@timestamp": iso(HOUR), message: "agent started", macsensor: { backend: "linux" } }), heartbeat({ events: 900, alerts: 10, alertsWritten: 7, alertsSpooled: 0, alertsLost: 3, drops: 0 }, 60_000)].join("\n") + "\n");
    let out = run().stdout;
    expect(out).toMatch(/^last heartbeat:  .*: events 900, alerts 10, alerts written 7, alerts lost 3, drops 0, deadline fallbacks \?, alerts spooled 0$/m);
    expect(out).toMatch(/^warning: 3 alert\(s\) LOST: the alert log could not be written/m);
    writeFileSync(log, heartbeat({ events: 900, alerts: 10, alertsWritten: 10, alertsSpooled: 0, alertsLost: 0, drops: 0 }, 60_000) + "\n");
    out = run().stdout;
    expect(out).toMatch(/alerts 10, alerts written 10, alerts lost 0,/);
    expect(out).not.toMatch(/LOST/);
  });

  it("has --help and rejects unknown options", () => {
    expect(spawnSync(process.execPath, [cli, "status", "--help"], { encoding: "utf8" }).stdout).toMatch(/^Usage: macsensor status/);
    expect(spawnSync(process.execPath, [cli, "status", "--bogus"], { encoding: "utf8" }).status).toBe(2);
  });
});

describe("macsensor status and the evaluation budget", () => {
  const slowLog = join(dir, "slow.log");
  const slowRule = { id: "a1b2", name: "Privacy pref change via scp", ms: 38.25, event_ms: 42.1, budget_ms: 20, "@timestamp": iso(90_000) };
  writeFileSync(
    slowLog,
    [
      record({ "@timestamp": iso(HOUR), message: "agent started", macsensor: { backend: "linux", rules: { loaded: 3, skipped: 0 } } }),
      record({ "@timestamp": iso(90_000), message: "event over the rule evaluation budget", log: { level: "warn" }, rule: { id: "a1b2", name: slowRule.name } }),
      record({ "@timestamp": iso(60_000), message: "heartbeat", event: { action: "heartbeat" }, macsensor: { counts: { events: 10, alerts: 1, drops: 0, deadlineFallbacks: 0, evalOverruns: 2 }, slow_rule: slowRule } }),
    ].join("\n") + "\n",
  );
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, "status", "--log", slowLog, "--alerts", alertsLog, "--pid-file", join(dir, "none.pid"), ...args], { encoding: "utf8" });

  it("shows the overrun count and the last slow rule", () => {
    const lines = run().stdout.split("\n");
    expect(lines.find((l) => l.startsWith("last heartbeat:"))).toMatch(/: events 10, alerts 1, drops 0, deadline fallbacks 0, eval overruns 2$/);
    expect(lines.find((l) => l.startsWith("last slow rule:"))).toMatch(
      new RegExp(`^last slow rule:  Privacy pref change via scp \\[a1b2\\] 38\\.25 ms alone, event 42\\.1 ms, budget 20 ms at ${iso(90_000).replace(/\./g, "\\.")} \\(\\d+ s ago\\)$`),
    );
    expect(readOpsSummary(slowLog).heartbeat?.slow_rule).toEqual({
      id: "a1b2", name: "Privacy pref change via scp", ms: 38.25, event_ms: 42.1, budget_ms: 20, time: iso(90_000),
    });
  });

  it("gives them in JSON, and no slow-rule line when no event overran", () => {
    expect(JSON.parse(run("--json").stdout).heartbeat).toMatchObject({ counts: { evalOverruns: 2 }, slow_rule: { id: "a1b2", ms: 38.25 } });
    expect(status().stdout).not.toContain("last slow rule:");
  });
});

describe("only the running agent's own run counts", () => {
  const runLog = join(dir, "runs.log");
  const started = (pid: number, ago: number, backend: string) =>
    record({ "@timestamp": iso(ago), message: "agent started", process: { pid }, macsensor: { backend, rules: { loaded: pid % 100, skipped: 0 } } });
  const heartbeat = (ago: number, events: number) =>
    record({ "@timestamp": iso(ago), message: "heartbeat", event: { action: "heartbeat" }, macsensor: { counts: { events } } });
  const statusOf = (...args: string[]) =>
    spawnSync(process.execPath, [cli, "status", "--log", runLog, "--alerts", alertsLog, "--pid-file", pidFile, ...args], { encoding: "utf8" });
  const previousPid = 4_000_001; // above any pid Linux hands out: an agent that has stopped

  it("says 'no heartbeat yet' before the running agent's first, never an earlier run's", () => {
    // The earlier run's count has more digits than any pid, so no pid or time in the output can contain it.
    writeFileSync(runLog, [started(previousPid, 2 * HOUR, "es"), heartbeat(HOUR, 98_765_432), started(agent.pid!, 5_000, "linux")].join("\n") + "\n");
    const s = readOpsSummary(runLog, { runningPid: agent.pid! });
    expect(s.heartbeat).toBeUndefined();
    expect(s.run).toEqual({ pid: agent.pid, started: iso(5_000) });
    expect(s.backend).toBe("linux");
    writeFileSync(pidFile, `${agent.pid}\n`);
    const r = statusOf();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^last heartbeat: {2}no heartbeat yet \(agent started \S+ \(\d+ s ago\)\)$/m);
    expect(r.stdout).not.toMatch(/98,?765,?432/);
    expect(JSON.parse(statusOf("--json").stdout)).toMatchObject({ heartbeat: null, run: { pid: agent.pid }, backend: "linux" });
  });

  it("shows the running agent's heartbeat once there is one", () => {
    writeFileSync(runLog, [started(previousPid, 2 * HOUR, "es"), heartbeat(HOUR, 111), started(agent.pid!, 5_000, "linux"), heartbeat(1_000, 222)].join("\n") + "\n");
    writeFileSync(pidFile, `${agent.pid}\n`);
    expect(readOpsSummary(runLog, { runningPid: agent.pid! }).heartbeat).toEqual({ time: iso(1_000), counts: { events: 222 } });
    expect(statusOf().stdout).toMatch(/^last heartbeat: {2}\S+ \(\d+ s ago\): events 222,/m);
  });

  it("reports nothing of an earlier run while the running agent has not logged its start", () => {
    writeFileSync(runLog, [started(previousPid, 2 * HOUR, "es"), heartbeat(HOUR, 111)].join("\n") + "\n");
    const s = readOpsSummary(runLog, { runningPid: agent.pid! });
    expect(s).toMatchObject({ run: { pid: agent.pid } });
    expect([s.heartbeat, s.backend, s.rules]).toEqual([undefined, undefined, undefined]);
    writeFileSync(pidFile, `${agent.pid}\n`);
    expect(statusOf().stdout).toMatch(/^last heartbeat: {2}no heartbeat yet$/m);
  });

  it("with no agent running, shows the last run's heartbeat as that run's", () => {
    writeFileSync(runLog, [started(previousPid - 1, 3 * HOUR, "es"), heartbeat(2 * HOUR, 111), started(previousPid, 2 * HOUR, "linux"), heartbeat(HOUR, 333)].join("\n") + "\n");
    writeFileSync(pidFile, `${previousPid}\n`);
    const r = statusOf();
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/^last heartbeat: {2}\S+ \(\d+ min ago\): events 333,/m);
    expect(r.stdout).toContain(`(of the last run, pid ${previousPid}, which has stopped)`);
    expect(readOpsSummary(runLog).run).toEqual({ pid: previousPid, started: iso(2 * HOUR) });
  });

  it("shows which opens the running agent holds (its latest file guards record) and the block rules that cannot hold theirs", () => {
    const guards = (ago: number, marks: unknown[], unguarded: string[]) =>
      record({ "@timestamp": iso(ago), message: "file guards", macsensor: { guards: { active: true, configured: ["/srv/x"], marks, unguarded } } });
    writeFileSync(
      runLog,
      [
        started(previousPid, 2 * HOUR, "linux"),
        guards(2 * HOUR, [{ kind: "dir", path: "/old", rules: ["r0 (old)"] }], []),
        started(agent.pid!, 5_000, "linux"),
        guards(4_000, [{ kind: "dir", path: "/old", rules: ["r0 (old)"] }], []),
        // After a reload: the newest record is the one in force.
        guards(2_000, [{ kind: "dir", path: "/etc", rules: ["r1 (shadow)", "r2 (gshadow)"] }, { kind: "filesystem", path: "/home", rules: ["r3 (keys)"] }], ["r4"]),
      ].join("\n") + "\n",
    );
    writeFileSync(pidFile, `${agent.pid}\n`);
    const r = statusOf();
    expect(r.stdout).toContain("held opens:      /srv/x (auth.guard_paths), files in /etc (2 block rules), filesystem /home (1 block rule)\n");
    expect(r.stdout).toContain("warning: 1 block rule(s) cannot hold the opens they match (they alert, the opens go ahead): r4\n");
    expect(JSON.parse(statusOf("--json").stdout).guards).toMatchObject({ configured: ["/srv/x"], unguarded: ["r4"], marks: [{ path: "/etc" }, { path: "/home" }] });
  });
});
