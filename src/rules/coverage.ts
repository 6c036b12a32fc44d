/**
 * Which event categories a rule needs, and whether this sensor produces events it could match: a rule that can
 * never fire is loaded but flagged, never silently counted as coverage.
 *
 * A stage (an event query, or a sequence stage that must be seen) can fire when its category is one the sensor
 * produces (or `any`) and some kind of event of that category has the event.action / event.type values it tests
 * (the same reading as the event relevance, src/agent/eventRelevance.ts). A sequence fires when every such stage
 * can; missing (`![...]`) and `until` stages need no event. Read for a sensor on a known OS, a stage that tests
 * host.os.type against other OS types only (Elastic's macOS rules say `host.os.type == "macos"`) cannot fire
 * either: every event carries the sensor host's own type.
 */
import { queryKinds, type SensorContext } from "../agent/eventRelevance.js";
import type { EventQuery, Query } from "../eql/ast.js";

/** The event.category values this sensor's documents carry (src/ecs/mapper.ts). */
export const PRODUCED_CATEGORIES: readonly string[] = ["process", "file"];

export interface RuleCoverage {
  /** The event categories the rule's stages name, sorted; `any` stages add none. */
  needs: string[];
  /** Whether this sensor produces events every needed stage could match. */
  fires: boolean;
  /** Why it cannot fire (absent when it can). */
  reason?: string;
}

/** The ECS host.os.type of a Node.js platform, as src/ecs/host.ts writes it. */
export function hostOsTypeOf(platform: string): string {
  if (platform === "darwin") return "macos";
  if (platform === "linux") return "linux";
  return platform === "win32" ? "windows" : "unix";
}

export function ruleCoverage(query: Query, context: SensorContext = {}): RuleCoverage {
  const body = query.body;
  const stages: EventQuery[] = body.kind === "event" ? [body] : body.stages.filter((s) => !s.missing).map((s) => s.query);
  const needs = [...new Set(stages.flatMap((s) => (s.category === null ? [] : [s.category])))].sort();
  const missing = needs.filter((c) => !PRODUCED_CATEGORIES.includes(c));
  if (missing.length > 0) {
    return { needs, fires: false, reason: `needs ${missing.join(" and ")} events, which this sensor does not produce` };
  }
  for (const stage of stages) {
    const asQuery: Query = { ...query, body: stage, pipes: [] };
    if (queryKinds(asQuery, context).size > 0) continue;
    if (queryKinds(asQuery).size > 0) {
      return { needs, fires: false, reason: `its host.os.type condition excludes this sensor's host (${context.hostOsType})` };
    }
    return { needs, fires: false, reason: `no ${stage.category ?? "event"} event this sensor produces has the event.action / event.type it tests` };
  }
  return { needs, fires: true };
}
