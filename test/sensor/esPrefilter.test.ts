import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { compileQuery, parseQuery } from "../../src/eql/index.js";
import {
  blocksExecs, blocksOpens, deriveOpenPrefilter, derivePrefilter, type FilePrefilterSpec, type PrefilterSpec,
} from "../../src/sensor/esPrefilter.js";
import { seededRandom } from "../helpers/seededRandom.js";

/** The native pre-filter's semantics (native/common/prefilter.h), restated to check soundness against. */
function isCandidate(spec: PrefilterSpec | null, executable: string, args: string[]): boolean {
  if (spec === null) return true;
  const nonAscii = (s: string) => /[^\x01-\x7f]/.test(s);
  const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const base = executable.slice(executable.lastIndexOf("/") + 1);
  if (spec.executableBasename.length > 0 && (nonAscii(base) || spec.executableBasename.some((b) => lower(b) === lower(base)))) return true;
  for (const arg of args) {
    if ((spec.argEquals.length > 0 || spec.argContains.length > 0) && nonAscii(arg)) return true;
    if (spec.argEquals.some((a) => lower(a) === lower(arg))) return true;
    if (spec.argContains.some((a) => lower(arg).includes(lower(a)))) return true;
  }
  return false;
}

function execEvent(executable: string, args: string[], signingId?: string) {
  return {
    "@timestamp": "2026-11-26T00:00:00.000Z",
    event: { category: ["process"], type: ["start"], action: "exec" },
    host: { os: { type: "macos" } },
    process: {
      name: executable.slice(executable.lastIndexOf("/") + 1),
      executable,
      args,
      command_line: args.join(" "),
      ...(signingId ? { code_signature: { signing_id: signingId } } : {}),
    },
  };
}

const derive = (...queries: string[]) => derivePrefilter(queries.map((q) => parseQuery(q)));

describe("derivePrefilter", () => {
  it("keeps the most selective conjunct", () => {
    expect(derive('process where process.name : "security" and process.args : "dump-keychain" and process.args : "-d"')).toEqual({
      argEquals: ["dump-keychain"],
      argContains: [],
      executableBasename: [],
    });
  });

  it("needs every branch of a disjunction", () => {
    expect(derive('process where process.name == "security" or process.args == "x"')).toEqual({
      argEquals: ["x"],
      argContains: [],
      executableBasename: ["security"],
    });
    expect(derive('process where process.name == "security" or process.code_signature.signing_id == "com.apple.security"')).toBeNull();
  });

  it("turns wildcards into the longest literal piece and command lines into argument pieces", () => {
    expect(derive('process where process.args : "*keychain-db*"')?.argContains).toEqual(["keychain-db"]);
    expect(derive('process where process.command_line : "*security dump-keychain*"')?.argContains).toEqual(["dump-keychain"]);
    expect(derive('process where process.executable : "/usr/bin/security"')?.executableBasename).toEqual(["security"]);
  });

  it("gives up (null) on what it cannot bound: negation, regex, functions, sequences, other fields", () => {
    expect(derive('process where not process.args == "x"')).toBeNull();
    expect(derive('process where process.args regex "du.*"')).toBeNull();
    expect(derive('process where startsWith(process.name, "sec")')).toBeNull();
    expect(derive('sequence [process where process.args == "a"] [process where process.args == "b"]')).toBeNull();
    expect(derive('process where user.name == "root"')).toBeNull();
    expect(derive('process where process.args : "*"')).toBeNull();
    expect(derive('process where process.args == "clé"')).toBeNull();
  });

  it("lets nothing through for queries that can never see an exec", () => {
    expect(derive('file where file.name == "x"')).toEqual({ argEquals: [], argContains: [], executableBasename: [] });
    expect(derive("process where false")).toEqual({ argEquals: [], argContains: [], executableBasename: [] });
  });

  it("unions several block rules, de-duplicated and lower-cased", () => {
    expect(derive('process where process.args == "A"', 'process where process.args in ("a", "b")')?.argEquals).toEqual(["a", "b"]);
  });

  it("bounds the shipped keychain dump rule by its subcommand prefixes", () => {
    const file = new URL("../../rules/macos/keychain_dump_via_security.toml", import.meta.url);
    const rule = parseToml(readFileSync(file, "utf8")) as { rule: { query: string } };
    const spec = derive(rule.rule.query);
    expect(spec).not.toBeNull();
    expect(spec!.argEquals).toContain("dump-keychain");
    expect(isCandidate(spec, "/usr/bin/security", ["security", "list-keychains"])).toBe(false);
    expect(isCandidate(spec, "/bin/ls", ["ls", "-la"])).toBe(false);
  });

  it("is sound: whatever a rule matches, the pre-filter lets through (random rules and execs)", () => {
    const random = seededRandom(12345);
    const rand = random.int;
    const pick = random.pick;
    const words = ["security", "dump-keychain", "-d", "-D", "-ad", "login.keychain-db", "cp", "Security", "x y", "*", "du*", "*key*", "ké"];
    const names = ["/usr/bin/security", "/bin/cp", "/tmp/SECURITY", "/usr/bin/grep", "/opt/é"];
    const atom = (): string => {
      const w = JSON.stringify(pick(words));
      switch (rand(9)) {
        case 0: return `process.args == ${w}`;
        case 1: return `process.args : ${w}`;
        case 2: return `process.args like~ ${w}`;
        case 3: return `process.name : ${w}`;
        case 4: return `process.executable == ${JSON.stringify(pick(names))}`;
        case 5: return `process.command_line : ${w}`;
        case 6: return `process.args in (${w}, ${JSON.stringify(pick(words))})`;
        case 7: return `process.code_signature.signing_id == "com.apple.security"`;
        default: return `not process.args == ${w}`;
      }
    };
    const expr = (depth: number): string => {
      if (depth === 0 || rand(3) === 0) return atom();
      return `(${expr(depth - 1)} ${rand(2) ? "and" : "or"} ${expr(depth - 1)})`;
    };
    let checkedMatches = 0;
    for (let r = 0; r < 300; r++) {
      const queries = [`process where ${expr(3)}`, `process where ${expr(2)}`];
      const spec = derive(...queries);
      const tests = queries.map((q) => compileQuery(q).test!);
      for (let e = 0; e < 40; e++) {
        const args = Array.from({ length: 1 + rand(4) }, () => pick(words));
        const event = execEvent(pick(names), args, rand(2) ? "com.apple.security" : undefined);
        if (tests.some((t) => t(event))) {
          checkedMatches++;
          expect(isCandidate(spec, event.process.executable, args), `${queries.join(" | ")} on ${JSON.stringify(args)}`).toBe(true);
        }
      }
    }
    expect(checkedMatches).toBeGreaterThan(500);
  });
});

