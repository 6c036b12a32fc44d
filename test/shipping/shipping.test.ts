// docs/shipping/: the shipper configurations, ingest pipeline, index template and Kibana rule, checked against the
// alert documents the agent really writes (the shipped rules replayed over the bundled recording and every rule
// fixture, plus a sequence alert) and against ECS's field types from @elastic/ecs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildAlert } from "../../src/response/alert.js";
import { ruleMetadata } from "../helpers/ruleMetadata.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const shipping = join(repo, "docs", "shipping");
const cli = join(repo, "dist", "cli", "main.js");
const ALERT_LOG = "/Library/Logs/macsensor/alerts.ndjson";

type Doc = Record<string, unknown>;
const readJson = (name: string): Doc => JSON.parse(readFileSync(join(shipping, name), "utf8")) as Doc;
const readYaml = (name: string): Doc => parseYaml(readFileSync(join(shipping, name), "utf8")) as Doc;
const at = (doc: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Doc)[k] : undefined), doc);

const require = createRequire(import.meta.url);
const { EcsFlat } = require("@elastic/ecs/build/commonjs/ecs_flat.js") as { EcsFlat: Record<string, { flat_name: string; type: string }> };
const ecsType = new Map(Object.values(EcsFlat).map((f) => [f.flat_name, f.type]));

/** Alert documents as the agent writes them: replay of the recording and every fixture, one block action among them. */
function writtenAlerts(): Doc[] {
  const dir = mkdtempSync(join(tmpdir(), "macsensor-shipping-"));
  const inputs = [join(repo, "samples", "recorded-events.ndjson")];
  const fixtures = join(repo, "test", "fixtures", "events");
  for (const d of readdirSync(fixtures, { withFileTypes: true })) if (d.isDirectory()) inputs.push(join(fixtures, d.name, "positive.ndjson"));
  const alerts: Doc[] = [];
  inputs.forEach((input, i) => {
    const file = join(dir, `alerts-${i}.ndjson`);
    const r = spawnSync(process.execPath, [cli, "replay", input, "--alerts", file, "--action", "5d2a8f1e-3c47-4b8e-9a61-0f2e7c4d9b13=block"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    for (const line of readFileSync(file, "utf8").split("\n")) if (line !== "") alerts.push(JSON.parse(line) as Doc);
  });
  const events = readFileSync(inputs[1], "utf8").split("\n").filter(Boolean).slice(0, 2).map((l) => JSON.parse(l) as Doc);
  const sequence = buildAlert({ rule: ruleMetadata("seq-rule", "a sequence"), event: events[1], sequenceEvents: events, response: { action: "report", result: "success" } });
  alerts.push(JSON.parse(JSON.stringify(sequence)) as Doc);
  return alerts;
}

/** Every leaf of a document: its dotted path (array positions left out, as Elasticsearch maps them) and value. */
function leaves(value: unknown, path: string, out: [string, unknown][]): [string, unknown][] {
  if (Array.isArray(value)) for (const v of value) leaves(v, path, out);
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  else out.push([path, value]);
  return out;
}

/** The template's explicit field types, flattened to dotted names. */
function templateFields(properties: Doc, prefix = "", out = new Map<string, string>()): Map<string, string> {
  for (const [name, spec] of Object.entries(properties) as [string, Doc][]) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof spec.type === "string") out.set(path, spec.type);
    if (spec.properties) templateFields(spec.properties as Doc, path, out);
  }
  return out;
}

/** Whether a JSON value can be indexed as a field of this mapping type. */
function fits(type: string, value: unknown): boolean {
  switch (type) {
    case "keyword":
    case "constant_keyword":
    case "wildcard":
    case "match_only_text":
    case "text":
    case "version":
      return typeof value === "string";
    case "long":
    case "integer":
    case "short":
    case "byte":
    case "unsigned_long":
      return typeof value === "number" && Number.isInteger(value);
    case "float":
    case "double":
    case "scaled_float":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "date":
      return typeof value === "string" && !Number.isNaN(Date.parse(value));
    case "ip":
      return typeof value === "string";
    default:
      return false;
  }
}

