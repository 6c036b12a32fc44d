// Replay throughput end to end — NDJSON file → JSON.parse → rules → alerts → rotated alert log — in process
// (no spawn): with the shipped rules, with 100 realistic rules, and RSS before/after 10 million streamed events.
// Events are the bundled recording (samples/recorded-events.ndjson: Defend-shaped macOS fork/exec/exit events,
// 2 alerting lines in 462), repeated.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadRules } from "../dist/rules/loader.js";
import { RuleSet } from "../dist/rules/ruleSet.js";
import { replayEvents } from "../dist/rules/replay.js";
import { shippedRulesPath } from "../dist/rules/shippedRules.js";
import { createAlertLog } from "../dist/output/alertLog.js";

const THROUGHPUT_EVENTS = Number(process.env.REPLAY_BENCH_EVENTS ?? 200_000);
const MEMORY_EVENTS = Number(process.env.REPLAY_BENCH_MEMORY_EVENTS ?? 10_000_000);
const pool = readFileSync(fileURLToPath(new URL("../samples/recorded-events.ndjson", import.meta.url)), "utf8").trim().split("\n");
const tmp = mkdtempSync(join(tmpdir(), "macsensor-replay-bench-"));

function eventsFile(n) {
  const file = join(tmp, `events-${n}.ndjson`);
  const block = pool.join("\n") + "\n";
  const parts = [];
  let lines = 0;
  while (lines + pool.length <= n) {
    parts.push(block);
    lines += pool.length;
  }
  if (lines < n) parts.push(pool.slice(0, n - lines).join("\n") + "\n");
  writeFileSync(file, parts.join(""));
  return file;
}

/**
 * RSS and live heap (after a full GC) when the memory run had streamed 1 million events: growth after that point
 * would be a leak. RSS also moves with V8's heap sizing; the live heap is the flatness measure.
 */
let rssAtOneMillion = 0;
let heapAtOneMillion = 0;

/** Streams `n` events from the pool in ~1 MB chunks, never holding more than one chunk. */
function eventStream(n) {
  const block = pool.join("\n") + "\n";
  const blocksPerChunk = Math.max(1, Math.floor((1 << 20) / block.length));
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= n) return this.push(null);
      const blocks = Math.min(blocksPerChunk, Math.floor((n - sent) / pool.length));
      if (blocks === 0) {
        this.push(pool.slice(0, n - sent).join("\n") + "\n");
        sent = n;
        return;
      }
      this.push(block.repeat(blocks));
      sent += blocks * pool.length;
      if (rssAtOneMillion === 0 && sent >= 1_000_000) {
        globalThis.gc?.();
        rssAtOneMillion = process.memoryUsage().rss;
        heapAtOneMillion = process.memoryUsage().heapUsed;
      }
    },
  });
}

