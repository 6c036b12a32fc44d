import { describe, expect, it } from "vitest";
import { deriveEventRelevance, queryKinds } from "../../src/agent/eventRelevance.js";
import { compileQuery, parseQuery } from "../../src/eql/index.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";
import { testMapper } from "../ecs/helpers.js";
import { seededRandom } from "../helpers/seededRandom.js";

const kinds = (query: string) => [...queryKinds(parseQuery(query))].sort();
const relevance = (...queries: string[]) => deriveEventRelevance(queries.map((q) => parseQuery(q)));
const onHost = (hostOsType: string, query: string) => [...queryKinds(parseQuery(query), { hostOsType })].sort();

let seq = 0;
const raw = (kind: RawEvent["kind"], pid: number, extra: Partial<RawEvent> = {}): RawEvent => ({
  source: "linux",
  kind,
  seq: ++seq,
  time: Date.UTC(2026, 10, 27) + seq,
  pid,
  ...extra,
});

describe("queryKinds", () => {
  it("reads event.action and event.type comparisons", () => {
    expect(kinds('process where event.type == "start" and event.action == "exec"')).toEqual(["exec"]);
    expect(kinds('process where event.type == "start"')).toEqual(["exec", "fork"]);
    expect(kinds('process where event.action in ("fork", "end")')).toEqual(["exit", "fork"]);
    expect(kinds('process where event.type : "END"')).toEqual(["exit"]);
    expect(kinds('process where event.action in~ ("EXEC")')).toEqual(["exec"]);
    expect(kinds('process where "exec" == event.action')).toEqual(["exec"]);
  });

  it("follows Elasticsearch's case rules: == and in are case-sensitive", () => {
    expect(kinds('process where event.action == "EXEC"')).toEqual([]);
    expect(kinds('process where event.action in ("Exec")')).toEqual([]);
  });

  it("takes and as an intersection and or as a union", () => {
    expect(kinds('process where event.type == "start" and event.action == "end"')).toEqual([]);
    expect(kinds('process where event.action == "exec" or event.action == "end"')).toEqual(["exec", "exit"]);
    expect(kinds('process where event.action == "exec" or process.name == "x"')).toEqual(["exec", "exit", "fork"]);
  });

  it("says every kind for what it does not understand", () => {
    expect(kinds('process where event.action : "ex*"')).toEqual(["exec", "exit", "fork"]);
    expect(kinds('process where not event.action == "exec"')).toEqual(["exec", "exit", "fork"]);
    expect(kinds('process where event.action != "exec"')).toEqual(["exec", "exit", "fork"]);
    expect(kinds('process where event.action regex "exec"')).toEqual(["exec", "exit", "fork"]);
    expect(kinds("sequence [process where event.action == \"exec\"] [process where event.action == \"exec\"]")).toEqual(["create", "delete", "exec", "exit", "fork", "modify", "open", "rename"]);
  });

  it("knows that a query of another category sees no process event, and any sees them all", () => {
    expect(kinds('file where event.action == "exec"')).toEqual([]);
    expect(kinds('any where event.action == "exec"')).toEqual(["exec"]);
    expect(kinds("network where true")).toEqual([]);
    expect(kinds('any where process.name == "x"')).toEqual(["create", "delete", "exec", "exit", "fork", "modify", "open", "rename"]);
  });

  it("file where: the file kinds, narrowed by Defend's file actions and types", () => {
    expect(kinds('file where file.name == "login.keychain-db"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(kinds('file where event.action == "open"')).toEqual(["open"]);
    expect(kinds('file where event.type in ("creation", "change")')).toEqual(["create", "modify", "rename"]);
    expect(kinds('file where event.action : ("rename", "DELETION")')).toEqual(["delete", "rename"]);
    expect(kinds('file where event.type != "deletion"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(kinds('process where event.action == "open"')).toEqual([]);
    expect(kinds('any where event.type == "change"')).toEqual(["modify", "rename"]);
  });

  it("a host.os.type condition naming only other OS types than the sensor's host matches no event there", () => {
    const macOnly = 'host.os.type == "macos" and event.type == "start"';
    expect(onHost("linux", `process where ${macOnly}`)).toEqual([]);
    expect(onHost("macos", `process where ${macOnly}`)).toEqual(["exec", "fork"]);
    expect(onHost("linux", 'file where host.os.type == "macos" and file.name == "login.keychain-db"')).toEqual([]);
    expect(onHost("linux", 'file where host.os.type in ("macos", "linux")')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(onHost("linux", 'file where host.os.type : "LINUX"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(onHost("linux", 'file where host.os.type == "Linux"')).toEqual([]);
    expect(onHost("linux", 'file where host.os.type : "mac*"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(onHost("linux", 'file where host.os.type == "macos" or file.name == "x"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    expect(onHost("linux", 'file where host.os.type != "macos"')).toEqual(["create", "delete", "modify", "open", "rename"]);
    // Read without a host, the condition is not understood: every kind.
    expect(kinds(`process where ${macOnly}`)).toEqual(["exec", "fork"]);
  });
});

describe("deriveEventRelevance", () => {
  const rule = 'process where event.type == "start" and event.action == "exec" and process.name == "security" and process.args == "dump-keychain"';

  it("lets through only the execs the pre-filter allows, and no fork or exit", () => {
    const relevant = relevance(rule);
    expect(relevant(raw("exec", 10, { executable: "/usr/bin/true", args: ["/bin/true"] }))).toBe(false);
    expect(relevant(raw("exec", 11, { executable: "/usr/bin/security", args: ["security", "list-keychains"] }))).toBe(false);
    expect(relevant(raw("exec", 12, { executable: "/tmp/x", args: ["x", "DUMP-KEYCHAIN"] }))).toBe(true);
    expect(relevant(raw("fork", 13, { ppid: 1 }))).toBe(false);
    expect(relevant(raw("exit", 13, { exitStatus: 0 }))).toBe(false);
    expect(relevant(raw("open", 13, { file: { path: "/x" } }))).toBe(false);
  });

  it("lets through the file kinds file rules can see, and no process event for them", () => {
    const relevant = relevance('file where event.action == "open" and file.name == "login.keychain-db"');
    expect(relevant(raw("open", 40, { file: { path: "/Users/a/Library/Keychains/login.keychain-db" } }))).toBe(true);
    expect(relevant(raw("create", 40, { file: { path: "/Users/a/Library/Keychains/login.keychain-db" } }))).toBe(false);
    expect(relevant(raw("exec", 40, { executable: "/bin/ls", args: ["ls"] }))).toBe(false);
    expect(relevant(raw("exit", 40))).toBe(false);
  });

  it("turns away file events whose path no file rule can match, and keeps a rename by either path", () => {
    const relevant = relevance('file where file.path : "/Users/*/Library/Keychains/*" or file.name == "secret"');
    const file = (kind: RawEvent["kind"], path: string, extra: Partial<NonNullable<RawEvent["file"]>> = {}) =>
      raw(kind, 41, { file: { path, ...extra } });
    expect(relevant(file("open", "/usr/share/doc/README"))).toBe(false);
    expect(relevant(file("open", "/USERS/a/Library/Keychains/x.db"))).toBe(true); // ASCII case folded
    expect(relevant(file("delete", "/tmp/dir/secret"))).toBe(true);
    expect(relevant(file("open", "/tmp/dir/secret.txt"))).toBe(false);
    expect(relevant(file("rename", "/tmp/copy", { originalPath: "/Users/a/Library/Keychains/login.keychain-db" }))).toBe(true);
    expect(relevant(file("open", "/tmp/é/x"))).toBe(true); // non-ASCII: not checked
    expect(relevant(file("open", "/tmp/a", { pathTruncated: true }))).toBe(true);
    expect(relevant(raw("open", 41, { file: { path: new Uint8Array([0x2f, 0xff]) } }))).toBe(true);
    expect(relevance('file where process.name == "cat"')(file("open", "/anything"))).toBe(true); // no path condition
  });

  it("lets through what it cannot check: non-UTF-8 or non-ASCII arguments, an unknown executable", () => {
    const byName = relevance('process where event.action == "exec" and process.name == "security"');
    expect(byName(raw("exec", 20, { args: ["security"] }))).toBe(true); // name from args[0], unknown to the filter
    expect(byName(raw("exec", 21, { executable: "/bin/sécurité", args: ["x"] }))).toBe(true);
    expect(byName(raw("exec", 22, { executable: "/bin/ls", args: ["ls"] }))).toBe(false);
    const byArg = relevance(rule);
    expect(byArg(raw("exec", 23, { executable: "/bin/ls", args: ["ls", new Uint8Array([0xff])] }))).toBe(true);
    expect(byArg(raw("exec", 24, { executable: "/bin/ls", args: ["ls", "é"] }))).toBe(true);
  });

  it("lets everything through when one rule allows no pre-filter, and nothing when there are no rules", () => {
    const any = relevance(rule, 'process where event.type == "start" and process.parent.name == "bash"');
    expect(any(raw("exec", 30, { executable: "/bin/ls", args: ["ls"] }))).toBe(true);
    expect(any(raw("fork", 31, { ppid: 1 }))).toBe(true);
    expect(any(raw("exit", 31))).toBe(false);
    const none = relevance();
    expect(none(raw("exec", 32, { executable: "/usr/bin/security", args: ["security", "dump-keychain"] }))).toBe(false);
  });

  it("is sound: whatever a rule matches after mapping, it lets through (random rules and process lives)", () => {
    const random = seededRandom(424242);
    const rand = random.int;
    const pick = random.pick;
    const words = ["security", "dump-keychain", "-d", "ls", "Security", "x y", "*", "du*", "*key*", "ké", "exec", "end"];
    const paths = ["/usr/bin/security", "/bin/ls", "/tmp/SECURITY", "/opt/é", "/bin/sh"];
    const filePaths = ["/Users/a/Library/Keychains/login.keychain-db", "/tmp/x.txt", "/tmp/.hidden", "/etc/passwd"];
    const atom = (): string => {
      const w = JSON.stringify(pick(words));
      switch (rand(16)) {
        case 12: return `event.action ${pick(["==", ":"])} ${JSON.stringify(pick(["open", "creation", "modification", "rename", "deletion", "Open"]))}`;
        case 13: return `event.type in (${JSON.stringify(pick(["creation", "change", "deletion", "access", "start"]))}, ${JSON.stringify(pick(["end", "change"]))})`;
        case 14: return `file.path : ${JSON.stringify(pick(["/Users/*/Library/Keychains/*", "/tmp/*", "*"]))}`;
        case 15: return rand(2) ? `file.extension == ${JSON.stringify(pick(["keychain-db", "txt"]))}` : `host.os.type ${pick(["==", ":"])} ${JSON.stringify(pick(["macos", "linux", "MacOS"]))}`;
        case 0: return `process.args == ${w}`;
        case 1: return `process.args : ${w}`;
        case 2: return `process.name : ${w}`;
        case 3: return `process.executable == ${JSON.stringify(pick(paths))}`;
        case 4: return `process.command_line : ${w}`;
        case 5: return `event.action == ${JSON.stringify(pick(["exec", "fork", "end", "EXEC"]))}`;
        case 6: return `event.type ${pick(["==", ":"])} ${JSON.stringify(pick(["start", "end", "Start"]))}`;
        case 7: return `event.action in~ (${JSON.stringify(pick(["Exec", "FORK", "end"]))}, ${w})`;
        case 8: return `process.parent.name == ${JSON.stringify(pick(["sh", "ls", "security"]))}`;
        case 9: return `not event.action == "exec"`;
        case 10: return `process.exit_code == 0`;
        default: return `not process.args == ${w}`;
      }
    };
    const expr = (depth: number): string => {
      if (depth === 0 || rand(3) === 0) return atom();
      return `(${expr(depth - 1)} ${rand(2) ? "and" : "or"} ${expr(depth - 1)})`;
    };
    let checkedMatches = 0;
    const matchedKinds = new Set<string>();
    for (let round = 0; round < 400; round++) {
      const queries = [`${pick(["process", "file"])} where ${expr(3)}`];
      if (rand(3) === 0) queries.push(`${pick(["process", "any", "file"])} where ${expr(2)}`);
      // testMapper's host is a Mac.
      const relevant = deriveEventRelevance(queries.map((q) => parseQuery(q)), { hostOsType: "macos" });
      const tests = queries.map((q) => compileQuery(q).test!);
      const mapper = testMapper();
      let pid = 100;
      for (let life = 0; life < 12; life++) {
        const parent = pid++;
        const child = pid++;
        const image = () => {
          const path = pick(paths);
          return { executable: path, args: [path.slice(path.lastIndexOf("/") + 1), ...Array.from({ length: rand(4) }, () => pick(words))] };
        };
        const events = [
          raw("exec", parent, { ppid: 1, ...image() }),
          raw("fork", child, { ppid: parent }),
          raw("exec", child, { ppid: parent, ...image() }),
          ...(["open", "create", "modify", "rename", "delete"] as const).map((kind) =>
            raw(kind, pick([parent, child]), { file: { path: pick(filePaths), ...(kind === "rename" ? { originalPath: pick(filePaths) } : {}) } }),
          ),
          raw("exit", child, { ppid: parent, exitStatus: rand(2) << 8 }),
        ];
        for (const event of events) {
          const doc = mapper.map(event);
          if (tests.some((t) => t(doc))) {
            checkedMatches++;
            matchedKinds.add(event.kind);
            expect(relevant(event), `${queries.join(" | ")} on ${JSON.stringify(event)}`).toBe(true);
          }
        }
      }
    }
    expect(checkedMatches).toBeGreaterThan(1000);
    expect([...matchedKinds].sort()).toEqual(["create", "delete", "exec", "exit", "fork", "modify", "open", "rename"]);
  });
});
