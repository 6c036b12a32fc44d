import { parseCommandLine } from "./args.js";
import type { RuleFileResult } from "../rules/ruleFile.js";
import type { RuleWarning } from "../rules/ruleError.js";
import { fieldTypesOption } from "./fieldTypesOption.js";
import { hostOsTypeOf, PRODUCED_CATEGORIES, ruleCoverage } from "../rules/coverage.js";
import type { SensorContext } from "../agent/eventRelevance.js";

const HELP = `Usage: macsensor rules validate <path>... [--json] [--host-os TYPE] [--no-ecs-types | --mapping FILE]

Loads Elastic detection-rules TOML files (folders are searched recursively for *.toml) and reports, per file,
whether its rule loaded, was skipped (not EQL, or deprecated) or is in error, with the place of the error.

Queries are checked against ECS field types (plus the fields macsensor and Elastic Defend add): a comparison
Elasticsearch would reject for the field's type (process.pid : "x", process.pid == "x") is an error; a field
that is in neither is a warning naming the closest known field. A rule with warnings still loads.

Every loaded rule also says which event categories it needs and whether this sensor produces events it could
match (FIRES yes/no): the sensor writes process and file events, so e.g. a network rule loads but never fires;
nor does a rule whose host.os.type condition names another OS than the sensor's (\`host.os.type == "macos"\`
on a Linux host).

Options:
  --json            one JSON object per file: {"file","status","rule_id","name","reason"} (+ "line","column"
                    for errors; + "needs": ["network"], "fires": false and "warnings": [{"line","column","field",
                    "reason","suggestion"}] for loaded rules; "reason" says why a loaded rule cannot fire)
  --host-os TYPE    the host.os.type of the sensor the rules are for: macos, linux, or any (no OS check);
                    default: this machine's (${hostOsTypeOf(process.platform)})
  --no-ecs-types    do not check field names and types
  --mapping FILE    check against this mapping instead of ECS: a JSON object of field names to types
                    ({"pid": "long"}) or an Elasticsearch mapping ({"properties": ...})
  -h, --help        show this help

Exit status: 0 when no file is in error, 1 when any is, 2 on wrong usage.`;

interface Row {
  file: string;
  status: RuleFileResult["status"];
  rule_id: string | null;
  name: string | null;
  reason: string | null;
  line?: number;
  column?: number;
  needs?: string[];
  fires?: boolean;
  warnings?: WarningRow[];
}

interface WarningRow {
  line: number | null;
  column: number | null;
  field: string | null;
  reason: string;
  suggestion: string | null;
}

function warningRow(w: RuleWarning): WarningRow {
  return {
    line: w.hasPosition ? w.line : null,
    column: w.hasPosition ? w.column : null,
    field: w.queryField ?? null,
    reason: w.reason,
    suggestion: w.suggestion ?? null,
  };
}

function toRow(r: RuleFileResult, sensor: SensorContext): Row {
  if (r.status === "loaded") {
    const coverage = ruleCoverage(r.rule.query.ast, sensor);
    return {
      file: r.file,
      status: r.status,
      rule_id: r.rule.metadata.ruleId,
      name: r.rule.metadata.name,
      reason: coverage.reason ?? null,
      needs: coverage.needs,
      fires: coverage.fires,
      warnings: r.warnings.map(warningRow),
    };
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
  const warningCol = (row: Row, w: WarningRow) => (w.line !== null ? `${row.file}:${w.line}:${w.column}` : row.file);
  const places = rows.flatMap((r) => [fileCol(r), ...(r.warnings ?? []).map((w) => warningCol(r, w))]);
  const width = Math.min(Math.max(4, ...places.map((p) => p.length)), 80);
  const needsCol = (row: Row) => (row.needs === undefined ? "-" : row.needs.length > 0 ? row.needs.join(",") : "any");
  const needsWidth = Math.max(5, ...rows.map((r) => needsCol(r).length));
  const firesCol = (row: Row) => (row.fires === undefined ? "-" : row.fires ? "yes" : "no");
  const lines = [`${"STATUS".padEnd(8)} ${"FILE".padEnd(width)}  ${"RULE ID".padEnd(36)}  FIRES  ${"NEEDS".padEnd(needsWidth)}  NAME / REASON`];
  for (const row of rows) {
    const what = row.status === "loaded" ? `${row.name ?? ""}${row.reason ? `: ${row.reason}` : ""}` : `${row.name ? `${row.name}: ` : ""}${row.reason ?? ""}`;
    lines.push(`${row.status.padEnd(8)} ${fileCol(row).padEnd(width)}  ${(row.rule_id ?? "-").padEnd(36)}  ${firesCol(row).padEnd(5)}  ${needsCol(row).padEnd(needsWidth)}  ${what}`);
    for (const w of row.warnings ?? []) {
      lines.push(`${"warning".padEnd(8)} ${warningCol(row, w).padEnd(width)}  ${"".padEnd(36)}  ${"".padEnd(5)}  ${"".padEnd(needsWidth)}  ${w.reason}`);
    }
  }
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("rules", HELP, argv, {
    json: { type: "boolean" },
    "no-ecs-types": { type: "boolean" },
    mapping: { type: "string" },
    "host-os": { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const [sub, ...paths] = parsed.positionals;
  if (sub !== "validate" || paths.length === 0) {
    process.stderr.write(`macsensor rules: ${sub === undefined ? "missing subcommand" : sub !== "validate" ? `unknown subcommand '${sub}'` : "missing <path>"}\n\n${HELP}\n`);
    return 2;
  }

  const hostOs = parsed.values["host-os"] ?? hostOsTypeOf(process.platform);
  if (!/^[a-z]+$/.test(hostOs)) {
    process.stderr.write(`macsensor rules: --host-os must be an ECS host.os.type (macos, linux, windows, unix) or any, found '${hostOs}'\n`);
    return 2;
  }
  const sensor: SensorContext = hostOs === "any" ? {} : { hostOsType: hostOs };
  const fieldTypes = await fieldTypesOption("rules", parsed.values["no-ecs-types"], parsed.values.mapping);
  if (typeof fieldTypes === "number") return fieldTypes;
  const { loadRules } = await import("../rules/loader.js");
  const result = loadRules(paths, { fieldTypes });
  const warnings = result.files.flatMap((f) => (f.status === "loaded" ? f.warnings : []));
  const rows = result.files.map((f) => toRow(f, sensor));
  if (parsed.values.json) {
    process.stdout.write(rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : ""));
  } else {
    const counts = { loaded: 0, skipped: 0, error: 0 };
    for (const r of rows) counts[r.status]++;
    let out = rows.length ? table(rows) + "\n" : "";
    const warned = warnings.length > 0 ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : "";
    const firing = rows.filter((r) => r.fires === true).length;
    if (counts.loaded > 0) out += `\n${firing} of ${counts.loaded} loaded rules can fire on this sensor's events (${PRODUCED_CATEGORIES.join(", ")}${sensor.hostOsType ? `; host.os.type ${sensor.hostOsType}` : ""})`;
    out += `\n${counts.loaded} loaded, ${counts.skipped} skipped, ${counts.error} in error${warned}\n`;
    process.stdout.write(out);
    const messages = [...result.errors.map((e) => e.message), ...warnings.map((w) => `warning: ${w.message}`)];
    if (messages.length > 0) process.stderr.write(messages.join("\n\n") + "\n");
  }
  return result.errors.length > 0 ? 1 : 0;
}
