/**
 * The two fields every line we write carries (the equivalent of @elastic/ecs-winston-format): `@timestamp` and
 * `ecs.version`. A document that already has them keeps its own values.
 */
import { ECS_VERSION } from "../ecs/ecsVersion.js";

export { ECS_VERSION };

export type Doc = Record<string, unknown>;

/** `doc` itself when it already has both fields, else a copy with `@timestamp` first and `ecs.version` set. */
export function withEcsBase(doc: Doc, now: () => Date = () => new Date()): Doc {
  const hasTimestamp = doc["@timestamp"] !== undefined;
  const ecs = doc.ecs;
  const hasVersion = ecs !== null && typeof ecs === "object" && (ecs as Doc).version !== undefined;
  if (hasTimestamp && hasVersion) return doc;
  const out: Doc = hasTimestamp ? { ...doc } : { "@timestamp": now().toISOString(), ...doc };
  if (!hasVersion) {
    out.ecs = ecs !== null && typeof ecs === "object" && !Array.isArray(ecs) ? { ...(ecs as Doc), version: ECS_VERSION } : { version: ECS_VERSION };
  }
  return out;
}
