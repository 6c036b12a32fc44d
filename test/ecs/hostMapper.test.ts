import { describe, expect, it } from "vitest";
import { createHostMapper } from "../../src/ecs/hostMapper.js";
import { get, testHost } from "./helpers.js";

describe("createHostMapper", () => {
  it.runIf(process.platform === "linux")("seeds from /proc: a new child of this process gets it as parent, with ancestry", () => {
    const mapper = createHostMapper();
    const doc = mapper.map({ source: "linux", kind: "exec", seq: 1, time: Date.now(), pid: 0x7ffffff0, ppid: process.pid, executable: "/bin/true", args: ["true"] });
    expect(get(doc, "process.parent.pid")).toBe(process.pid);
    expect(get(doc, "process.parent.executable")).toBe(process.execPath);
    expect((get(doc, "process.Ext.ancestry") as string[]).length).toBeGreaterThanOrEqual(2);
    expect(get(doc, "host.os.type")).toBe("linux");
    expect(get(doc, "user")).toBeUndefined();
  });

  it("seeds from given records (the macOS addon's list)", () => {
    const mapper = createHostMapper({
      host: testHost,
      seed: [{ source: "es", kind: "exec", seq: 0, time: 1, pid: 77, ppid: 1, executable: "/usr/sbin/sshd", args: ["sshd"], startTime: 1 }],
      users: { userName: () => undefined, groupName: () => undefined },
    });
    const doc = mapper.map({ source: "es", kind: "exec", seq: 1, time: 2, pid: 78, ppid: 77, executable: "/bin/sh", args: ["sh"] });
    expect(get(doc, "process.parent.name")).toBe("sshd");
    expect(get(doc, "host.id")).toBe(testHost.id);
    expect(get(doc, "agent.id")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
