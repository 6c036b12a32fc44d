import { describe, expect, it } from "vitest";
import { AGENT_HEAP_FLAGS, missingHeapFlags } from "../../src/agent/heapFlags.js";

describe("missingHeapFlags", () => {
  it("names every shipped flag when neither the command line nor NODE_OPTIONS has it", () => {
    expect(missingHeapFlags([], undefined)).toEqual([...AGENT_HEAP_FLAGS]);
    expect(missingHeapFlags(["--expose-gc"], "--no-warnings")).toEqual([...AGENT_HEAP_FLAGS]);
  });

  it("accepts each flag from either place, with any value and V8's underscore spelling", () => {
    expect(missingHeapFlags(["--max-semi-space-size=4", "--v8-pool-size=2"], "--max_old_space_size=512")).toEqual([]);
    expect(missingHeapFlags([], "  --max-old-space-size=256   --max-semi-space-size=1 --v8-pool-size=1 ")).toEqual([]);
    expect(missingHeapFlags([], "--max-old-space-size=256")).toEqual(["--max-semi-space-size=1", "--v8-pool-size=1"]);
  });

  it("does not take a longer option for one of its flags", () => {
    expect(missingHeapFlags(["--max-semi-space-size-x=1"], "--max-old-space-size-y=1")).toEqual([...AGENT_HEAP_FLAGS]);
  });
});
