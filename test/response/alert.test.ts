import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import type { RuleMetadata } from "../../src/rules/ruleMetadata.js";
import { alertId, alertMessage, buildAlert, SEVERITY_SCORES } from "../../src/response/alert.js";
import { threatFields } from "../../src/response/threat.js";

const rule: RuleMetadata = {
  ruleId: "5d2a8f1e-3c47-4b8e-9a61-0f2e7c4d9b13",
  name: "Dumping of Keychain Content via Security Command",
  description: "The security command was asked to print the keychain's secrets in clear text.",
  severity: "high",
  riskScore: 73,
  version: 3,
  license: "Apache-2.0",
  author: ["macsensor"],
  references: ["https://ss64.com/mac/security.html"],
  tags: ["OS: macOS", "Tactic: Credential Access"],
  threat: [
    {
      framework: "MITRE ATT&CK",
      tactic: { id: "TA0006", name: "Credential Access", reference: "https://attack.mitre.org/tactics/TA0006/" },
      technique: [
        {
          id: "T1555",
          name: "Credentials from Password Stores",
          reference: "https://attack.mitre.org/techniques/T1555/",
          subtechnique: [{ id: "T1555.001", name: "Keychain", reference: "https://attack.mitre.org/techniques/T1555/001/" }],
        },
      ],
    },
  ],
  file: "rules/macos/keychain_dump_via_security.toml",
  ruleset: "macsensor",
};

function execEvent(overrides: Partial<Record<string, unknown>> = {}): EcsEvent {
  return {
    "@timestamp": "2026-11-26T09:15:02.123Z",
    ecs: { version: "8.17.0" },
    event: {
      kind: "event",
      category: ["process"],
      type: ["start"],
      action: "exec",
      id: "b7c1e0a2-0001",
      module: "macsensor",
      dataset: "macsensor.process",
    },
    host: { id: "8C1F3E2A-6B0D-4F4E-9D7C-2A1B3C4D5E6F", name: "ann-mbp", os: { type: "macos", name: "macOS", version: "15.1" } },
    process: {
      pid: 812,
      entity_id: "ZmFrZS1lbnRpdHktODEy",
      name: "security",
      executable: "/usr/bin/security",
      args: ["/usr/bin/security", "dump-keychain", "-d"],
      args_count: 3,
      command_line: "/usr/bin/security dump-keychain -d",
      parent: { pid: 640, name: "zsh" },
      code_signature: { signing_id: "com.apple.security", team_id: "" },
    },
    user: { id: "501", name: "ann" },
    agent: { id: "from-mapper", type: "endpoint" },
    ...overrides,
  };
}

const NOW = new Date("2026-11-26T09:15:02.200Z");

