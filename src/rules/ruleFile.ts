import { parse as parseToml, TomlError } from "smol-toml";
import { positionAt, SourceError } from "../errors.js";
import { compileQuery } from "../eql/index.js";
import type { CompiledQuery, CompileOptions } from "../eql/index.js";
import type { RuleMetadata, Severity, ThreatEntry, ThreatReference, ThreatTechnique } from "./ruleMetadata.js";
import { checkFieldTypes, type FieldWarning, type TypedSchema } from "../eql/typeCheck.js";
import { ecsFieldSchema } from "../ecs/ecsSchema.js";
import { RuleError, RuleWarning } from "./ruleError.js";
import { locate, scanToml, findKey, stringOffsetMapper, type TomlLayout } from "../toml/tomlLayout.js";

/** A rule ready to run: what it says about itself and its compiled query. */
export interface LoadedRule {
  metadata: RuleMetadata;
  query: CompiledQuery;
  /** `metadata.maturity` (production, development, ...). */
  maturity?: string;
  /** `rule.index`: the indices Elastic would search; informational on the host. */
  index: string[];
}

export type RuleFileResult =
  | { status: "loaded"; file: string; rule: LoadedRule; warnings: RuleWarning[] }
  | { status: "skipped"; file: string; ruleId?: string; name?: string; reason: string }
  | { status: "error"; file: string; ruleId?: string; name?: string; error: RuleError };

export interface RuleFileOptions {
  /** Passed to the EQL compiler for every rule. */
  compile?: CompileOptions;
  /** Goes to rule.ruleset in alerts; default from the author ("elastic" for Elastic's rules, "macsensor" for ours). */
  ruleset?: string;
  /**
   * The field types rule queries are checked against (unknown fields warn, type errors fail the rule); default
   * ECS with macsensor's and Elastic Defend's own fields. null turns the check off.
   */
  fieldTypes?: TypedSchema | null;
}

