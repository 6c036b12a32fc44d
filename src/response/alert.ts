/**
 * An alert is the triggering ECS event plus what the rule says and what the agent did; see docs/alerts.md
 * for the schema. Nested objects of the event (process, host, ...) are shared, not copied: do not change an
 * event after building an alert from it until the alert is written.
 */
import { createHash, randomUUID } from "node:crypto";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import type { RuleAction, RuleMetadata, Severity } from "../rules/ruleMetadata.js";
import { ECS_VERSION } from "../output/ecsFields.js";
import { printableLine } from "../output/printable.js";
import { threatFields } from "./threat.js";

export interface ResponseOutcome {
  action: RuleAction;
  result: "success" | "failure" | "not_applicable";
  reason?: string;
  /** The triggering event was denied (another rule's block, or this one's): the alert shows it as denied. */
  denied?: boolean;
}

export interface AlertInput {
  rule: RuleMetadata;
  /** The triggering event; for a sequence, its last event. */
  event: EcsEvent;
  /** For a sequence rule: all the sequence's events in order, the last one included. */
  sequenceEvents?: EcsEvent[];
  response: ResponseOutcome;
  agent?: { id: string; version: string; name?: string };
  /** When the alert is raised; default now. */
  now?: Date;
}

export const ALERT_MODULE = "macsensor";
export const ALERT_DATASET = "macsensor.alerts";
/** event.code of our rule alerts: Elastic Defend's value for behaviour-rule alerts, so its alert rules apply. */
export const ALERT_CODE = "behavior";

/** event.severity per rule severity, the values Elastic Defend writes and its alert rules map back. */
export const SEVERITY_SCORES: Readonly<Record<Severity, number>> = { low: 21, medium: 47, high: 73, critical: 99 };

const NAME_MAX = 256;
const COMMAND_LINE_MAX = 1024;
const USER_MAX = 128;
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false });

type Doc = Record<string, unknown>;

function objectAt(value: unknown): Doc {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Doc) : {};
}

function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return lenientUtf8.decode(value);
  return undefined;
}

function stringsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => textOf(v)).filter((v): v is string => v !== undefined);
  const one = textOf(value);
  return one === undefined ? [] : [one];
}

/**
 * One readable line: `<rule name>: <command line> (pid <pid>, user <name>)`. The command line is
 * process.command_line, else the arguments joined with spaces, else the executable; control characters and
 * other line breakers show as escapes; long command lines are cut with "…".
 */
export function alertMessage(rule: RuleMetadata, event: EcsEvent): string {
  const process = objectAt(event.process);
  const args = Array.isArray(process.args) ? stringsOf(process.args) : [];
  const commandLine = textOf(process.command_line) ?? (args.length > 0 ? args.join(" ") : undefined) ?? textOf(process.executable) ?? textOf(process.name);
  const user = objectAt(event.user);
  const processUser = objectAt(process.user);
  const userName = textOf(user.name) ?? textOf(processUser.name);
  const userId = textOf(user.id) ?? textOf(processUser.id);
  const details: string[] = [];
  const pid = textOf(process.pid);
  if (pid !== undefined) details.push(`pid ${printableLine(pid, 32)}`);
  if (userName !== undefined && userName !== "") details.push(`user ${printableLine(userName, USER_MAX)}`);
  else if (userId !== undefined) details.push(`uid ${printableLine(userId, USER_MAX)}`);
  let message = printableLine(rule.name, NAME_MAX);
  // A file event: what was done to which file, then by what.
  const path = textOf(objectAt(event.file).path);
  const action = textOf(objectAt(event.event).action);
  if (path !== undefined) {
    message += `: ${action !== undefined ? `${printableLine(action, NAME_MAX)} ` : ""}${printableLine(path, COMMAND_LINE_MAX)}`;
    if (commandLine !== undefined && commandLine !== "") message += ` by ${printableLine(commandLine, COMMAND_LINE_MAX)}`;
  } else if (commandLine !== undefined && commandLine !== "") message += `: ${printableLine(commandLine, COMMAND_LINE_MAX)}`;
  if (details.length > 0) message += ` (${details.join(", ")})`;
  return message;
}