describe("buildAlert", () => {
  it("builds the documented alert for a reported exec (full document pinned)", () => {
    const alert = buildAlert({
      rule,
      event: execEvent(),
      response: { action: "report", result: "success" },
      agent: { id: "agent-1", version: "0.1.0", name: "ann-mbp" },
      now: NOW,
    });
    expect(alert).toEqual({
      "@timestamp": "2026-11-26T09:15:02.200Z",
      ecs: { version: "8.17.0" },
      data_stream: { type: "logs", dataset: "macsensor.alerts", namespace: "default" },
      host: { id: "8C1F3E2A-6B0D-4F4E-9D7C-2A1B3C4D5E6F", name: "ann-mbp", os: { type: "macos", name: "macOS", version: "15.1" } },
      process: {
        pid: 812,
        entity_id: "ZmFrZS1lbnRpdHktODEy",
        name: "security",
        executable: "/usr/bin/security",
        args: ["/usr/bin/security", "dump-keychain", "-d"],
        args_count: 3,
        command_line: "/usr/bin/security dump-keychain -d",
        parent: { pid: 640, name: "zsh" },
        code_signature: { signing_id: "com.apple.security", team_id: "" },
      },
      user: { id: "501", name: "ann" },
      agent: { id: "agent-1", version: "0.1.0", type: "endpoint", name: "ann-mbp" },
      message: "Dumping of Keychain Content via Security Command: /usr/bin/security dump-keychain -d (pid 812, user ann)",
      event: {
        kind: "alert",
        code: "behavior",
        category: ["process", "intrusion_detection"],
        type: ["info", "allowed"],
        action: "rule_detection",
        outcome: "success",
        module: "macsensor",
        dataset: "macsensor.alerts",
        severity: 73,
        risk_score: 73,
        id: alertId(rule.ruleId, [execEvent()]),
        start: "2026-11-26T09:15:02.123Z",
        end: "2026-11-26T09:15:02.123Z",
      },
      rule: {
        id: "5d2a8f1e-3c47-4b8e-9a61-0f2e7c4d9b13",
        name: "Dumping of Keychain Content via Security Command",
        description: "The security command was asked to print the keychain's secrets in clear text.",
        version: "3",
        license: "Apache-2.0",
        author: ["macsensor"],
        reference: ["https://ss64.com/mac/security.html"],
        ruleset: "macsensor",
      },
      threat: {
        framework: "MITRE ATT&CK",
        tactic: { id: ["TA0006"], name: ["Credential Access"], reference: ["https://attack.mitre.org/tactics/TA0006/"] },
        technique: {
          id: ["T1555"],
          name: ["Credentials from Password Stores"],
          reference: ["https://attack.mitre.org/techniques/T1555/"],
          subtechnique: { id: ["T1555.001"], name: ["Keychain"], reference: ["https://attack.mitre.org/techniques/T1555/001/"] },
        },
      },
      macsensor: {
        original_event: {
          kind: "event",
          category: ["process"],
          type: ["start"],
          action: "exec",
          id: "b7c1e0a2-0001",
          module: "macsensor",
          dataset: "macsensor.process",
        },
        response: { action: "report", result: "success" },
      },
    });
  });

  it("does not change the event it was built from", () => {
    const event = execEvent();
    const before = structuredClone(event);
    buildAlert({ rule, event, response: { action: "block", result: "success" }, now: NOW });
    expect(event).toEqual(before);
  });

  it("marks a successful block as denied/success and keeps the reason", () => {
    const alert = buildAlert({ rule, event: execEvent(), response: { action: "block", result: "success", reason: "AUTH_EXEC denied" }, now: NOW });
    const event = alert.event as Record<string, unknown>;
    expect(event.type).toEqual(["info", "denied"]);
    expect(event.outcome).toBe("success");
    expect((alert.macsensor as Record<string, unknown>).response).toEqual({ action: "block", result: "success", reason: "AUTH_EXEC denied" });
  });

  it("marks a failed kill as denied/failure, and a block that could not apply as allowed/success", () => {
    const failed = buildAlert({ rule, event: execEvent(), response: { action: "kill", result: "failure", reason: "ESRCH" }, now: NOW });
    expect(failed.event).toMatchObject({ type: ["info", "denied"], outcome: "failure" });
    const notApplicable = buildAlert({ rule, event: execEvent(), response: { action: "block", result: "not_applicable", reason: "replay" }, now: NOW });
    expect(notApplicable.event).toMatchObject({ type: ["info", "allowed"], outcome: "success" });
  });

  it.each([
    ["low", 21],
    ["medium", 47],
    ["high", 73],
    ["critical", 99],
  ] as const)("maps severity %s to event.severity %d", (severity, score) => {
    expect(SEVERITY_SCORES[severity]).toBe(score);
    const alert = buildAlert({ rule: { ...rule, severity, riskScore: 12.5 }, event: execEvent(), response: { action: "report", result: "success" }, now: NOW });
    expect(alert.event).toMatchObject({ severity: score, risk_score: 12.5 });
  });

  it("keeps the sequence's events under macsensor.sequence.events and takes the fields of the last one", () => {
    const first = execEvent({ "@timestamp": "2026-11-26T09:15:00.000Z", event: { kind: "event", category: ["process"], type: ["start"], id: "e-1" }, process: { pid: 700, name: "curl", args: ["curl", "-o", "/tmp/x", "https://x.invalid"] } });
    const last = execEvent({ event: { kind: "event", category: ["process"], type: ["start"], id: "e-2" } });
    const alert = buildAlert({ rule, event: last, sequenceEvents: [first, last], response: { action: "report", result: "success" }, now: NOW });
    expect((alert.process as Record<string, unknown>).pid).toBe(812);
    expect((alert.macsensor as Record<string, unknown>).sequence).toEqual({ events: [first, last] });
    expect(alert.event).toMatchObject({ start: "2026-11-26T09:15:00.000Z", end: "2026-11-26T09:15:02.123Z", id: alertId(rule.ruleId, [first, last]) });
    expect(alertId(rule.ruleId, [first, last])).not.toBe(alertId(rule.ruleId, [last]));
  });

  it("keeps the event's own macsensor fields (raw bytes) beside the response", () => {
    const rawBytes = [{ field: "process.args", index: 2, base64: "/w==" }];
    const alert = buildAlert({ rule, event: execEvent({ macsensor: { raw_bytes: rawBytes } }), response: { action: "report", result: "success" }, now: NOW });
    expect(alert.macsensor).toMatchObject({ raw_bytes: rawBytes, response: { action: "report", result: "success" } });
  });

  it("sets ecs.version when the event has none", () => {
    const { ecs: _ecs, ...withoutEcs } = execEvent();
    const alert = buildAlert({ rule, event: withoutEcs, response: { action: "report", result: "success" }, now: NOW });
    expect(alert.ecs).toEqual({ version: "8.17.0" });
  });

  it("names the alerts data stream on every alert, live or replayed, keeping the event's namespace", () => {
    const report = { action: "report", result: "success" } as const;
    const live = buildAlert({ rule, event: execEvent({ data_stream: { type: "logs", dataset: "endpoint.events.process", namespace: "fleet-a" } }), response: report, now: NOW });
    expect(live.data_stream).toEqual({ type: "logs", dataset: "macsensor.alerts", namespace: "fleet-a" });
    const { data_stream: _ds, ...replayed } = execEvent();
    expect(buildAlert({ rule, event: replayed, response: report, now: NOW }).data_stream).toEqual({ type: "logs", dataset: "macsensor.alerts", namespace: "default" });
  });
});

