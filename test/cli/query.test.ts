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

describe("macsensor query: ECS field types", () => {
  const ecsEvents = join(dir, "ecs.ndjson");
  writeFileSync(
    ecsEvents,
    [
      { "@timestamp": "2026-01-01T00:00:00Z", event: { category: ["process"] }, process: { pid: 7, name: "security" } },
      { "@timestamp": "2026-01-01T00:00:01Z", event: { category: ["process"] }, process: { pid: 8, name: "ls" } },
    ]
      .map((e) => JSON.stringify(e))
      .join("\n"),
  );

  it("a field ECS does not know: a warning with the closest name and the place on stderr; the query still runs", () => {
    const r = query(['process where process.nmae == "x" or process.pid == 8', ecsEvents]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l)._source.process.pid)).toEqual([8]);
    expect(r.stderr).toBe(
      "macsensor query: warning: unknown field 'process.nmae': neither in ECS nor produced by macsensor; did you mean 'process.name'? (line 1, column 15) (--no-ecs-types turns this check off)\n" +
        '1 | process where process.nmae == "x" or process.pid == 8\n' +
        "  |               ^^^^^^^^^^^^\n",
    );
  });

  it("a comparison Elasticsearch rejects for the ECS type: exit 2 with line and column", () => {
    const r = query(['process where\n  process.pid : "7"', ecsEvents]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("':' needs a string field, but 'process.pid' is long in ECS; compare with == instead (line 2, column 3)");
  });

  it("--no-ecs-types: non-ECS data (the Endgame conformance events) without warnings", () => {
    const typed = query(["process where serial_event_id in (3, 1, 2)", conformanceEvents, "--tiebreaker", "serial_event_id"]);
    expect(typed.stderr).toContain("unknown field 'serial_event_id'");
    const r = query(["process where serial_event_id in (3, 1, 2)", conformanceEvents, "--tiebreaker", "serial_event_id", "--no-ecs-types"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(typed.stdout);
    expect(query(['process where process.pid : "7"', ecsEvents, "--no-ecs-types"]).stdout.trim().split("\n").map((l) => JSON.parse(l)._source.process.pid)).toEqual([7]);
  });

  it("--mapping FILE replaces ECS: its types and its names", () => {
    const mapping = join(dir, "endgame.json");
    writeFileSync(mapping, JSON.stringify({ serial_event_id: "long", process_name: "keyword", opcode: "long" }));
    const ok = query(["process where serial_event_id == 1", conformanceEvents, "--mapping", mapping]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe("");
    const typo = query(['process where proces_name == "x"', conformanceEvents, "--mapping", mapping]);
    expect(typo.stderr).toContain(`warning: unknown field 'proces_name': not in ${mapping}; did you mean 'process_name'?`);
    const bad = query(['process where opcode : "1"', conformanceEvents, "--mapping", mapping]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`':' needs a string field, but 'opcode' is long in ${mapping}`);
  });

  it("bad --mapping files and conflicting flags are usage errors", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{");
    expect(query(["process where true", conformanceEvents, "--mapping", broken]).stderr).toMatch(/^macsensor query: .*broken\.json: not valid JSON/);
    expect(query(["process where true", conformanceEvents, "--mapping", join(dir, "absent.json")]).status).toBe(2);
    const both = query(["process where true", conformanceEvents, "--mapping", broken, "--no-ecs-types"]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("--no-ecs-types and --mapping cannot be used together");
  });
});