/** 100 rules shaped like Elastic's macOS process rules: name lists, args wildcards, parents, signatures, sequences. */
function hundredRules() {
  const dir = join(tmp, "rules100");
  mkdirSync(dir);
  const tools = ["curl", "osascript", "python3", "perl", "ruby", "nscurl", "launchctl", "defaults", "plutil", "xattr", "spctl", "csrutil", "tccutil", "sqlite3", "dscl", "sysadminctl", "kextload", "pkgutil", "installer", "hdiutil"];
  const parents = ["Microsoft Word", "Safari", "Google Chrome", "Slack", "Terminal", "iTerm2", "node", "java", "Electron", "Finder"];
  const words = ["payload", "base64", "http", "/tmp/", "LaunchAgents", "quarantine", "keychain", "password", "sudo", "chmod"];
  const threat = `\n[[rule.threat]]\nframework = "MITRE ATT&CK"\n[rule.threat.tactic]\nid = "TA0002"\nname = "Execution"\nreference = "https://attack.mitre.org/tactics/TA0002/"\n`;
  for (let i = 0; i < 100; i++) {
    const t = tools[i % tools.length];
    const t2 = tools[(i * 7 + 3) % tools.length];
    const p = parents[i % parents.length];
    const w = words[i % words.length];
    let query;
    switch (i % 5) {
      case 0:
        query = `process where host.os.type == "macos" and event.type in ("start", "process_started") and process.name in ("${t}", "${t2}") and process.args : ("*${w}*", "-e")`;
        break;
      case 1:
        query = `process where host.os.type == "macos" and event.type == "start" and process.parent.name : "${p}" and process.name in ("sh", "bash", "zsh", "${t}") and not process.args : "*/Library/Application Support/*"`;
        break;
      case 2:
        query = `process where host.os.type == "macos" and event.action == "exec" and process.code_signature.trusted == false and process.executable : ("/private/tmp/*", "/Users/Shared/*", "/tmp/*") and process.name : "*${t.slice(0, 3)}*"`;
        break;
      case 3:
        query = `process where host.os.type == "macos" and event.type == "start" and process.name == "${t}" and process.command_line : "*${w}*" and not process.parent.executable : ("/usr/libexec/*", "/System/*")`;
        break;
      default:
        query = `sequence by process.entity_id with maxspan=1m\n  [process where host.os.type == "macos" and event.type == "start" and process.name == "${t}"]\n  [process where host.os.type == "macos" and event.type == "end" and process.name == "${t}" and process.exit_code != 0]`;
    }
    writeFileSync(
      join(dir, `rule_${String(i).padStart(3, "0")}.toml`),
      `[metadata]\nmaturity = "production"\n\n[rule]\nauthor = ["bench"]\ndescription = "bench rule ${i}"\nname = "Bench Rule ${i}"\nrisk_score = 47\nrule_id = "bench-${i}"\nseverity = "medium"\ntype = "eql"\nquery = '''\n${query}\n'''\n${threat}`,
    );
  }
  return dir;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Wall-clock rate (the target) and CPU-time rate (what the code costs when this shared machine is oversubscribed). */
async function run(rules, input, label) {
  const log = createAlertLog({ file: join(tmp, `alerts-${label}`, "alerts.ndjson"), maxBytes: 8 << 20, maxFiles: 2 });
  const cpu0 = cpuSeconds();
  const stats = await replayEvents({ input, rules: new RuleSet(rules), sink: log });
  await log.close();
  stats.eventsPerCpuSecond = stats.events / (cpuSeconds() - cpu0);
  return stats;
}

const shipped = loadRules([shippedRulesPath()]);
const many = loadRules([hundredRules(), shippedRulesPath()]);
if (shipped.errors.length || many.errors.length) throw new Error([...shipped.errors, ...many.errors].map((e) => e.message).join("\n"));

const file = eventsFile(THROUGHPUT_EVENTS);
await run(shipped.rules, eventsFile(20_000), "warmup");
const a = await run(shipped.rules, file, "shipped");
const b = await run(many.rules.slice(0, 100), file, "hundred");

globalThis.gc?.();
const rssBefore = process.memoryUsage().rss;
const c = await run(shipped.rules, eventStream(MEMORY_EVENTS), "memory");
globalThis.gc?.();
const rssAfter = process.memoryUsage().rss;
const heapAfter = process.memoryUsage().heapUsed;
rmSync(tmp, { recursive: true, force: true });

const mb = (n) => +(n / 1048576).toFixed(1);
const result = {
  events: a.events,
  shipped_rules: shipped.rules.length,
  events_per_second_shipped_rules: Math.round(a.eventsPerSecond),
  events_per_second_100_rules: Math.round(b.eventsPerSecond),
  events_per_cpu_second_shipped_rules: Math.round(a.eventsPerCpuSecond),
  events_per_cpu_second_100_rules: Math.round(b.eventsPerCpuSecond),
  load_average_1m: +loadavg()[0].toFixed(1),
  alerts_shipped_rules: a.alerts,
  memory_events: c.events,
  memory_alerts: c.alerts,
  memory_events_per_second: Math.round(c.eventsPerSecond),
  rss_before_mb: mb(rssBefore),
  rss_after_mb: mb(rssAfter),
  rss_growth_mb: mb(rssAfter - rssBefore),
  rss_at_1m_events_mb: mb(rssAtOneMillion),
  rss_growth_1m_to_end_mb: mb(rssAfter - rssAtOneMillion),
  heap_used_at_1m_events_mb: mb(heapAtOneMillion),
  heap_used_after_mb: mb(heapAfter),
  heap_growth_1m_to_end_mb: mb(heapAfter - heapAtOneMillion),
  target_events_per_second_shipped_rules: 300_000,
  target_events_per_second_100_rules: 150_000,
  // "Memory flat over 10 million events": the live heap after 1M events and after 10M differ by less than this.
  target_heap_growth_1m_to_end_mb: 5,
};
result.meets_targets =
  result.events_per_second_shipped_rules >= 300_000 &&
  result.events_per_second_100_rules >= 150_000 &&
  result.heap_growth_1m_to_end_mb <= 5;
console.log(JSON.stringify(result));