describe("alertId", () => {
  it("is the same for the same rule and events, a version-8 UUID, and random without event ids", () => {
    const id = alertId("r1", [execEvent()]);
    expect(id).toBe(alertId("r1", [execEvent()]));
    expect(id).not.toBe(alertId("r2", [execEvent()]));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const noId = execEvent({ event: { kind: "event" } });
    expect(alertId("r1", [noId])).not.toBe(alertId("r1", [noId]));
  });
});

describe("alertMessage", () => {
  it("uses the arguments when there is no command line, and uid when there is no user name", () => {
    const event = execEvent({ process: { pid: 9, args: ["security", "dump-keychain", "-d"] }, user: { id: "0" } });
    expect(alertMessage(rule, event)).toBe("Dumping of Keychain Content via Security Command: security dump-keychain -d (pid 9, uid 0)");
  });

  it("stays one line whatever the arguments hold", () => {
    const odd = ["security", "dump-keychain\n-d", "a\u0000b", "\u001b[31mred\u001b[0m", "\u202eevil", "lone\ud800", "x\u2028y\u0085z"];
    const message = alertMessage(rule, execEvent({ process: { pid: 812, args: odd, command_line: odd.join(" ") } }));
    expect(message).toBe(
      "Dumping of Keychain Content via Security Command: security dump-keychain\\n-d a\\x00b \\x1b[31mred\\x1b[0m \\u202eevil lone\ufffd x\\u2028y\\x85z (pid 812, user ann)",
    );
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  it("a file event: the action and the file, then the process", () => {
    const event = execEvent({ event: { kind: "event", category: ["file"], action: "open" }, file: { path: "/Users/ann/Library/Keychains/login.keychain-db" }, process: { pid: 4, command_line: "./stealer -q" } });
    expect(alertMessage(rule, event)).toBe("Dumping of Keychain Content via Security Command: open /Users/ann/Library/Keychains/login.keychain-db by ./stealer -q (pid 4, user ann)");
  });

  it("decodes raw bytes in arguments with U+FFFD", () => {
    const event = execEvent({ process: { pid: 1, args: ["cat", new Uint8Array([0x66, 0xff, 0x6f])] } });
    expect(alertMessage(rule, event)).toBe("Dumping of Keychain Content via Security Command: cat f\ufffdo (pid 1, user ann)");
  });

  it("cuts a very long command line and says so", () => {
    const message = alertMessage(rule, execEvent({ process: { pid: 1, command_line: `security ${"A".repeat(5000)}` } }));
    expect(message.length).toBeLessThan(1400);
    expect(message).toContain("A…");
    expect(message.endsWith("(pid 1, user ann)")).toBe(true);
  });

  it("is the rule name alone when the event has no process", () => {
    expect(alertMessage(rule, { user: {} })).toBe(rule.name);
  });
});

describe("threatFields", () => {
  it("gives parallel ECS arrays, each id once, and fills missing MITRE references", () => {
    const threat = threatFields([
      { framework: "MITRE ATT&CK", tactic: { id: "TA0006", name: "Credential Access" }, technique: [{ id: "T1555", name: "Credentials from Password Stores", subtechnique: [{ id: "T1555.001", name: "Keychain" }] }] },
      { framework: "MITRE ATT&CK", tactic: { id: "TA0006", name: "Credential Access" }, technique: [{ id: "T1552", name: "Unsecured Credentials", subtechnique: [] }] },
      { framework: "MITRE ATT&CK", tactic: { id: "TA0009", name: "Collection" }, technique: [] },
    ]);
    expect(threat).toEqual({
      framework: "MITRE ATT&CK",
      tactic: {
        id: ["TA0006", "TA0009"],
        name: ["Credential Access", "Collection"],
        reference: ["https://attack.mitre.org/tactics/TA0006/", "https://attack.mitre.org/tactics/TA0009/"],
      },
      technique: {
        id: ["T1555", "T1552"],
        name: ["Credentials from Password Stores", "Unsecured Credentials"],
        reference: ["https://attack.mitre.org/techniques/T1555/", "https://attack.mitre.org/techniques/T1552/"],
        subtechnique: { id: ["T1555.001"], name: ["Keychain"], reference: ["https://attack.mitre.org/techniques/T1555/001/"] },
      },
    });
  });

  it("is absent for a rule without threat, and has no technique part when the rule names none", () => {
    expect(threatFields([])).toBeUndefined();
    expect(threatFields([{ framework: "Other", tactic: { id: "X1", name: "x" }, technique: [] }])).toEqual({
      framework: "Other",
      tactic: { id: ["X1"], name: ["x"], reference: [""] },
    });
  });

  it("omits threat from an alert whose rule has none", () => {
    const alert = buildAlert({ rule: { ...rule, threat: [] }, event: execEvent(), response: { action: "report", result: "success" }, now: NOW });
    expect(alert).not.toHaveProperty("threat");
  });
});

describe("an alert always keeps its rule and process, through the alert log", () => {
  async function written(alert: EcsEvent): Promise<Record<string, any>> {
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createAlertLog } = await import("../../src/output/alertLog.js");
    const dir = mkdtempSync(join(tmpdir(), "macsensor-alert-"));
    try {
      const log = createAlertLog({ file: join(dir, "alerts.ndjson") });
      log.write(alert);
      await log.close();
      const lines = readFileSync(join(dir, "alerts.ndjson"), "utf8").split("\n").filter((l) => l !== "");
      expect(lines).toHaveLength(1);
      return JSON.parse(lines[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("an event with a field nested 100,000 levels deep: rule.* and process.* whole, the depth cut and noted", async () => {
    let deep: Record<string, unknown> = { bottom: true };
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const event = execEvent({ labels: { nested: deep } });
    const doc = await written(buildAlert({ rule, event, response: { action: "report", result: "success" } }));
    expect(doc.event.kind).toBe("alert");
    expect(doc.rule).toMatchObject({ id: rule.ruleId, name: rule.name });
    expect(doc.process).toEqual(JSON.parse(JSON.stringify(event.process)));
    const path = ["labels", "nested", ...Array.from({ length: 98 }, () => "a")];
    expect(doc.macsensor.cut).toEqual([{ field: path.join("."), reason: "nested deeper than 100 levels" }]);
    let at: any = doc;
    for (const key of path) at = at[key];
    expect(at).toBe("[cut: nested deeper than 100 levels]");
  });

  it("10,000 arguments and a 1 MB command line are written whole, with nothing cut", async () => {
    const args = ["/bin/sh", ...Array.from({ length: 10_000 }, (_, i) => `arg-${i}`)];
    const commandLine = "x".repeat(1024 * 1024);
    const event = execEvent();
    event.process = { ...(event.process as object), args, command_line: commandLine };
    const doc = await written(buildAlert({ rule, event, response: { action: "report", result: "success" } }));
    expect(doc.process.args).toEqual(args);
    expect(doc.process.command_line).toBe(commandLine);
    expect(doc.macsensor.cut).toBeUndefined();
  });

  it("a record too large to write keeps rule.* and the small process fields; the biggest values are cut and noted", async () => {
    // 96 MiB of arguments: more than any exec can carry, more than a record may hold (64 Mi characters).
    const huge = Array.from({ length: 96 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(1024 * 1024));
    const event = execEvent();
    event.process = { ...(event.process as object), args: huge };
    const doc = await written(buildAlert({ rule, event, response: { action: "report", result: "success" } }));
    expect(doc.rule).toMatchObject({ id: rule.ruleId, name: rule.name, description: rule.description });
    expect(doc.event).toMatchObject({ kind: "alert", severity: 73 });
    expect(doc.process).toMatchObject({ pid: (event.process as any).pid, name: (event.process as any).name, executable: (event.process as any).executable });
    expect(doc.process.args).toHaveLength(96);
    for (let i = 0; i < 96; i++) expect(huge[i].startsWith(doc.process.args[i])).toBe(true);
    const kept = doc.process.args.reduce((n: number, a: string) => n + a.length, 0);
    expect(kept).toBeGreaterThan(60 * 1024 * 1024);
    expect(kept).toBeLessThan(64 * 1024 * 1024);
    expect(doc.macsensor.cut).toHaveLength(96);
    expect(doc.macsensor.cut[0]).toEqual({ field: "process.args.0", reason: expect.stringMatching(/^cut to \d+ of 1048576 characters: the record exceeded 67108864 characters$/) });
  }, 60_000);
});