/** The native AUTH_OPEN pre-filter's semantics (native/common/prefilter.h FilePrefilter), restated. */
function isOpenCandidate(spec: FilePrefilterSpec | null, path: string): boolean {
  if (spec === null) return true;
  const lists = [spec.pathEquals, spec.pathPrefix, spec.pathSuffix, spec.pathContains, spec.nameEquals];
  if (lists.every((l) => l.length === 0)) return false;
  if (/[^\x01-\x7f]/.test(path)) return true;
  const p = path.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const name = p.slice(p.lastIndexOf("/") + 1);
  return (
    spec.pathEquals.includes(p) ||
    spec.pathPrefix.some((x) => p.startsWith(x)) ||
    spec.pathSuffix.some((x) => p.endsWith(x)) ||
    spec.pathContains.some((x) => p.includes(x)) ||
    spec.nameEquals.includes(name)
  );
}

/** An ECS file open as Defend writes it (file.name / extension / directory from the path). */
function openEvent(path: string) {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  return {
    "@timestamp": "2026-11-26T00:00:00.000Z",
    event: { category: ["file"], type: ["access"], action: "open" },
    host: { os: { type: "macos" } },
    process: { name: "stealer", executable: "/tmp/stealer", pid: 5 },
    file: {
      path,
      name,
      directory: slash <= 0 ? "/" : path.slice(0, slash),
      ...(dot > 0 ? { extension: name.slice(dot + 1) } : {}),
    },
  };
}

const deriveOpen = (...queries: string[]) => deriveOpenPrefilter(queries.map((q) => parseQuery(q)));

