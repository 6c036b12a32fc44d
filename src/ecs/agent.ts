import { shortHash } from "./entityId.js";
import type { EcsHost } from "./host.js";
import type { EcsAgent } from "./mapper.js";

/** Our version, written as agent.version (kept equal to package.json by test/ecs/agent.test.ts). */
export const AGENT_VERSION = "0.1.0";

/** agent.* when no configured agent id exists: an id derived from host.id, so it is stable across restarts. */
export function defaultAgent(host: EcsHost): EcsAgent {
  return { id: shortHash(`macsensor-agent|${host.id}`), version: AGENT_VERSION, type: "endpoint", name: "macsensor" };
}

/**
 * host.* for events recorded on a Mac (eslogger captures) but read elsewhere: the recording says nothing about
 * the host, so only what is certain is filled (os.type macos, which the macOS rules filter on); the rest is
 * "unknown" unless given.
 */
export function recordedMacHost(overrides: { id?: string; name?: string } = {}): EcsHost {
  const name = overrides.name ?? "unknown";
  return {
    id: overrides.id ?? "unknown",
    name: name.toLowerCase(),
    hostname: name,
    architecture: "unknown",
    os: { type: "macos", name: "macOS", version: "", platform: "darwin", family: "darwin" },
  };
}
