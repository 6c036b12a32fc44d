import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, type LoadConfigOptions } from "../../src/config/index.js";
import { trustedTempDir } from "./trustedTemp.js";
import { DEFAULT_TTY_MESSAGE } from "../../src/response/ttyNotice.js";

const fixtures = new URL("../fixtures/config/", import.meta.url).pathname;
const dir = trustedTempDir("load-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function toml(text: string): string {
  const file = join(dir, `c${n++}.toml`);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

const linux: LoadConfigOptions = { platform: "linux", managedFile: null, env: {} };

function problemsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("uses documented defaults when no file exists", () => {
    const r = loadConfig({ ...linux, configFile: undefined, env: { MACSENSOR_CONFIG: "" } });
    expect(r.sources).toEqual([{ kind: "file", path: "/etc/macsensor/config.toml", found: false }]);
    expect(r.config).toEqual({
      rules: { paths: ["/etc/macsensor/rules"], eventBudgetMs: 20 },
      actions: {},
      auth: { failMode: "open", guardPaths: [], deadlineMarginMs: 10, minRuleMs: 5 },
      mute: { executables: [] },
      capture: { envVars: ["DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH", "LD_PRELOAD"] },
      alerts: { path: "/var/log/macsensor/alerts.ndjson", maxBytes: 52428800, maxFiles: 10, spoolMaxBytes: 8 * 1024 * 1024, spoolMaxAlerts: 10_000 },
      log: { path: "/var/log/macsensor/macsensor.log" },
      heartbeat: { intervalSeconds: 60 },
      sequences: { maxPendingBytes: 32 * 1024 * 1024 },
      backend: "auto",
      eslogger: { blockFallback: "kill" },
      development: { relaxPermissions: false },
      notify: { ttyMessage: DEFAULT_TTY_MESSAGE },
    });
    expect(Object.values(r.settings).every((s) => s.source === "default")).toBe(true);
  });

  it("uses macOS paths on darwin, including the managed preferences path", () => {
    const r = loadConfig({ platform: "darwin", env: {}, configFile: undefined });
    expect(r.config.alerts.path).toBe("/Library/Logs/macsensor/alerts.ndjson");
    expect(r.config.rules.paths).toEqual(["/Library/Application Support/macsensor/rules"]);
    expect(r.sources.map((s) => [s.kind, s.path, s.found])).toEqual([
      ["file", "/Library/Application Support/macsensor/config.toml", false],
      ["managed", "/Library/Managed Preferences/com.macsensor.agent.plist", false],
    ]);
  });

  it("reads the file, resolves relative rule paths against its folder and records where each value came from", () => {
    const file = join(dir, "site.toml");
    copyFileSync(join(fixtures, "config.toml"), file);
    const r = loadConfig({ ...linux, configFile: file });
    expect(r.warnings).toEqual([]);
    expect(r.config.rules.paths).toEqual([join(dir, "rules"), "/opt/site/rules"]);
    expect(r.config.alerts).toMatchObject({ path: "/var/log/site/alerts.ndjson", maxBytes: 10_000_000, maxFiles: 5 });
    expect(r.config.heartbeat.intervalSeconds).toBe(120);
    expect(r.config.actions).toEqual({
      "7b1e0c52-3d0f-4f43-9a57-2f0a3c9e4d11": "report",
      "5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22": "kill",
    });
    expect(r.settings["alerts.max_files"]).toEqual({ value: 5, source: "file", location: `${file}:18:1` });
    expect(r.settings["heartbeat.interval_seconds"].location).toBe(`${file}:3:1`);
    expect(r.settings["actions.5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22"].location).toBe(`${file}:10:1`);
    expect(r.settings["auth.fail_mode"]).toEqual({ value: "open", source: "file", location: `${file}:13:1` });
    expect(r.settings["eslogger.block_fallback"]).toEqual({ value: "kill", source: "default" });
  });

  for (const managed of ["managed.plist", "managed.binary.plist"]) {
    it(`lets managed preferences (${managed}) override the file, key by key and rule by rule`, () => {
      const file = join(dir, "site2.toml");
      copyFileSync(join(fixtures, "config.toml"), file);
      const managedFile = join(dir, managed);
      copyFileSync(join(fixtures, managed), managedFile);
      const r = loadConfig({ ...linux, configFile: file, managedFile });
      expect(r.sources[1]).toEqual({
        kind: "managed",
        path: managedFile,
        found: true,
        format: managed.includes("binary") ? "binary plist" : "xml plist",
      });
      // managed wins
      expect(r.config.auth.failMode).toBe("closed");
      expect(r.settings["auth.fail_mode"]).toEqual({ value: "closed", source: "managed", location: managedFile });
      expect(r.config.alerts.maxFiles).toBe(20);
      expect(r.config.heartbeat.intervalSeconds).toBe(30);
      expect(r.config.rules.paths).toEqual([
        "/Library/Application Support/macsensor/rules",
        "/Library/Application Support/macsensor/site-rules",
      ]);
      // the file still holds what managed does not set
      expect(r.config.alerts.maxBytes).toBe(10_000_000);
      expect(r.settings["alerts.max_bytes"].source).toBe("file");
      // actions merge per rule_id: managed changes one, adds one, the file's other stays
      expect(r.config.actions).toEqual({
        "7b1e0c52-3d0f-4f43-9a57-2f0a3c9e4d11": "block",
        "5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22": "kill",
        "c0ffee00-0000-4000-8000-000000000001": "kill",
      });
      expect(r.settings["actions.7b1e0c52-3d0f-4f43-9a57-2f0a3c9e4d11"].source).toBe("managed");
      expect(r.settings["actions.5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22"].source).toBe("file");
      expect(r.config.mute.executables).toEqual(["/usr/libexec/xpcproxy"]);
    });
  }

  it("reports every bad value at once, each with file:line:column and the key", () => {
    const file = join(dir, "bad.toml");
    copyFileSync(join(fixtures, "bad.toml"), file);
    const e = problemsOf(() => loadConfig({ ...linux, configFile: file }));
    expect(e.problems.map((p) => `${p.location.replace(file, "F")} ${p.key}: ${p.message}`)).toEqual([
      `F:1:1 backend: expected one of "auto", "es", "eslogger", "linux", got "kernel"`,
      `F:4:1 auth.fail_mode: expected one of "open", "closed", got "shut"`,
      `F:7:1 alerts.max_files: expected 1..1000, got 0`,
      `F:8:1 alerts.max_bytes: expected a size such as 52428800 or "50 MB", got "lots"`,
      `F:11:17 rules.paths[1]: expected a path, got 42`,
      `F:14:1 actions.a1: expected one of "report", "block", "kill", got "quarantine"`,
      `F:15:1 actions.inline: expected one of "report", "block", "kill", got a table`,
      `F:18:16 mute.executables[0]: expected an absolute path, got "relative/path"`,
    ]);
    expect(e.message).toContain(`${file}:4:1: auth.fail_mode: expected one of "open", "closed", got "shut"`);
  });

  it("warns about unknown keys with a suggestion, and does not fail on them", () => {
    const file = toml(`[heartbeat]\nintervall_seconds = 10\n\n[capture]\nenv = []\nheartbeat.interval_seconds = 5\n\n[nonsense]\nx = 1\n`);
    const r = loadConfig({ ...linux, configFile: file });
    expect(r.warnings).toEqual([
      `${file}:2:1: unknown key heartbeat.intervall_seconds (did you mean heartbeat.interval_seconds?); ignored`,
      `${file}:5:1: unknown key capture.env (did you mean capture.env_vars?); ignored`,
      `${file}:6:1: unknown key capture.heartbeat; ignored`,
      `${file}:8:1: unknown key nonsense; ignored`,
    ]);
    expect(r.config.heartbeat.intervalSeconds).toBe(60);
  });

  it("names the file, line and column of a TOML syntax error", () => {
    const file = toml(`[alerts]\nmax_files = 5\nmax_bytes = = 3\n`);
    const e = problemsOf(() => loadConfig({ ...linux, configFile: file }));
    expect(e.message).toMatch(/^invalid TOML in the configuration file:/);
    expect(e.problems[0].location).toBe(`${file}:3:13`);
  });

  it("rejects a table where a value belongs and a value where a table belongs", () => {
    const file = toml(`alerts = 3\n[auth.fail_mode]\nx = 1\n`);
    const e = problemsOf(() => loadConfig({ ...linux, configFile: file }));
    expect(e.problems.map((p) => [p.key, p.message])).toEqual([
      ["alerts", "expected a table (alerts.…), got a value"],
      ["auth.fail_mode", `expected one of "open", "closed", got a table`],
    ]);
  });

  it("checks sizes, ranges and names", () => {
    const bad = (line: string): string => problemsOf(() => loadConfig({ ...linux, configFile: toml(line) })).problems[0].message;
    expect(bad(`alerts.max_bytes = 1000`)).toBe("expected 65536 bytes..1099511627776 bytes, got 1000");
    expect(bad(`alerts.max_files = 2.5`)).toBe("expected a whole number, got 2.5");
    expect(bad(`heartbeat.interval_seconds = 0`)).toBe("expected 1 s..86400 s, got 0");
    expect(bad(`rules.event_budget_ms = 0`)).toBe("expected 1 ms..10000 ms, got 0");
    expect(bad(`auth.deadline_margin_ms = 0`)).toBe("expected 1 ms..1000 ms, got 0");
    expect(bad(`auth.min_rule_ms = 2000`)).toBe("expected 0 ms..1000 ms, got 2000");
    expect(bad(`sequences.max_pending_bytes = "1 kB"`)).toBe("expected 1048576 bytes..68719476736 bytes, got 1000");
    expect(bad(`capture.env_vars = ["A B"]`)).toBe(`expected an environment variable name such as "DYLD_INSERT_LIBRARIES", got "A B"`);
    expect(bad(`development.relax_permissions = "yes"`)).toBe(`expected true or false, got "yes"`);
    expect(bad(`eslogger.block_fallback = "block"`)).toBe(`expected one of "kill", "report", got "block"`);
    expect(bad(`rules.paths = "/one"`)).toBe(`expected an array of paths, got "/one"`);
    expect(bad(`alerts.spool_max_alerts = 0`)).toBe("expected 1..1000000, got 0");
    expect(bad(`alerts.spool_max_bytes = "1 KB"`)).toBe("expected 65536 bytes..1073741824 bytes, got 1000");
    const ok = loadConfig({ ...linux, configFile: toml(`alerts.max_bytes = "64 MiB"\nalerts.spool_max_bytes = "16 MiB"\nbackend = "eslogger"`) });
    expect(ok.config.alerts.maxBytes).toBe(64 * 1024 * 1024);
    expect(ok.config.alerts.spoolMaxBytes).toBe(16 * 1024 * 1024);
    expect(loadConfig({ ...linux, configFile: toml(`sequences.max_pending_bytes = "8 MiB"`) }).config.sequences.maxPendingBytes).toBe(8 * 1024 * 1024);
    expect(ok.config.backend).toBe("eslogger");
  });

  it("requires absolute paths in managed preferences (they have no folder to be relative to)", () => {
    const managedFile = join(dir, "rel.plist");
    writeFileSync(
      managedFile,
      `<?xml version="1.0"?><plist version="1.0"><dict><key>PayloadUUID</key><string>x</string>` +
        `<key>alerts</key><dict><key>path</key><string>logs/a.ndjson</string></dict><key>bogus</key><true/></dict></plist>`,
    );
    const e = problemsOf(() => loadConfig({ ...linux, configFile: toml(""), managedFile }));
    expect(e.problems).toEqual([{ key: "alerts.path", location: managedFile, message: `expected an absolute path, got "logs/a.ndjson"` }]);
  });

  it("warns about unknown managed keys but ignores the profile's Payload bookkeeping", () => {
    const managedFile = join(dir, "unknown.plist");
    writeFileSync(
      managedFile,
      `<plist version="1.0"><dict><key>PayloadUUID</key><string>x</string><key>bakend</key><string>es</string></dict></plist>`,
    );
    const r = loadConfig({ ...linux, configFile: toml(""), managedFile });
    expect(r.warnings).toEqual([`${managedFile}: unknown key bakend (did you mean backend?); ignored`]);
  });

  it("says which file is missing when one is named explicitly, and reports an unreadable plist", () => {
    const e = problemsOf(() => loadConfig({ ...linux, configFile: join(dir, "none.toml") }));
    expect(e.message).toContain(`${join(dir, "none.toml")}: cannot read the configuration file: no such file`);
    const garbage = join(dir, "garbage.plist");
    writeFileSync(garbage, "bplist00 not really");
    const g = problemsOf(() => loadConfig({ ...linux, configFile: toml(""), managedFile: garbage }));
    expect(g.message).toMatch(/unreadable managed preferences/);
    expect(g.message).toContain(`${garbage} (byte 0): binary plist: too short`);
  });

  it("takes the file from MACSENSOR_CONFIG", () => {
    const file = toml(`backend = "linux"`);
    expect(loadConfig({ platform: "linux", managedFile: null, env: { MACSENSOR_CONFIG: file } }).config.backend).toBe("linux");
  });

  describe("--managed given a configuration profile (.mobileconfig)", () => {
    const profile = (payloads: string): string => {
      const path = join(dir, `profile-${Math.random().toString(36).slice(2)}.mobileconfig`);
      writeFileSync(
        path,
        `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
          <key>PayloadType</key><string>Configuration</string>
          <key>PayloadContent</key><array>${payloads}</array></dict></plist>`,
      );
      return path;
    };
    const mcx = (settings: string): string =>
      `<dict><key>PayloadType</key><string>com.apple.ManagedClient.preferences</string>
        <key>PayloadContent</key><dict><key>com.macsensor.agent</key><dict><key>Forced</key><array>
        <dict><key>mcx_preference_settings</key><dict>${settings}</dict></dict></array></dict></dict></dict>`;

    it("warns that it is a profile and reads the settings the profile installs", () => {
      const managedFile = profile(mcx(`<key>auth</key><dict><key>fail_mode</key><string>closed</string></dict>`));
      const r = loadConfig({ ...linux, managedFile });
      expect(r.config.auth.failMode).toBe("closed");
      expect(r.settings["auth.fail_mode"]).toEqual({ value: "closed", source: "managed", location: managedFile });
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toContain(`${managedFile}: a configuration profile, not managed preferences`);
      expect(r.warnings[0]).toContain("PayloadContent[0] com.apple.ManagedClient.preferences (Forced)");
      expect(r.warnings[0]).toContain("/Library/Managed Preferences/com.macsensor.agent.plist");
    });

    it("reads a payload typed with the preference domain itself, and merges payloads in order", () => {
      const managedFile = profile(
        mcx(`<key>heartbeat</key><dict><key>interval_seconds</key><integer>30</integer></dict>`) +
          `<dict><key>PayloadType</key><string>com.macsensor.agent</string><key>PayloadUUID</key><string>x</string>
            <key>backend</key><string>es</string></dict>`,
      );
      const r = loadConfig({ ...linux, managedFile });
      expect(r.config.heartbeat.intervalSeconds).toBe(30);
      expect(r.config.backend).toBe("es");
      expect(r.warnings[0]).toContain("PayloadContent[1] com.macsensor.agent");
    });

    it("says a profile without our domain manages nothing", () => {
      const managedFile = profile(`<dict><key>PayloadType</key><string>com.apple.TCC.configuration-profile-policy</string></dict>`);
      const r = loadConfig({ ...linux, managedFile });
      expect(r.settings["auth.fail_mode"].source).toBe("default");
      expect(r.warnings).toEqual([`${managedFile}: a configuration profile with no settings for com.macsensor.agent (no com.apple.ManagedClient.preferences payload for it): nothing managed`]);
    });

    it("the shipped example profile previews as managed settings", () => {
      const r = loadConfig({ ...linux, managedFile: new URL("../../launchd/profiles/macsensor-managed-preferences.mobileconfig", import.meta.url).pathname });
      expect(r.settings["heartbeat.interval_seconds"].source).toBe("managed");
    });
  });

  it("notify.tty_message: one line of text, or empty for none", () => {
    expect(loadConfig({ ...linux, configFile: toml(`[notify]\ntty_message = "Blocked: {what}. Ask it@example.com"`) }).config.notify.ttyMessage).toBe("Blocked: {what}. Ask it@example.com");
    expect(loadConfig({ ...linux, configFile: toml(`[notify]\ntty_message = ""`) }).config.notify.ttyMessage).toBe("");
    const e = problemsOf(() => loadConfig({ ...linux, configFile: toml(`[notify]\ntty_message = "two\\nlines"`) }));
    expect(e.problems.map((p) => [p.key, p.message])).toEqual([["notify.tty_message", expect.stringContaining("one line of text")]]);
  });
});
