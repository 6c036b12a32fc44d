/** `macsensor alerts`: review of the local alert log, rotated files included, as a table or as NDJSON. */
import { MacsensorError } from "../errors.js";
import { parseCommandLine } from "./args.js";

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

/**
 * Collects output lines and writes them in large chunks. line() returns a promise when the reader (a pipe) is
 * behind, for the caller to await; a reader that goes away (`| head`) ends the output quietly.
 */
class BufferedOutput {
  private chunk: string[] = [];
  private size = 0;
  closed = false;

  constructor() {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      this.closed = true;
    });
  }

  line(text: string): Promise<void> | undefined {
    this.chunk.push(text);
    this.size += text.length + 1;
    return this.size >= 64 * 1024 ? this.flush() : undefined;
  }

  private flush(): Promise<void> | undefined {
    if (this.chunk.length === 0 || this.closed) return undefined;
    const data = this.chunk.join("\n") + "\n";
    this.chunk = [];
    this.size = 0;
    if (process.stdout.write(data)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        process.stdout.off("drain", done);
        process.stdout.off("error", done);
        resolve();
      };
      process.stdout.on("drain", done);
      process.stdout.on("error", done);
    });
  }

  async end(): Promise<void> {
    await this.flush();
  }
}

function clip(text: string, width: number | undefined): string {
  if (width === undefined || text.length <= width) return text;
  return width <= 1 ? "…" : `${text.slice(0, width - 1)}…`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("alerts", HELP, argv, {
    since: { type: "string" },
    rule: { type: "string" },
    json: { type: "boolean" },
    wide: { type: "boolean" },
    file: { type: "string" },
    config: { type: "string" },
    managed: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`macsensor alerts: unexpected argument '${parsed.positionals[0]}'\n\n${HELP}\n`);
    return 2;
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

  const out = new BufferedOutput();
  try {
    if (values.json) {
      for await (const a of alerts) {
        await out.line(a.line);
        if (out.closed) break;
      }
    } else {
      // Streamed with fixed column widths, so a log of millions of alerts needs no memory to show.
      const wide = values.wide === true;
      const widths = [20, 8, 40, 12, 22];
      const row = (cells: string[]): string => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join("  ");
      const commandWidth = !wide && process.stdout.isTTY ? Math.max(20, (process.stdout.columns || 160) - 114) : undefined;
      let count = 0;
      for await (const a of alerts) {
        if (count++ === 0) await out.line(row(["TIME (UTC)", "SEVERITY", "RULE", "USER", "RESPONSE", "COMMAND LINE"]));
        const f = (k: string): unknown => status.field(a.doc, k);
        const time = a.time ? `${a.time.toISOString().slice(0, 19).replace("T", " ")}Z` : "-";
        const args = f("process.args");
        const command = f("process.command_line") ?? (Array.isArray(args) ? args.join(" ") : undefined);
        const action = f("macsensor.response.action");
        const result = f("macsensor.response.result");
        const response = action === undefined ? "-" : `${printable(action)}${result === undefined ? "" : `: ${printable(result)}`}`;
        const rule = clip(printable(f("rule.name") ?? f("rule.id")), wide ? undefined : widths[2]);
        await out.line(row([time, status.severityLabel(a.doc), rule, printable(f("user.name")), response, clip(printable(command), commandWidth)]));
        if (out.closed) break;
      }
      await out.line(
        `${count} alert${count === 1 ? "" : "s"}${since ? ` since ${since.toISOString()}` : ""}` +
          `${values.rule !== undefined ? ` of rule ${values.rule}` : ""} in ${files.length} file${files.length === 1 ? "" : "s"}`,
      );
    }
    await out.end();
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
