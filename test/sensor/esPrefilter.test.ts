import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseToml } from "smol-toml";
import { compileQuery, parseQuery } from "../../src/eql/index.js";
import { derivePrefilter, type PrefilterSpec } from "../../src/sensor/esPrefilter.js";
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