describe("deriveOpenPrefilter", () => {
  it("bounds a keychain rule by its paths: the longest literal run of each pattern", () => {
    expect(
      deriveOpen(
        'file where event.action == "open" and (file.path : ("/Users/*/Library/Keychains/*", "/Library/Keychains/*") or file.name == "Cookies")',
      ),
    ).toEqual({
      pathEquals: [],
      pathPrefix: ["/library/keychains/"],
      pathSuffix: [],
      pathContains: ["/library/keychains/"],
      nameEquals: ["cookies"],
    });
    expect(deriveOpen('file where file.extension == "keychain-db"')?.pathSuffix).toEqual([".keychain-db"]);
    expect(deriveOpen('file where file.name : "*.keychain-db"')?.pathSuffix).toEqual([".keychain-db"]);
    expect(deriveOpen('file where file.directory == "/Library/Keychains"')?.pathPrefix).toEqual(["/library/keychains/"]);
    expect(deriveOpen('file where file.path == "/etc/master.passwd"')?.pathEquals).toEqual(["/etc/master.passwd"]);
  });

  it("gives up (null) when an open rule has a condition it cannot bound", () => {
    expect(deriveOpen('file where process.name == "cp"')).toBeNull();
    expect(deriveOpen('file where not file.path : "/tmp/*"')).toBeNull();
    expect(deriveOpen('file where file.path : "*"')).toBeNull();
    expect(deriveOpen('file where file.path regex "/etc/.*"')).toBeNull();
    expect(deriveOpen('any where process.args == "x"')).toBeNull();
    expect(deriveOpen('file where file.path == "/Users/é"')).toBeNull();
    expect(deriveOpen('sequence [process where true] [file where file.path == "/x"]')).toEqual(
      expect.objectContaining({ pathEquals: ["/x"] }),
    );
  });

  it("ignores block rules that can never see a file open; tells which rules need AUTH_OPEN and AUTH_EXEC", () => {
    expect(deriveOpen('process where process.args == "x"')).toEqual({
      pathEquals: [], pathPrefix: [], pathSuffix: [], pathContains: [], nameEquals: [],
    });
    const proc = parseQuery('process where process.args == "x"');
    const file = parseQuery('file where file.name == "x"');
    const any = parseQuery('any where process.pid == 1');
    const seq = parseQuery('sequence [process where true] [file where true]');
    expect([proc, file, any, seq].map(blocksOpens)).toEqual([false, true, true, true]);
    expect([proc, file, any, seq].map(blocksExecs)).toEqual([true, false, true, true]);
  });

  it("is sound: whatever a rule matches, the pre-filter lets through (random rules and paths)", () => {
    const random = seededRandom(4242);
    const rand = random.int;
    const pick = random.pick;
    const paths = [
      "/Users/ann/Library/Keychains/login.keychain-db", "/Library/Keychains/System.keychain", "/etc/hosts",
      "/USERS/ann/library/KEYCHAINS/x", "/tmp/loot.db", "/Users/ann/Cookies", "/private/var/db/x.keychain-db", "/é/x",
      "/Users/ann/notes.txt", "/a.b/c", "/",
    ];
    const patterns = [
      "/Users/*/Library/Keychains/*", "/Library/Keychains/*", "*.keychain-db", "*/Cookies", "/etc/hosts", "/tmp/*.db",
      "*Keychains*", "/?sers/*", "*", "/é*", "*/x",
    ];
    const names = ["login.keychain-db", "Cookies", "x", "*.db", "System.*", "c", "*"];
    const atom = (): string => {
      switch (rand(8)) {
        case 0: return `file.path : ${JSON.stringify(pick(patterns))}`;
        case 1: return `file.path == ${JSON.stringify(pick(paths))}`;
        case 2: return `file.name : ${JSON.stringify(pick(names))}`;
        case 3: return `file.name in (${JSON.stringify(pick(names))}, ${JSON.stringify(pick(names))})`;
        case 4: return `file.extension == ${JSON.stringify(pick(["keychain-db", "db", "txt", "keychain"]))}`;
        case 5: return `file.directory == ${JSON.stringify(pick(["/Library/Keychains", "/tmp", "/", "/Users/ann"]))}`;
        case 6: return `process.name == "stealer"`;
        default: return `not file.path : ${JSON.stringify(pick(patterns))}`;
      }
    };
    const expr = (depth: number): string => {
      if (depth === 0 || rand(3) === 0) return atom();
      return `(${expr(depth - 1)} ${rand(2) ? "and" : "or"} ${expr(depth - 1)})`;
    };
    let checkedMatches = 0;
    for (let r = 0; r < 300; r++) {
      const queries = [`file where ${expr(3)}`, `file where ${expr(2)}`];
      const spec = deriveOpen(...queries);
      const tests = queries.map((q) => compileQuery(q).test!);
      for (const path of paths) {
        if (tests.some((t) => t(openEvent(path)))) {
          checkedMatches++;
          expect(isOpenCandidate(spec, path), `${queries.join(" | ")} on ${path}`).toBe(true);
        }
      }
    }
    expect(checkedMatches).toBeGreaterThan(300);
  });
});