const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
/** How the EQL engine words valid Elasticsearch EQL it does not implement. */
const UNSUPPORTED = /\bnot supported\b/;

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (isTable(v)) return "a table";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the float ${v}`;
  if (typeof v === "object") return "a date";
  return `${typeof v} ${String(v)}`;
}

/** Reads and checks the fields of one parsed rule file; every problem is a RuleError at the key's place. */
class FieldReader {
  private scanned?: TomlLayout;
  ruleId?: string;
  name?: string;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  /** Positions are needed only for a message, so the file is scanned for them only then. */
  get layout(): TomlLayout {
    this.scanned ??= scanToml(this.text);
    return this.scanned;
  }

  fail(field: string, reason: string): never {
    const place = locate(this.layout, field);
    const key = findKey(this.layout, field);
    const width = key ? Math.max(1, key.valueEnd - key.keyOffset) : 1;
    throw new RuleError(`${reason}`, this.text, {
      file: this.file,
      field,
      offset: place.offset,
      width: place.exact ? Math.min(width, lineRest(this.text, place.offset)) : 1,
      ruleId: this.ruleId,
      name: this.name,
    });
  }

  table(parent: Table, key: string, field: string, required: boolean): Table | undefined {
    const v = parent[key];
    if (v === undefined) {
      if (required) this.fail(field, `missing table [${field}]`);
      return undefined;
    }
    if (!isTable(v)) this.fail(field, `${field} must be a table, found ${describe(v)}`);
    return v;
  }

  string(t: Table, key: string, field: string, required: true): string;
  string(t: Table, key: string, field: string, required: false): string | undefined;
  string(t: Table, key: string, field: string, required: boolean): string | undefined {
    const v = t[key];
    if (v === undefined) {
      if (required) this.fail(field, `missing field ${field} (expected a string)`);
      return undefined;
    }
    if (typeof v !== "string") this.fail(field, `${field} must be a string, found ${describe(v)}`);
    return v;
  }

  nonEmptyString(t: Table, key: string, field: string): string {
    const v = this.string(t, key, field, true);
    if (v.trim() === "") this.fail(field, `${field} must not be empty`);
    return v;
  }

  integer(t: Table, key: string, field: string, required: boolean, min: number, max: number): number | undefined {
    const v = t[key];
    if (v === undefined) {
      if (required) this.fail(field, `missing field ${field} (expected an integer ${min}–${max})`);
      return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(field, `${field} must be an integer, found ${describe(v)}`);
    if (v < min || v > max) this.fail(field, `${field} must be between ${min} and ${max}, found ${v}`);
    return v;
  }

  strings(t: Table, key: string, field: string): string[] {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(field, `${field} must be an array of strings, found ${describe(v)}`);
    v.forEach((item, i) => {
      if (typeof item !== "string") this.fail(field, `${field}[${i}] must be a string, found ${describe(item)}`);
    });
    return v as string[];
  }

  reference(t: Table, field: string): ThreatReference {
    const ref: ThreatReference = {
      id: this.nonEmptyString(t, "id", `${field}.id`),
      name: this.nonEmptyString(t, "name", `${field}.name`),
    };
    const reference = this.string(t, "reference", `${field}.reference`, false);
    if (reference !== undefined) ref.reference = reference;
    return ref;
  }

  tables(t: Table, key: string, field: string): Table[] {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(field, `${field} must be an array of tables ([[${field}]]), found ${describe(v)}`);
    v.forEach((item, i) => {
      if (!isTable(item)) this.fail(`${field}[${i}]`, `${field}[${i}] must be a table, found ${describe(item)}`);
    });
    return v as Table[];
  }

  threat(rule: Table): ThreatEntry[] {
    return this.tables(rule, "threat", "rule.threat").map((entry, i) => {
      const at = `rule.threat[${i}]`;
      const tactic = this.table(entry, "tactic", `${at}.tactic`, true) as Table;
      const technique: ThreatTechnique[] = this.tables(entry, "technique", `${at}.technique`).map((tech, j) => {
        const tat = `${at}.technique[${j}]`;
        return {
          ...this.reference(tech, tat),
          subtechnique: this.tables(tech, "subtechnique", `${tat}.subtechnique`).map((sub, k) =>
            this.reference(sub, `${tat}.subtechnique[${k}]`),
          ),
        };
      });
      return { framework: this.nonEmptyString(entry, "framework", `${at}.framework`), tactic: this.reference(tactic, `${at}.tactic`), technique };
    });
  }
}

function lineRest(text: string, offset: number): number {
  const nl = text.indexOf("\n", offset);
  return (nl === -1 ? text.length : nl) - offset;
}

function offsetOfLineColumn(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", offset);
    if (nl === -1) return text.length;
    offset = nl + 1;
  }
  return Math.min(text.length, offset + column - 1);
}

function defaultRuleset(author: string[]): string {
  if (author.some((a) => a.toLowerCase() === "elastic")) return "elastic";
  if (author.some((a) => a.toLowerCase() === "macsensor")) return "macsensor";
  return "custom";
}

/**
 * One rule file's text → a loaded rule, a skip with its reason, or an error. Never throws for bad input.
 */
export function parseRuleFile(text: string, file: string, options: RuleFileOptions = {}): RuleFileResult {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = `malformed TOML: ${err.message.replace(/^Invalid TOML document: /, "").split("\n")[0]}`;
      const offset = offsetOfLineColumn(text, err.line, err.column);
      return { status: "error", file, error: new RuleError(reason, text, { file, offset, cause: err }) };
    }
    const reason = `malformed TOML: ${err instanceof Error ? err.message : String(err)}`;
    return { status: "error", file, error: new RuleError(reason, text, { file, cause: err }) };
  }

  const reader = new FieldReader(text, file);
  try {
    return readRule(doc, reader, file, options);
  } catch (err) {
    if (err instanceof RuleError) return { status: "error", file, ruleId: reader.ruleId, name: reader.name, error: err };
    throw err;
  }
}

function readRule(doc: Table, r: FieldReader, file: string, options: RuleFileOptions): RuleFileResult {
  const metadata = r.table(doc, "metadata", "metadata", false) ?? {};
  const rule = r.table(doc, "rule", "rule", true) as Table;
  if (typeof rule.rule_id === "string") r.ruleId = rule.rule_id;
  if (typeof rule.name === "string") r.name = rule.name;

  const maturity = r.string(metadata, "maturity", "metadata.maturity", false);
  const type = r.string(rule, "type", "rule.type", true);
  const language = r.string(rule, "language", "rule.language", false);
  const ruleId = r.nonEmptyString(rule, "rule_id", "rule.rule_id");
  const name = r.nonEmptyString(rule, "name", "rule.name");

  if (maturity === "deprecated") {
    return { status: "skipped", file, ruleId, name, reason: 'deprecated (metadata.maturity = "deprecated")' };
  }
  if (type !== "eql") {
    const lang = language ? ` in ${language}` : "";
    return { status: "skipped", file, ruleId, name, reason: `rule type "${type}"${lang}: only EQL rules run on the host` };
  }
  if (language !== undefined && language !== "eql") {
    r.fail("rule.language", `rule.language must be "eql" for a rule of type "eql", found ${describe(language)}`);
  }

  const description = r.string(rule, "description", "rule.description", true);
  const severityText = r.string(rule, "severity", "rule.severity", true);
  if (!SEVERITIES.includes(severityText as Severity)) {
    r.fail("rule.severity", `rule.severity must be one of ${SEVERITIES.join(", ")}, found ${describe(severityText)}`);
  }
  const riskScore = r.integer(rule, "risk_score", "rule.risk_score", true, 0, 100) as number;
  const version = r.integer(rule, "version", "rule.version", false, 1, Number.MAX_SAFE_INTEGER);
  const license = r.string(rule, "license", "rule.license", false);
  const author = r.strings(rule, "author", "rule.author");
  const references = r.strings(rule, "references", "rule.references");
  const tags = r.strings(rule, "tags", "rule.tags");
  const index = r.strings(rule, "index", "rule.index");
  const timestampOverride = r.string(rule, "timestamp_override", "rule.timestamp_override", false);
  r.string(rule, "from", "rule.from", false);
  const threat = r.threat(rule);
  const queryText = r.nonEmptyString(rule, "query", "rule.query");

  let query: CompiledQuery;
  let fieldWarnings: FieldWarning[] = [];
  try {
    query = compileQuery(queryText, options.compile);
    const schema = options.fieldTypes === undefined ? ecsFieldSchema() : options.fieldTypes;
    if (schema) fieldWarnings = checkFieldTypes(query.ast, schema);
  } catch (err) {
    const key = findKey(r.layout, "rule.query");
    if (err instanceof SourceError && key) {
      const toFile = stringOffsetMapper(r.text, key);
      const start = toFile(err.offset);
      if (UNSUPPORTED.test(err.reason)) {
        // Valid Elasticsearch EQL the host engine does not run (sample queries, pipes other than head/tail):
        // like a rule in another language, it is skipped, not an error in the file.
        const { line, column } = positionAt(r.text, start);
        return { status: "skipped", file, ruleId, name, reason: `unsupported EQL (line ${line}, column ${column}): ${err.reason}` };
      }
      const end = toFile(err.offset + Math.max(1, err.width) - 1) + 1;
      throw new RuleError(`bad EQL in rule.query: ${err.reason}`, r.text, {
        file,
        field: "rule.query",
        offset: start,
        width: Math.max(1, Math.min(end - start, lineRest(r.text, start))),
        ruleId,
        name,
        cause: err,
      });
    }
    const reason = err instanceof Error ? err.message : String(err);
    r.fail("rule.query", `bad EQL in rule.query: ${reason}`);
  }

  const meta: RuleMetadata = {
    ruleId,
    name,
    description: description.trim(),
    severity: severityText as Severity,
    riskScore,
    author,
    references,
    tags,
    threat,
    file,
    ruleset: options.ruleset ?? defaultRuleset(author),
  };
  if (version !== undefined) meta.version = version;
  if (license !== undefined) meta.license = license;
  if (timestampOverride !== undefined) meta.timestampOverride = timestampOverride;
  const warnings = fieldWarnings.map((w) => queryWarning(r, w, ruleId, name));
  return { status: "loaded", file, rule: { metadata: meta, query, maturity, index }, warnings };
}

/** A warning about a place in rule.query, placed in the file. */
function queryWarning(r: FieldReader, w: FieldWarning, ruleId: string, name: string): RuleWarning {
  const key = findKey(r.layout, "rule.query");
  const about = { queryField: w.field, ...(w.suggestion !== undefined ? { suggestion: w.suggestion } : {}) };
  if (!key) return new RuleWarning(w.reason, r.text, { file: r.file, field: "rule.query", ruleId, name, ...about });
  const toFile = stringOffsetMapper(r.text, key);
  const start = toFile(w.start);
  const end = toFile(Math.max(w.start, w.end - 1)) + 1;
  return new RuleWarning(w.reason, r.text, {
    file: r.file,
    field: "rule.query",
    offset: start,
    width: Math.max(1, Math.min(end - start, lineRest(r.text, start))),
    ruleId,
    name,
    ...about,
  });
}
