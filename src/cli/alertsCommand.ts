/** `macsensor alerts`: review of the local alert log, rotated files included, as a table or as NDJSON. */
import { parseArgs } from "node:util";
import { MacsensorError } from "../errors.js";

const HELP = `Usage: macsensor alerts [--since 24h|DATE|all] [--rule ID] [--json] [--wide] [--file PATH]

Lists the alerts of the local alert log and its rotated files, oldest first: time (UTC), severity, rule, user,
command line and the response (action: result).

Options:
  --since WHEN   a duration back from now (30m, 24h, 7d, 2w), an ISO date/time, or "all"; default 24h
  --rule ID      only this rule: its rule_id, or its name (case-insensitive)
  --json         the matching alerts as NDJSON, each line exactly as stored (for jq or a ticket)
  --wide         do not shorten long rule names and command lines
  --file PATH    the alert log (default: alerts.path of the configuration); rotated PATH.1, PATH.2 … are read too
  --config FILE, --managed FILE   the configuration that names the alert log
  -h, --help     show this help

Exit status: 0 (also when no alert matches), 1 the log cannot be read, 2 usage error.`;

/** One line, whatever the bytes: control characters shown as escapes, so a command line cannot fake rows. */
function printable(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "-" : JSON.stringify(value);
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function clip(text: string, width: number | undefined): string {
  if (width === undefined || text.length <= width) return text;
  return width <= 1 ? "…" : `${text.slice(0, width - 1)}…`;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        since: { type: "string" },
        rule: { type: "string" },
        json: { type: "boolean" },
        wide: { type: "boolean" },
        file: { type: "string" },
        config: { type: "string" },
        managed: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    process.stderr.write(`macsensor alerts: ${(e as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP + "\n");
    return 0;
  }

  const status = await import("../status/index.js");
  let since: Date | undefined;
  const sinceText = values.since ?? "24h";
  if (sinceText !== "all") {
    try {
      since = status.parseSince(sinceText);
    } catch (e) {
      process.stderr.write(`macsensor alerts: ${(e as Error).message}\n`);
      return 2;
    }
  }

  let file = values.file;
  if (file === undefined) {
    const paths = status.configuredLogPaths({
      ...(values.config !== undefined ? { configFile: values.config } : {}),
      ...(values.managed !== undefined ? { managedFile: values.managed } : {}),
    });
    for (const w of paths.warnings) process.stderr.write(`warning: ${w}\n`);
    file = paths.alerts;
  }

  let files: string[];
  try {
    files = status.alertLogFiles(file);
  } catch (e) {
    if (e instanceof MacsensorError) {
      process.stderr.write(`macsensor alerts: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (files.length === 0) process.stderr.write(`macsensor alerts: no alert log at ${file} (no alert yet, or another path)\n`);

  let bad = 0;
  const onBadLine = (f: string, line: number, reason: string): void => {
    if (bad++ < 10) process.stderr.write(`macsensor alerts: ${f}:${line}: ${reason}; skipped\n`);
  };
  const alerts = status.readAlerts(files, { ...(since ? { since } : {}), ...(values.rule !== undefined ? { rule: values.rule } : {}), onBadLine });

  try {
    if (values.json) {
      for await (const a of alerts) process.stdout.write(a.line + "\n");
    } else {
      const rows: string[][] = [];
      for await (const a of alerts) {
        const f = (k: string): unknown => status.field(a.doc, k);
        const time = a.time ? `${a.time.toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
        const args = f("process.args");
        const command = f("process.command_line") ?? (Array.isArray(args) ? args.join(" ") : undefined);
        const action = f("macsensor.response.action");
        const result = f("macsensor.response.result");
        const response = action === undefined ? "-" : `${printable(action)}${result === undefined ? "" : `: ${printable(result)}`}`;
        rows.push([time, status.severityLabel(a.doc), printable(f("rule.name") ?? f("rule.id")), printable(f("user.name")), response, printable(command)]);
      }
      const header = ["TIME (UTC)", "SEVERITY", "RULE", "USER", "RESPONSE", "COMMAND LINE"];
      const wide = values.wide === true;
      for (const r of rows) r[2] = clip(r[2], wide ? undefined : 48);
      const widths = [0, 1, 2, 3, 4].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
      const used = widths.reduce((a, b) => a + b + 2, 0);
      const commandWidth = !wide && process.stdout.isTTY ? Math.max(20, (process.stdout.columns || 160) - used) : undefined;
      const lines = [header, ...rows].map((r) => [...r.slice(0, 5).map((c, i) => c.padEnd(widths[i])), clip(r[5], commandWidth)].join("  "));
      const scope = `${rows.length} alert${rows.length === 1 ? "" : "s"}${since ? ` since ${since.toISOString()}` : ""}` +
        `${values.rule !== undefined ? ` of rule ${values.rule}` : ""} in ${files.length} file${files.length === 1 ? "" : "s"}`;
      process.stdout.write((rows.length ? lines.join("\n") + "\n" : "") + scope + "\n");
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "ENOENT") {
      process.stderr.write(`macsensor alerts: cannot read the alert log: ${(e as Error).message}${code === "EACCES" ? " (run with sudo)" : ""}\n`);
      return 1;
    }
    throw e;
  }
  if (bad > 10) process.stderr.write(`macsensor alerts: ${bad} unreadable lines in all\n`);
  return 0;
}
