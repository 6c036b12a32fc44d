import { describe, expect, it } from "vitest";
import { rawEventFromJson, rawEventToJson } from "../../src/ecs/rawEventJson.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

describe("RawEvent JSON", () => {
  it("round-trips, bytes as {base64}", () => {
    const raw: RawEvent = { source: "linux", kind: "exec", seq: 3, time: 1, pid: 9, executable: new Uint8Array([0x2f, 0xff]), args: ["a", new Uint8Array([0xfe])], cwd: "/" };
    const text = rawEventToJson(raw);
    expect(JSON.parse(text).executable).toEqual({ base64: "L/8=" });
    const back = rawEventFromJson(JSON.parse(text));
    expect(back).toEqual({ event: raw });
  });

  it("names every bad field", () => {
    const r = rawEventFromJson({ kind: "spawn", pid: "9", seq: 1, time: 2, args: ["x", 5], ppid: "1" });
    expect("problems" in r && r.problems.map((p) => p.field)).toEqual(["kind", "pid", "ppid", "args[1]"]);
    expect(rawEventFromJson([1])).toEqual({ problems: [{ field: "(record)", reason: "expected an object" }] });
  });

  it("defaults the source to replay", () => {
    const r = rawEventFromJson({ kind: "exit", pid: 1, seq: 1, time: 1 });
    expect("event" in r && r.event.source).toBe("replay");
  });

  it("file events: the file round-trips, bytes as {base64}; a missing or bad file is named", () => {
    const raw: RawEvent = { source: "es", kind: "rename", seq: 4, time: 2, pid: 9, file: { path: new Uint8Array([0x2f, 0xfe]), originalPath: "/a", originalPathTruncated: true } };
    expect(rawEventFromJson(JSON.parse(rawEventToJson(raw)))).toEqual({ event: raw });
    const missing = rawEventFromJson({ kind: "open", pid: 1, seq: 1, time: 1 });
    expect("problems" in missing && missing.problems.map((p) => p.field)).toEqual(["file"]);
    const bad = rawEventFromJson({ kind: "open", pid: 1, seq: 1, time: 1, file: { path: 3, openFlags: "r", pathTruncated: 1 } });
    expect("problems" in bad && bad.problems.map((p) => p.field)).toEqual(["file.path", "file.pathTruncated", "file.openFlags"]);
  });
});
