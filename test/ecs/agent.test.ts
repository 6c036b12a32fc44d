import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_VERSION, defaultAgent, recordedMacHost } from "../../src/ecs/agent.js";
import { testHost } from "./helpers.js";

describe("agent and recorded host", () => {
  it("agent.version is the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });

  it("the default agent id is derived from host.id: stable per host, different between hosts", () => {
    expect(defaultAgent(testHost).id).toBe(defaultAgent({ ...testHost }).id);
    expect(defaultAgent({ ...testHost, id: "other" }).id).not.toBe(defaultAgent(testHost).id);
    expect(defaultAgent(testHost)).toMatchObject({ type: "endpoint", name: "macsensor" });
  });

  it("a recording read off its Mac is macOS with unknown ids unless given", () => {
    expect(recordedMacHost().os.type).toBe("macos");
    expect(recordedMacHost().id).toBe("unknown");
    expect(recordedMacHost({ id: "H-1", name: "Bobs-Mac" })).toMatchObject({ id: "H-1", name: "bobs-mac", hostname: "Bobs-Mac" });
  });
});
