// Alert log throughput: realistic alerts (buildAlert over exec events, some with raw bytes) written through the
// rotating winston transport at 1 MB per file, then flushed; plus the serializer alone and the stdout-style sink.
// Prints one JSON object: alerts/s, MB/s, RSS before/peak/after, and its targets.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createAlertLog } from "../dist/output/alertLog.js";
import { toNdjsonLine } from "../dist/output/ndjson.js";
import { createStreamAlertSink } from "../dist/output/streamSink.js";
import { buildAlert } from "../dist/response/alert.js";

const TOTAL = 200_000;
const rule = {
  ruleId: "5d2a8f1e-3c47-4b8e-9a61-0f2e7c4d9b13",
  name: "Dumping of Keychain Content via Security Command",
  description: "The security command was asked to print the keychain's secrets in clear text.",
  severity: "high",
  riskScore: 73,
  version: 3,
  license: "Apache-2.0",
  author: ["macsensor"],
  references: ["https://ss64.com/mac/security.html"],
  tags: [],
  threat: [
    {
      framework: "MITRE ATT&CK",
      tactic: { id: "TA0006", name: "Credential Access" },
      technique: [{ id: "T1555", name: "Credentials from Password Stores", subtechnique: [{ id: "T1555.001", name: "Keychain" }] }],
    },
  ],
  file: "rules/macos/keychain_dump_via_security.toml",
  ruleset: "macsensor",
};

function event(i) {
  const args = ["/usr/bin/security", "dump-keychain", "-d", `/Users/u${i % 50}/Library/Keychains/login.keychain-db`];
  const doc = {
    "@timestamp": new Date(1_764_000_000_000 + i).toISOString(),
    ecs: { version: "8.17.0" },
    event: { kind: "event", category: ["process"], type: ["start"], action: "exec", id: `evt-${i}`, module: "macsensor", dataset: "macsensor.process" },
    host: { id: "8C1F3E2A-6B0D-4F4E-9D7C-2A1B3C4D5E6F", name: "ann-mbp", os: { type: "macos", name: "macOS", version: "15.1", kernel: "24.1.0" }, architecture: "arm64" },
    process: {
      pid: 800 + (i % 1000),
      entity_id: `ent-${i}`,
      name: "security",
      executable: "/usr/bin/security",
      args,
      args_count: args.length,
      command_line: args.join(" "),
      working_directory: "/Users/ann",
      parent: { pid: 640, entity_id: "ent-parent", name: "zsh", executable: "/bin/zsh", command_line: "-zsh" },
      code_signature: { exists: true, trusted: true, signing_id: "com.apple.security", team_id: "", subject_name: "Software Signing" },
      Ext: { ancestry: ["ent-parent", "ent-login", "ent-launchd"] },
    },
    user: { id: "501", name: "ann" },
    group: { id: "20", name: "staff" },
  };
  // One in ten carries an argument that was not valid UTF-8 (raw bytes, per the raw-text contract).
  if (i % 10 === 0) doc.process.args = [...args, new Uint8Array([0x2d, 0xff, 0xfe])];
  return doc;
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;
const now = new Date("2026-11-26T09:15:02.200Z");
const alerts = Array.from({ length: 1000 }, (_, i) =>
  buildAlert({ rule, event: event(i), response: { action: "report", result: "success" }, agent: { id: "agent-1", version: "0.1.0" }, now }),
);

// Serializer alone.
let t0 = process.hrtime.bigint();
let bytes = 0;
for (let i = 0; i < TOTAL; i++) bytes += toNdjsonLine(alerts[i % alerts.length]).length;
const serializeSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

// The alert log through rotation.
globalThis.gc?.();
const dir = mkdtempSync(join(tmpdir(), "macsensor-bench-alertlog-"));
const rssBefore = rssMb();
let rssPeak = rssBefore;
const log = createAlertLog({ file: join(dir, "alerts.ndjson"), maxBytes: 1024 * 1024, maxFiles: 10_000 });
// CPU time as well as wall time: on a shared, loaded machine the wall-clock figure mostly measures the others.
const cpu0 = process.cpuUsage();
t0 = process.hrtime.bigint();
for (let i = 0; i < TOTAL; i++) {
  log.write(alerts[i % alerts.length]);
  if (i % 10_000 === 0) {
    await new Promise((resolve) => setImmediate(resolve));
    rssPeak = Math.max(rssPeak, rssMb());
  }
}
await log.flush();
const logSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const logCpuSeconds = (cpu.user + cpu.system) / 1e6;
await log.close();
globalThis.gc?.();
const rssAfter = rssMb();
const files = readdirSync(dir);
const onDisk = files.reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
rmSync(dir, { recursive: true, force: true });

// The stdout-style sink into a stream that discards.
const devNull = new Writable({ write: (_chunk, _enc, done) => done() });
const sink = createStreamAlertSink(devNull, "bench");
t0 = process.hrtime.bigint();
for (let i = 0; i < TOTAL; i++) {
  sink.write(alerts[i % alerts.length]);
  if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await sink.close();
const sinkSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

const alertsPerSecond = TOTAL / logSeconds;
const result = {
  alerts: TOTAL,
  alert_bytes_avg: Math.round(bytes / TOTAL),
  serialize_per_second: Math.round(TOTAL / serializeSeconds),
  alert_log_per_second: Math.round(alertsPerSecond),
  alert_log_per_cpu_second: Math.round(TOTAL / logCpuSeconds),
  alert_log_mb_per_second: +(onDisk / 1024 / 1024 / logSeconds).toFixed(1),
  alert_log_files: files.length,
  stream_sink_per_second: Math.round(TOTAL / sinkSeconds),
  rss_mb_before: +rssBefore.toFixed(1),
  rss_mb_peak: +rssPeak.toFixed(1),
  rss_mb_after: +rssAfter.toFixed(1),
  // Far above any real alert rate (alerts are a small fraction of events, even in replay); RSS must stay flat.
  target_alert_log_per_second: 10_000,
  target_rss_growth_mb: 64,
};
result.meets_targets = alertsPerSecond >= result.target_alert_log_per_second && rssPeak - rssBefore <= result.target_rss_growth_mb;
console.log(JSON.stringify(result));
