// `macsensor query`, run as the CLI is run: dist/cli/main.js after `npx tsc -p .`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const conformanceEvents = new URL("../../../shared/eql-conformance/events.ndjson", import.meta.url).pathname;

function query(args: string[], input?: string) {
  return spawnSync(process.execPath, [cli, "query", ...args], { encoding: "utf8", input });
}

const dir = mkdtempSync(join(tmpdir(), "macsensor-query-"));

describe("macsensor query", () => {
  it("prints event hits as {_source} NDJSON in timestamp/tiebreaker order", () => {
    const r = query(["process where serial_event_id in (3, 1, 2)", conformanceEvents, "--tiebreaker", "serial_event_id"]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l._source.serial_event_id)).toEqual([1, 2, 3]);
  });

  it("prints sequence hits with join_keys and events, missing events as {missing: true}", () => {
    const r = query([
      "sequence by unique_pid [process where opcode == 1] ![process where opcode == 999] [network where true]",
      conformanceEvents,
      "--tiebreaker",
      "serial_event_id",
    ]);
    expect(r.status).toBe(0);
    const hits = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(hits[0].join_keys).toEqual([75273]);
    expect(hits[0].events.map((e: { _source?: { serial_event_id: number }; missing?: boolean }) => e._source?.serial_event_id ?? e.missing)).toEqual([75273, true, 75304]);
  });

  it("limits output with --size and reads stdin with -", () => {
    const input = [1, 2, 3].map((n) => JSON.stringify({ "@timestamp": n, event: { category: "process" }, n })).join("\n");
    const r = query(["process where true", "-", "--size", "2"], input);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l)._source.n)).toEqual([1, 2]);
  });

  it("reads a JSON array and honours --category-field and --timestamp-field", () => {
    const file = join(dir, "events.json");
    writeFileSync(file, JSON.stringify([{ kind: "x", t: "2026-01-02T00:00:00Z", n: 1 }, { kind: "x", t: "2026-01-01T00:00:00Z", n: 2 }]));
    const r = query(["x where true", file, "--category-field", "kind", "--timestamp-field", "t"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l)._source.n)).toEqual([2, 1]);
  });

  it("exits 0 with no output when nothing matches", () => {
    const r = query(["process where false", conformanceEvents]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
  });

  it("exits 2 on a bad query with line, column and caret on stderr", () => {
    const r = query(["process where\n  process.name == process.parent.name", conformanceEvents]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "macsensor query: comparing field 'process.name' with field 'process.parent.name' is not supported; compare a field with a literal (line 2, column 3)\n" +
        "1 | process where\n2 |   process.name == process.parent.name\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
    );
    const syntax = query(["process where (", conformanceEvents]);
    expect(syntax.status).toBe(2);
    expect(syntax.stderr).toMatch(/\(line 1, column 16\)/);
  });

  it("names the bad line of the events and exits 1", () => {
    const file = join(dir, "bad.ndjson");
    writeFileSync(file, '{"a": 1}\n\n{"a": 2,}\n');
    const r = query(["any where true", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:3: not valid JSON`);
    writeFileSync(file, '{"a": 1}\n[1]\n');
    expect(query(["any where true", file]).stderr).toContain(`${file}:2: an event must be a JSON object`);
    expect(query(["any where true", join(dir, "absent.ndjson")]).status).toBe(1);
  });

  it("--help exits 0; usage errors exit 2", () => {
    const help = query(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: macsensor query/);
    expect(query(["process where true"]).status).toBe(2);
    expect(query(["process where true", "-", "--size", "x"]).status).toBe(2);
    expect(query(["process where true", "-", "--bogus"]).status).toBe(2);
  });
});
