import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "macsensor-ecs-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ecs(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, "ecs", ...args], { encoding: "utf8", input });
  const docs = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  return { status: r.status, stderr: r.stderr, docs };
}

describe("macsensor ecs", () => {
  it("--help explains the formats and exits 0", () => {
    const r = spawnSync(process.execPath, [cli, "ecs", "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: macsensor ecs/);
    expect(r.stdout).toMatch(/eslogger/);
  });

  it("is listed in the top-level help", () => {
    const r = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^\s+ecs \[--format/m);
  });

  it("prints one ECS event per eslogger exec/fork/exit and file event", () => {
    const { status, stderr, docs } = ecs([`${fixtures}eslogger/v6-session.jsonl`]);
    expect(status).toBe(0);
    expect(docs.map((d) => d.event.action)).toEqual(["fork", "exec", "open", "end", "fork", "exec", "end"]);
    // security's own open of the keychain, with the process from the table
    expect(docs[2].event.category).toEqual(["file"]);
    expect(docs[2].file).toMatchObject({ path: "/Users/alice/Library/Keychains/login.keychain-db", name: "login.keychain-db" });
    expect(docs[2].process).toMatchObject({ name: "security", entity_id: docs[1].process.entity_id, code_signature: { signing_id: "com.apple.security" } });
    expect(docs[2].macsensor.open_mode).toEqual(["read"]);
    expect(docs[1].process.args).toEqual(["security", "dump-keychain", "-d"]);
    expect(docs[1].process.parent.name).toBe("zsh");
    expect(docs[1].host.os.type).toBe("macos");
    expect(stderr).toBe("");
  });

  it("reads stdin with - and guesses the eslogger format from pretty-printed input", () => {
    const { status, docs } = ecs(["-"], readFileSync(`${fixtures}eslogger/v11-pretty.json`, "utf8"));
    expect(status).toBe(0);
    expect(docs.map((d) => d.process.name)).toEqual(["Example Helper", "curl"]);
  });

  it("reports bad records with file:line:column on stderr, prints the rest and exits 1", () => {
    const file = `${fixtures}eslogger/malformed.jsonl`;
    const { status, stderr, docs } = ecs([file]);
    expect(status).toBe(1);
    expect(docs).toHaveLength(4);
    expect(stderr).toContain(`${file}:3:`);
    expect(stderr).toContain(`${file}:4:1: expected an integer`);
  });

  it("--env keeps a configured environment variable", () => {
    const { docs } = ecs(["--env", "DYLD_INSERT_LIBRARIES", `${fixtures}eslogger/v6-session.jsonl`]);
    expect(docs[1].process.env_vars).toEqual(["DYLD_INSERT_LIBRARIES=/tmp/x.dylib"]);
    expect(docs[0].process.env_vars).toBeUndefined();
  });

  it("--format raw maps RawEvent records, bytes given as base64", () => {
    const file = join(tmp, "raw.ndjson");
    writeFileSync(
      file,
      [
        JSON.stringify({ source: "linux", kind: "exec", seq: 1, time: 1_700_000_000_000, pid: 10, ppid: 1, executable: "/bin/bash", args: ["bash"], startTime: 1_700_000_000_000 }),
        JSON.stringify({ source: "linux", kind: "fork", seq: 2, time: 1_700_000_000_010, pid: 11, ppid: 10 }),
        JSON.stringify({ source: "linux", kind: "exec", seq: 3, time: 1_700_000_000_020, pid: 11, ppid: 10, executable: "/usr/bin/printf", args: ["printf", { base64: "Yf9i" }] }),
        JSON.stringify({ kind: "exec", pid: "x" }),
      ].join("\n") + "\n",
    );
    const { status, stderr, docs } = ecs(["--format", "raw", file]);
    expect(status).toBe(1);
    expect(stderr).toMatch(/raw\.ndjson:4:1: not a raw event: pid: expected a number/);
    expect(docs).toHaveLength(3);
    expect(docs[2].process.args).toEqual(["printf", "a\uFFFDb"]);
    expect(docs[2].macsensor.raw_bytes).toEqual([{ field: "process.args", index: 1, base64: "Yf9i" }]);
    expect(docs[2].process.parent.name).toBe("bash");
    expect(docs[2].process.entity_id).toBe(docs[1].process.entity_id);
  });

  it("--format ecs checks documents and passes the good ones through", () => {
    const golden = readFileSync(`${fixtures}ecs/v10-session.ndjson`, "utf8");
    const bad = JSON.stringify({ "@timestamp": "2025-01-01T00:00:00Z", user: { id: 501 } });
    const { status, stderr, docs } = ecs(["-"], golden + bad + "\n");
    expect(status).toBe(1);
    expect(docs).toEqual(golden.trim().split("\n").map((l) => JSON.parse(l)));
    expect(stderr).toMatch(/<stdin>:4:1: not a usable ECS event: user\.id: expected a string/);
  });

  it("--format ecs prints documents as written: one line each, big integers exact", () => {
    const doc = '{\n  "@timestamp": "2025-01-01T00:00:00Z",\n  "file": {"inode": 1152921500312524417}\n}\n';
    const r = spawnSync(process.execPath, [cli, "ecs", "--format", "ecs", "-"], { encoding: "utf8", input: doc });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('{"@timestamp":"2025-01-01T00:00:00Z","file":{"inode":1152921500312524417}}\n');
  });

  it("usage errors exit 2", () => {
    expect(ecs(["--format", "xml", "x"]).status).toBe(2);
    expect(ecs([]).status).toBe(2);
    const missing = ecs([join(tmp, "nope.json")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});
