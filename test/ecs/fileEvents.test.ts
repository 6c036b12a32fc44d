import { describe, expect, it } from "vitest";
import { ECS_ACTION, ECS_TYPE, pathParts } from "../../src/ecs/mapper.js";
import { validateEcsEvent } from "../../src/ecs/validate.js";
import { RAW_OPEN_READ, RAW_OPEN_WRITE, type RawEvent } from "../../src/sensor/rawEvent.js";
import { exec, fork, get, testMapper } from "./helpers.js";

let seq = 1000;
function fileEvent(kind: RawEvent["kind"], pid: number, file: RawEvent["file"], fields: Partial<RawEvent> = {}): RawEvent {
  return { source: "linux", kind, seq: ++seq, time: 1_700_000_100_000 + seq, pid, file, ...fields };
}

describe("ECS mapping of file events", () => {
  it("has Defend's file event shape, with process.* from the process table", () => {
    const m = testMapper();
    m.map(exec(300, { executable: "/bin/zsh", args: ["-zsh"], startTime: 1_699_999_000_000, codeSignature: { signingId: "com.apple.zsh", platformBinary: true } }));
    m.map(fork(301, 300, { startTime: 1_700_000_000_500 }));
    m.map(exec(301, { ppid: 300, executable: "/tmp/stealer", args: ["stealer", "--all"], codeSignature: { signingId: "a.out", flags: 0x2 } }));
    const doc = m.map(fileEvent("open", 301, { path: "/Users/alice/Library/Keychains/login.keychain-db", openFlags: RAW_OPEN_READ }));
    expect(get(doc, "event.category")).toEqual(["file"]);
    expect(get(doc, "event.action")).toBe("open");
    expect(get(doc, "event.type")).toEqual(["access"]);
    expect(get(doc, "event.dataset")).toBe("endpoint.events.file");
    expect(get(doc, "data_stream.dataset")).toBe("endpoint.events.file");
    expect(get(doc, "message")).toBe("Endpoint file event");
    expect(get(doc, "file")).toEqual({
      path: "/Users/alice/Library/Keychains/login.keychain-db",
      name: "login.keychain-db",
      extension: "keychain-db",
      directory: "/Users/alice/Library/Keychains",
    });
    expect(get(doc, "macsensor.open_mode")).toEqual(["read"]);
    expect(get(doc, "process.executable")).toBe("/tmp/stealer");
    expect(get(doc, "process.name")).toBe("stealer");
    expect(get(doc, "process.args")).toEqual(["stealer", "--all"]);
    expect(get(doc, "process.code_signature.signing_id")).toBe("a.out");
    expect(get(doc, "process.parent.name")).toBe("zsh");
    expect(get(doc, "process.parent.code_signature.signing_id")).toBe("com.apple.zsh");
    const execDoc = m.map(fileEvent("delete", 301, { path: "/tmp/x" }));
    expect(get(execDoc, "process.entity_id")).toBe(get(doc, "process.entity_id"));
    expect(validateEcsEvent(doc)).toEqual([]);
  });

  it("a file event does not end or replace its process in the table", () => {
    const m = testMapper();
    m.map(exec(310, { executable: "/bin/cp", args: ["cp", "a", "b"] }));
    m.map(fileEvent("create", 310, { path: "/tmp/b" }));
    expect(m.table.stats.exited).toBe(0);
    const again = m.map(fileEvent("modify", 310, { path: "/tmp/b" }, { executable: "/other" }));
    expect(get(again, "process.executable")).toBe("/bin/cp");
    expect(get(again, "process.end")).toBeUndefined();
    expect(get(again, "process.previous")).toBeUndefined();
  });

  it("a process the table lacks: what the event carries", () => {
    const m = testMapper();
    const doc = m.map(fileEvent("create", 320, { path: "/tmp/copy.keychain-db" }, { ppid: 1, executable: "/usr/bin/ditto", args: ["ditto", "a", "b"], codeSignature: { signingId: "com.apple.ditto", platformBinary: true } }));
    expect(get(doc, "process.executable")).toBe("/usr/bin/ditto");
    expect(get(doc, "process.args")).toEqual(["ditto", "a", "b"]);
    expect(get(doc, "process.code_signature.signing_id")).toBe("com.apple.ditto");
    expect(get(doc, "process.parent.pid")).toBe(1);
    expect(get(doc, "event.action")).toBe("creation");
    expect(get(doc, "event.type")).toEqual(["creation"]);
  });

  it("rename: the source in file.Ext.original", () => {
    const doc = testMapper().map(fileEvent("rename", 330, { path: "/tmp/loot/k.db", originalPath: "/Users/alice/Library/Keychains/login.keychain-db" }));
    expect(get(doc, "event.action")).toBe("rename");
    expect(get(doc, "event.type")).toEqual(["change"]);
    expect(get(doc, "file.path")).toBe("/tmp/loot/k.db");
    expect(get(doc, "file.Ext.original")).toEqual({
      path: "/Users/alice/Library/Keychains/login.keychain-db",
      name: "login.keychain-db",
      extension: "keychain-db",
      directory: "/Users/alice/Library/Keychains",
    });
    expect(validateEcsEvent(doc)).toEqual([]);
  });

  it("invalid UTF-8 paths: U+FFFD in the field, exact bytes in macsensor.raw_bytes; truncation flagged", () => {
    const bad = new Uint8Array([0x2f, 0x74, 0x2f, 0xff, 0x2e, 0x64, 0x62]);
    const doc = testMapper().map(fileEvent("rename", 340, { path: bad, pathTruncated: true, originalPath: "/a/b" }));
    expect(get(doc, "file.path")).toBe("/t/\ufffd.db");
    expect(get(doc, "file.extension")).toBe("db");
    expect(get(doc, "macsensor.raw_bytes")).toEqual([{ field: "file.path", base64: Buffer.from(bad).toString("base64") }]);
    expect(get(doc, "macsensor.path_truncated")).toBe(true);
  });

  it("open flags → macsensor.open_mode", () => {
    const doc = testMapper().map(fileEvent("open", 350, { path: "/etc/passwd", openFlags: RAW_OPEN_READ | RAW_OPEN_WRITE }));
    expect(get(doc, "macsensor.open_mode")).toEqual(["read", "write"]);
  });

  it("Defend's action and type for every file kind", () => {
    expect([ECS_ACTION.open, ECS_ACTION.create, ECS_ACTION.modify, ECS_ACTION.rename, ECS_ACTION.delete]).toEqual(["open", "creation", "modification", "rename", "deletion"]);
    expect([ECS_TYPE.open, ECS_TYPE.create, ECS_TYPE.modify, ECS_TYPE.rename, ECS_TYPE.delete]).toEqual([["access"], ["creation"], ["change"], ["change"], ["deletion"]]);
  });

  it("path parts: dot files have no extension; the root directory is /", () => {
    expect(pathParts("/.bashrc")).toEqual({ name: ".bashrc", directory: "/" });
    expect(pathParts("/a/b.tar.gz")).toEqual({ name: "b.tar.gz", extension: "gz", directory: "/a" });
    expect(pathParts("rel")).toEqual({ name: "rel" });
    expect(pathParts("/a/b.")).toEqual({ name: "b.", directory: "/a" });
  });
});
