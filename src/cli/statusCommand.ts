/** `macsensor status`: is the agent running, what it runs with, its last heartbeat, and the last day's alerts. */
import { parseCommandLine } from "./args.js";

const HELP = `Usage: macsensor status [--json] [--pid-file FILE] [--log FILE] [--alerts FILE] [--config FILE] [--managed FILE]

Shows whether the agent runs (launchd on macOS, the pid file elsewhere), its backend, rules loaded and skipped,
on Linux which opens it holds for the block rules' verdict (and which block rules cannot hold theirs),
the counts of its last heartbeat (events, alerts, drops, deadline fallbacks) and the alerts of the last 24 hours.
Only the running agent's own run counts ("no heartbeat yet" before its first); when none runs, the last run's.

Options:
  --json            one JSON document instead of text
  --pid-file FILE   the agent's pid file (default: MACSENSOR_PID_FILE, else /var/run/macsensor.pid)
  --log FILE        the agent's own log (default: log.path of the configuration)
  --alerts FILE     the alert log (default: alerts.path of the configuration)
  --config FILE     the configuration file; --managed FILE the managed-preferences plist
  -h, --help        show this help

Exit status: 0 running, 3 not running, 2 usage error.`;

/** Shown first, in this order; the agent may name them in camelCase or snake_case. */
const HEADLINE_COUNTS = ["events", "alerts", "alerts written", "alerts lost", "drops", "deadline fallbacks"];
/** Headline counts an older agent's heartbeat lacks: left out rather than shown as "?". */
const NEWER_COUNTS = new Set(["alerts written", "alerts lost"]);

/** "deadlineFallbacks" / "deadline_fallbacks" → "deadline fallbacks". */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
}
const SEVERITIES = ["critical", "high", "medium", "low"];

