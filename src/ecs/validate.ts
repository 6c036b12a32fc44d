import type { EcsEvent } from "./ecsEvent.js";

/** A field of an ECS document that rules would misread: where and why. */
export interface EcsProblem {
  field: string;
  reason: string;
}

function at(doc: EcsEvent, path: string): unknown {
  let v: unknown = doc;
  for (const key of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const KEYWORD_IDS = ["user.id", "group.id", "host.id", "agent.id", "process.entity_id", "process.parent.entity_id", "process.user.id", "process.group.id", "event.id"];
const LONGS = ["process.pid", "process.parent.pid", "process.args_count", "process.exit_code", "event.sequence"];
const ARRAYS_OF_STRINGS = ["event.category", "event.type", "process.args", "process.parent.args", "process.Ext.ancestry", "process.env_vars"];
const DATES = ["@timestamp", "event.created", "process.start", "process.end"];

/**
 * Checks what the rules depend on (the conventions of shared/reference/ecs-process-events.md §1): dates are ISO
 * strings, ids are strings, pids are integers, category/type/args are arrays of strings, and event.kind is never
 * "signal". Returns the problems; an empty list means the document is usable.
 */
export function validateEcsEvent(doc: unknown): EcsProblem[] {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return [{ field: "(document)", reason: "expected a JSON object" }];
  const d = doc as EcsEvent;
  const problems: EcsProblem[] = [];
  if (d["@timestamp"] === undefined) problems.push({ field: "@timestamp", reason: "missing (ECS requires it)" });
  for (const field of DATES) {
    const v = at(d, field);
    if (v !== undefined && (typeof v !== "string" || !ISO.test(v))) problems.push({ field, reason: "expected an ISO 8601 date string" });
  }
  for (const field of KEYWORD_IDS) {
    const v = at(d, field);
    if (v !== undefined && typeof v !== "string") problems.push({ field, reason: `expected a string (ECS keyword), got ${typeof v}` });
  }
  for (const field of LONGS) {
    const v = at(d, field);
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v))) problems.push({ field, reason: "expected an integer" });
  }
  for (const field of ARRAYS_OF_STRINGS) {
    const v = at(d, field);
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) problems.push({ field, reason: "expected an array of strings" });
  }
  if (at(d, "event.kind") === "signal") problems.push({ field: "event.kind", reason: '"signal" is reserved for Kibana alerts' });
  const args = at(d, "process.args");
  const count = at(d, "process.args_count");
  if (Array.isArray(args) && typeof count === "number" && count !== args.length) {
    problems.push({ field: "process.args_count", reason: `is ${count} but process.args has ${args.length} entries` });
  }
  return problems;
}
