import { parseCommandLine } from "./args.js";
import type { RuleFileResult } from "../rules/ruleFile.js";

const HELP = `Usage: macsensor rules validate <path>... [--json]

Loads Elastic detection-rules TOML files (folders are searched recursively for *.toml) and reports, per file,
whether its rule loaded, was skipped (not EQL, or deprecated) or is in error, with the place of the error.

Options:
  --json      one JSON object per file: {"file","status","rule_id","name","reason"} (+ "line","column" for errors)
  -h, --help  show this help

Exit status: 0 when no file is in error, 1 when any is, 2 on wrong usage.`;

interface Row {
  file: string;
  status: RuleFileResult["status"];
  rule_id: string | null;
  name: string | null;
  reason: string | null;
  line?: number;
  column?: number;
}

function toRow(r: RuleFileResult): Row {
  if (r.status === "loaded") {
    return { file: r.file, status: r.status, rule_id: r.rule.metadata.ruleId, name: r.rule.metadata.name, reason: null };
  }
  if (r.status === "skipped") return { file: r.file, status: r.status, rule_id: r.ruleId ?? null, name: r.name ?? null, reason: r.reason };
  const row: Row = { file: r.file, status: r.status, rule_id: r.ruleId ?? null, name: r.name ?? null, reason: r.error.reason };
  if (r.error.hasPosition) {
    row.line = r.error.line;
    row.column = r.error.column;
  }
  return row;
}

function table(rows: Row[]): string {
  const fileCol = (row: Row) => (row.line !== undefined ? `${row.file}:${row.line}:${row.column}` : row.file);
  const width = Math.min(Math.max(4, ...rows.map((r) => fileCol(r).length)), 80);
  const lines = [`${"STATUS".padEnd(8)} ${"FILE".padEnd(width)}  ${"RULE ID".padEnd(36)}  NAME / REASON`];
  for (const row of rows) {
    const what = row.status === "loaded" ? (row.name ?? "") : `${row.name ? `${row.name}: ` : ""}${row.reason ?? ""}`;
    lines.push(`${row.status.padEnd(8)} ${fileCol(row).padEnd(width)}  ${(row.rule_id ?? "-").padEnd(36)}  ${what}`);
  }
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("rules", HELP, argv, { json: { type: "boolean" } });
  if (typeof parsed === "number") return parsed;
  const [sub, ...paths] = parsed.positionals;
  if (sub !== "validate" || paths.length === 0) {
    process.stderr.write(`macsensor rules: ${sub === undefined ? "missing subcommand" : sub !== "validate" ? `unknown subcommand '${sub}'` : "missing <path>"}\n\n${HELP}\n`);
    return 2;
  }

  const { loadRules } = await import("../rules/loader.js");
  const result = loadRules(paths);
  const rows = result.files.map(toRow);
  if (parsed.values.json) {
    process.stdout.write(rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""));
  } else {
    const counts = { loaded: 0, skipped: 0, error: 0 };
    for (const r of rows) counts[r.status]++;
    let out = rows.length ? table(rows) + "\n" : "";
    out += `\n${counts.loaded} loaded, ${counts.skipped} skipped, ${counts.error} in error\n`;
    process.stdout.write(out);
    if (result.errors.length > 0) {
      process.stderr.write(result.errors.map((e) => e.message).join("\n\n") + "\n");
    }
  }
  return result.errors.length > 0 ? 1 : 0;
}