describe("docs/shipping", () => {
  const template = readJson("index-template.json");
  const pipeline = readJson("ingest-pipeline.json");
  const explicit = templateFields(at(template, "template.mappings.properties") as Doc);
  const alerts = writtenAlerts();

  it("every alert names the data stream the shippers and the template use", () => {
    expect(alerts.length).toBeGreaterThan(10);
    for (const a of alerts) expect(a.data_stream).toEqual({ type: "logs", dataset: "macsensor.alerts", namespace: "default" });
    expect(template.index_patterns).toEqual(["logs-macsensor.alerts-*"]);
    expect(template.data_stream).toEqual({});
  });

  it("every field of the alerts we write is ECS with ECS's type, or mapped by the template with a type that fits", () => {
    const flattened = [...explicit].filter(([, t]) => t === "flattened").map(([p]) => p);
    const problems = new Set<string>();
    let checked = 0;
    for (const alert of alerts) {
      for (const [path, value] of leaves(alert, "", [])) {
        if (flattened.some((f) => path === f || path.startsWith(`${f}.`))) continue;
        const type = ecsType.get(path) ?? explicit.get(path);
        if (type === undefined) problems.add(`${path}: neither ECS nor mapped by docs/shipping/index-template.json`);
        else if (!fits(type, value)) problems.add(`${path}: ${JSON.stringify(value)} does not fit its type ${type}`);
        checked++;
      }
    }
    expect([...problems]).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  });

  it("the template maps no ECS field differently from ECS, and composes ECS's own mappings", () => {
    for (const [path, type] of explicit) if (ecsType.has(path)) expect(`${path}: ${type}`).toBe(`${path}: ${ecsType.get(path)}`);
    expect(template.composed_of).toContain("ecs@mappings");
    expect(at(template, "template.settings")).toEqual({ "index.default_pipeline": "macsensor-alerts" });
  });

  it("the ingest pipeline stamps event.ingested, and nothing else changes the document", () => {
    const processors = pipeline.processors as Doc[];
    expect(processors).toEqual([{ set: { field: "event.ingested", value: "{{{_ingest.timestamp}}}", tag: "macsensor-event-ingested" } }]);
    expect(ecsType.get("event.ingested")).toBe("date");
  });

  it("Elastic Agent reads the alert log and its rotations as NDJSON into the alerts data stream", () => {
    const agent = readYaml("elastic-agent.yml");
    const input = (agent.inputs as Doc[]).find((i) => i.type === "filestream") as Doc;
    expect(input["data_stream.namespace"]).toBe("default");
    const stream = (input.streams as Doc[])[0];
    expect(stream["data_stream.dataset"]).toBe("macsensor.alerts");
    expect(stream.paths).toEqual([`${ALERT_LOG}*`]);
    expect(stream.pipeline).toBe("macsensor-alerts");
    expect(stream.parsers).toEqual([{ ndjson: { target: "", overwrite_keys: true, expand_keys: true, add_error_key: true } }]);
  });

  it("Fluent Bit tails the alert log, keeps @timestamp, and creates into the alerts data stream", () => {
    const fb = readYaml("fluent-bit.yaml");
    const parser = (fb.parsers as Doc[])[0];
    const input = (at(fb, "pipeline.inputs") as Doc[])[0];
    const output = (at(fb, "pipeline.outputs") as Doc[])[0];
    expect(input).toMatchObject({ name: "tail", path: ALERT_LOG, parser: parser.name });
    expect(parser).toMatchObject({ format: "json", time_key: "@timestamp", time_keep: false });
    // The parser's time format must read the @timestamp we write (ISO 8601 with milliseconds and Z).
    expect(parser.time_format).toBe("%Y-%m-%dT%H:%M:%S.%L%z");
    for (const a of alerts) expect(a["@timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(output).toMatchObject({ name: "es", index: "logs-macsensor.alerts-default", write_operation: "create", pipeline: "macsensor-alerts", time_key: "@timestamp" });
    expect(output.match).toBe(input.tag);
  });

  it("the Kibana rule promotes our alerts, named and scored by fields every alert has", () => {
    const lines = readFileSync(join(shipping, "kibana-macsensor-alerts-rule.ndjson"), "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    const rule = JSON.parse(lines[0]) as Doc;
    expect(rule).toMatchObject({ type: "query", language: "kuery", index: ["logs-macsensor.alerts-*"], rule_name_override: "rule.name", timestamp_override: "event.ingested" });
    expect(rule.query).toBe("event.kind:alert and event.module:macsensor");
    const severities = (rule.severity_mapping as Doc[]).map((m) => [m.field, Number(m.value), m.severity]);
    expect(severities).toEqual([
      ["event.severity", 21, "low"],
      ["event.severity", 47, "medium"],
      ["event.severity", 73, "high"],
      ["event.severity", 99, "critical"],
    ]);
    for (const a of alerts) {
      expect(at(a, "event.kind")).toBe("alert");
      expect(at(a, "event.module")).toBe("macsensor");
      expect(typeof at(a, "rule.name")).toBe("string");
      expect([21, 47, 73, 99]).toContain(at(a, "event.severity"));
      expect(typeof at(a, "event.risk_score")).toBe("number");
      // The message starts with the rule name, so External Alerts' message-named alerts still read by rule.
      expect(String(a.message).startsWith(String(at(a, "rule.name")))).toBe(true);
    }
  });
});