/** Prevention (block before exec, kill after) that was attempted, or an event denied anyway, shows as "denied"; everything else as "allowed". */
function prevented(response: ResponseOutcome): boolean {
  return response.denied === true || (response.action !== "report" && response.result !== "not_applicable");
}

/**
 * The alert's id: derived from the rule and the triggering events' event.id when they all have one (so replaying
 * the same events gives the same alert ids, and a store can deduplicate on it), else random. A UUID either way
 * (version 8, RFC 9562, for the derived ones).
 */
export function alertId(ruleId: string, events: readonly EcsEvent[]): string {
  const ids = events.map((e) => textOf(objectAt(e.event).id));
  if (ids.length === 0 || ids.some((id) => id === undefined || id === "")) return randomUUID();
  const hex = createHash("sha256").update(`${ruleId}\n${ids.join("\n")}`).digest("hex");
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function alertEventFields(input: AlertInput, events: readonly EcsEvent[], source: Doc): Doc {
  const { rule, response } = input;
  const categories = stringsOf(source.category);
  if (!categories.includes("intrusion_detection")) categories.push("intrusion_detection");
  const fields: Doc = {
    kind: "alert",
    code: ALERT_CODE,
    category: categories,
    type: ["info", prevented(response) ? "denied" : "allowed"],
    action: "rule_detection",
    outcome: prevented(response) && response.result === "failure" ? "failure" : "success",
    module: ALERT_MODULE,
    dataset: ALERT_DATASET,
    severity: SEVERITY_SCORES[rule.severity],
    risk_score: rule.riskScore,
    id: alertId(rule.ruleId, events),
  };
  const first = textOf(events[0]["@timestamp"]);
  const last = textOf(events[events.length - 1]["@timestamp"]);
  if (first !== undefined) fields.start = first;
  if (last !== undefined) fields.end = last;
  return fields;
}

function ruleFields(rule: RuleMetadata): Doc {
  const fields: Doc = { id: rule.ruleId, name: rule.name, description: rule.description };
  if (rule.version !== undefined) fields.version = String(rule.version);
  if (rule.license !== undefined) fields.license = rule.license;
  if (rule.author.length > 0) fields.author = [...rule.author];
  if (rule.references.length > 0) fields.reference = [...rule.references];
  if (rule.ruleset !== undefined) fields.ruleset = rule.ruleset;
  return fields;
}

export function buildAlert(input: AlertInput): EcsEvent {
  const { rule, event, response } = input;
  const sequence = input.sequenceEvents !== undefined && input.sequenceEvents.length > 0 ? input.sequenceEvents : undefined;
  const events = sequence ?? [event];
  const source = objectAt(event.event);
  const { "@timestamp": _time, message: _message, event: _event, rule: _rule, threat: _threat, macsensor, ...fields } = event;

  const alert: EcsEvent = { "@timestamp": (input.now ?? new Date()).toISOString(), ...fields };
  if (alert.ecs === undefined) alert.ecs = { version: ECS_VERSION };
  if (input.agent !== undefined) {
    const agent: Doc = { ...objectAt(fields.agent), id: input.agent.id, version: input.agent.version };
    if (input.agent.name !== undefined) agent.name = input.agent.name;
    alert.agent = agent;
  }
  // Every alert, live or replayed, names the same data stream, so a shipper routes them all to
  // logs-macsensor.alerts-<namespace> (docs/shipping/); the event's namespace is kept when it has one.
  const namespace = objectAt(fields.data_stream).namespace;
  alert.data_stream = { type: "logs", dataset: ALERT_DATASET, namespace: typeof namespace === "string" && namespace !== "" ? namespace : "default" };
  alert.message = alertMessage(rule, event);
  alert.event = alertEventFields(input, events, source);
  alert.rule = ruleFields(rule);
  const threat = threatFields(rule.threat);
  if (threat !== undefined) alert.threat = threat;

  const own: Doc = { ...objectAt(macsensor) };
  if (event.event !== undefined) own.original_event = event.event;
  const outcome: Doc = { action: response.action, result: response.result };
  if (response.reason !== undefined) outcome.reason = response.reason;
  own.response = outcome;
  if (sequence !== undefined) own.sequence = { events: [...sequence] };
  alert.macsensor = own;
  return alert;
}