function ago(iso: string | undefined, now: Date): string {
  if (!iso) return "";
  const s = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return "";
  if (s < 120) return ` (${s} s ago)`;
  if (s < 7200) return ` (${Math.round(s / 60)} min ago)`;
  return ` (${Math.round(s / 3600)} h ago)`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("status", HELP, argv, {
    json: { type: "boolean" },
    "pid-file": { type: "string" },
    log: { type: "string" },
    alerts: { type: "string" },
    config: { type: "string" },
    managed: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`macsensor status: unexpected argument '${parsed.positionals[0]}'\n\n${HELP}\n`);
    return 2;
  }

  const { pidFilePath } = await import("../config/paths.js");
  const status = await import("../status/index.js");
  const now = new Date();

  const useLaunchd = process.platform === "darwin" && values["pid-file"] === undefined;
  const pidFile = values["pid-file"] ?? pidFilePath();
  let running = useLaunchd ? status.launchdState() : status.pidFileState(pidFile);
  if (useLaunchd && running.detail.startsWith("cannot run")) running = status.pidFileState(pidFile);

  const needPaths = values.log === undefined || values.alerts === undefined;
  const paths = needPaths
    ? status.configuredLogPaths({
        ...(values.config !== undefined ? { configFile: values.config } : {}),
        ...(values.managed !== undefined ? { managedFile: values.managed } : {}),
      })
    : { alerts: "", log: "", warnings: [] };
  const logFile = values.log ?? paths.log;
  const alertsFile = values.alerts ?? paths.alerts;
  for (const w of paths.warnings) process.stderr.write(`warning: ${w}\n`);

  // Only the running agent's own run counts: an earlier run's heartbeat is not this one's.
  const ops = status.readOpsSummary(logFile, running.running && running.pid !== undefined ? { runningPid: running.pid } : {});

  const since = new Date(now.getTime() - 24 * 3600 * 1000);
  const files = status.alertLogFiles(alertsFile);
  const bySeverity: Record<string, number> = {};
  const byRule = new Map<string, number>();
  let total = 0;
  let badLines = 0;
  for await (const a of status.readAlerts(files, { since, onBadLine: () => badLines++ })) {
    total++;
    const sev = status.severityLabel(a.doc);
    bySeverity[sev] = (bySeverity[sev] ?? 0) + 1;
    const name = status.field(a.doc, "rule.name");
    const rule = typeof name === "string" ? name : String(status.field(a.doc, "rule.id") ?? "?");
    byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  }
  const topRules = [...byRule.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

  if (values.json) {
    const doc = {
      running: running.running,
      ...(running.pid !== undefined ? { pid: running.pid } : {}),
      via: running.via,
      detail: running.detail,
      backend: ops.backend ?? null,
      rules: ops.rules ?? null,
      guards: ops.guards ?? null,
      heartbeat: ops.heartbeat ?? null,
      run: ops.run ?? null,
      alerts_24h: { total, by_severity: bySeverity, by_rule: Object.fromEntries(topRules) },
      files: {
        ...(running.via === "pid file" ? { pid_file: pidFile } : {}),
        log: logFile,
        ...(ops.error ? { log_error: ops.error } : {}),
        alerts: files,
      },
    };
    process.stdout.write(JSON.stringify(doc) + "\n");
    return running.running ? 0 : 3;
  }

  const out: string[] = [];
  out.push(`macsensor:       ${running.detail}${running.via === "pid file" ? ` [${pidFile}]` : " [launchd]"}`);
  out.push(`backend:         ${ops.backend ?? "unknown (not in the agent log)"}`);
  const rules = ops.rules;
  out.push(`rules:           ${rules ? `${rules.loaded ?? "?"} loaded, ${rules.skipped ?? "?"} skipped` : "unknown (not in the agent log)"}`);
  const guards = ops.guards;
  if (guards) {
    const held = [
      ...guards.configured.map((p) => `${p} (auth.guard_paths)`),
      ...guards.marks.map((m) => `${m.kind === "dir" ? `files in ${m.path}` : `filesystem ${m.path}`} (${m.rules.length} block rule${m.rules.length === 1 ? "" : "s"})`),
    ];
    out.push(`held opens:      ${!guards.active ? "none: file events are off" : held.length > 0 ? held.join(", ") : "none"}`);
    if (guards.unguarded.length > 0) {
      out.push(`warning: ${guards.unguarded.length} block rule(s) cannot hold the opens they match (they alert, the opens go ahead): ${guards.unguarded.join(", ")}`);
    }
  }
  if (ops.heartbeat) {
    const counts = new Map(Object.entries(ops.heartbeat.counts).map(([k, v]) => [words(k), v]));
    const names = [...HEADLINE_COUNTS.filter((k) => counts.has(k) || !NEWER_COUNTS.has(k)), ...[...counts.keys()].filter((k) => !HEADLINE_COUNTS.includes(k))];
    const parts = names.map((k) => `${k} ${counts.get(k) ?? "?"}`);
    out.push(`last heartbeat:  ${ops.heartbeat.time ?? "?"}${ago(ops.heartbeat.time, now)}: ${parts.join(", ")}`);
    const slow = ops.heartbeat.slow_rule;
    if (slow) {
      out.push(
        `last slow rule:  ${slow.name ?? "?"} [${slow.id}] ${slow.ms ?? "?"} ms alone, event ${slow.event_ms ?? "?"} ms, budget ${slow.budget_ms ?? "?"} ms` +
          ` at ${slow.time ?? "?"}${ago(slow.time, now)}`,
      );
    }
    const lost = counts.get("alerts lost") ?? 0;
    if (lost > 0) out.push(`warning: ${lost} alert(s) LOST: the alert log could not be written (disk full?); the agent log says why`);
  } else if (running.running) {
    out.push(`last heartbeat:  no heartbeat yet${ops.run?.started ? ` (agent started ${ops.run.started}${ago(ops.run.started, now)})` : ""}`);
  } else {
    out.push(`last heartbeat:  none${ops.error ? "" : " in the agent log"}`);
  }
  if (!running.running && ops.heartbeat && ops.run?.pid !== undefined) out.push(`                 (of the last run, pid ${ops.run.pid}, which has stopped)`);
  const sevText = SEVERITIES.filter((s) => bySeverity[s]).map((s) => `${s} ${bySeverity[s]}`);
  const other = Object.keys(bySeverity).filter((s) => !SEVERITIES.includes(s));
  for (const s of other) sevText.push(`${s} ${bySeverity[s]}`);
  out.push(`alerts (24 h):   ${total}${sevText.length ? ` (${sevText.join(", ")})` : ""}`);
  for (const [rule, n] of topRules.slice(0, 5)) out.push(`  ${String(n).padStart(6)}  ${rule}`);
  if (topRules.length > 5) out.push(`          … and ${topRules.length - 5} more rules (macsensor alerts --since 24h)`);
  out.push(`agent log:       ${logFile}${ops.error ? ` — ${ops.error}` : ""}`);
  out.push(`alert log:       ${alertsFile}${files.length > 1 ? ` (+${files.length - (files.includes(alertsFile) ? 1 : 0)} rotated)` : files.length === 0 ? " — no alert log yet" : ""}`);
  if (badLines > 0) out.push(`warning: ${badLines} unreadable line(s) in the alert log`);
  process.stdout.write(out.join("\n") + "\n");
  return running.running ? 0 : 3;
}
