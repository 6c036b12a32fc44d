import { describe, expect, it } from "vitest";
import { validateEcsEvent } from "../../src/ecs/validate.js";
import { exec, testMapper } from "./helpers.js";

describe("validateEcsEvent", () => {
  it("accepts what the mapper writes", () => {
    expect(validateEcsEvent(testMapper().map(exec(1, { executable: "/bin/ls", args: ["ls"], uid: 0 })))).toEqual([]);
  });

  it("reports numeric ids, non-array types, bad dates, wrong counts and event.kind signal", () => {
    const problems = validateEcsEvent({
      "@timestamp": "yesterday",
      event: { kind: "signal", category: "process", type: ["start"] },
      user: { id: 501 },
      process: { pid: "12", args: ["a", "b"], args_count: 3 },
    });
    expect(problems.map((p) => p.field).sort()).toEqual(["@timestamp", "event.category", "event.kind", "process.args_count", "process.pid", "user.id"].sort());
  });

  it("requires @timestamp and an object", () => {
    expect(validateEcsEvent({})).toEqual([{ field: "@timestamp", reason: "missing (ECS requires it)" }]);
    expect(validateEcsEvent("x")[0].field).toBe("(document)");
  });
});
