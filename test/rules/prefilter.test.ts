import { readFileSync, readdirSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { loadRules } from "../../src/rules/loader.js";
import { buildPrefilter } from "../../src/rules/prefilter.js";
import { replayEvents } from "../../src/rules/replay.js";
import { parseRuleFile, type LoadedRule } from "../../src/rules/ruleFile.js";
import { RuleSet } from "../../src/rules/ruleSet.js";

const shipped = loadRules([fileURLToPath(new URL("../../rules/", import.meta.url))]).rules;
const fixtures = fileURLToPath(new URL("../fixtures/events/", import.meta.url));

function rule(query: string, id = "r"): LoadedRule {
  const r = parseRuleFile(
    `[rule]\nauthor = ["t"]\ndescription = "d"\nname = "R ${id}"\nrisk_score = 1\nrule_id = "${id}"\nseverity = "low"\ntype = "eql"\nquery = '''${query}'''\n`,
    "r.toml",
  );
  if (r.status !== "loaded") throw new Error(JSON.stringify(r));
  return r.rule;
}

async function replayBoth(rules: LoadedRule[], text: string) {
  const run = async (prefilter: boolean) => {
    const alerts: EcsEvent[] = [];
    const bad: number[] = [];
    const stats = await replayEvents({
      input: Readable.from([Buffer.from(text)]),
      rules: new RuleSet(rules),
      sink: { write: (a) => void alerts.push(a) },
      onBadLine: (n) => bad.push(n),
      prefilter,
      now: () => new Date("2026-11-26T12:00:00.000Z"),
    });
    return { stats: { events: stats.events, alerts: stats.alerts, badLines: stats.badLines }, alerts, bad };
  };
  return { on: await run(true), off: await run(false) };
}

const exec = (process: Record<string, unknown>) =>
  JSON.stringify({ "@timestamp": "2026-11-26T10:00:00.000Z", event: { category: ["process"], type: ["start"], action: "exec" }, host: { os: { type: "macos" } }, process });

describe("buildPrefilter", () => {
  it("derives the tests the shipped rules need: each rule's clauses, all in one line, each on its field", () => {
    const f = buildPrefilter(shipped)!;
    // The keychain-copy rule needs a keychain path in an argument and a copying tool's name as the name.
    const copy = f.conditions.find((c) => c.some((clause) => clause.includes("keychain-2.db")))!;
    expect(copy[0]).toContain('name=="ditto"');
    expect(copy).toContain('category=="process"');
    expect(f.mayMatch(exec({ name: "ditto", args: ["ditto", "/Users/a/Library/Keychains/login.keychain-db", "/tmp"] }))).toBe(true);
    expect(f.mayMatch(exec({ name: "ls", args: ["ls", "/Users/a/Library/Keychains/"] }))).toBe(false);
    expect(f.mayMatch(exec({ name: "ditto", args: ["ditto", "a", "b"] }))).toBe(false);
    expect(f.mayMatch(exec({ name: "security", args: ["security", "dump-keychain", "-d"] }))).toBe(true);
    // Rules matching `security`'s arguments by regex need the literal runs of the regex too: ` -` and then `i` or
    // `p` for the interactive session, `set-` for the partition list.
    expect(f.mayMatch(exec({ name: "security", args: ["security", "find-certificate"], command_line: "security find-certificate" }))).toBe(false);
    expect(f.mayMatch(exec({ name: "security", args: ["security", "-i"], command_line: "security -i" }))).toBe(true);
    expect(f.mayMatch(exec({ name: "security", args: ["security", "-i"], command_line: "security -i" }).replace('"exec"', '"exit"'))).toBe(false);
  });

  it("lets through every positive fixture line of every shipped rule", () => {
    const f = buildPrefilter(shipped)!;
    for (const dir of readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const line of readFileSync(`${fixtures}${dir.name}/positive.ndjson`, "utf8").trim().split("\n")) {
        expect(f.mayMatch(line), line.slice(0, 200)).toBe(true);
      }
    }
  });

  it("is case-insensitive for the ASCII letters", () => {
    const f = buildPrefilter([rule(`process where process.name : "security"`)])!;
    expect(f.conditions).toEqual([['name=="security"', 'category=="process"']]);
    expect(f.mayMatch(exec({ name: "SeCuRiTy" }))).toBe(true);
    expect(f.mayMatch(exec({ name: "securityd" }))).toBe(false);
  });

  it("uses printable ASCII but the quote and the backslash; needs every clause of a rule", () => {
    const f = buildPrefilter([rule(`process where process.executable : "/private/tmp/*" and process.name == "a/b"`)])!;
    expect(f.conditions).toEqual([['executable~^"/private/tmp/"', 'name=="a/b"', 'category=="process"']]);
    expect(f.mayMatch(exec({ name: "a/b", executable: "/private/tmp/a/b" }))).toBe(true);
    expect(f.mayMatch(exec({ name: "a/b", executable: "/usr/bin/a/b" }))).toBe(false);
    // The value must follow its field's last key (any `name`: the parent's too); the text elsewhere is not enough,
    // nor the path anywhere but at the start of the executable.
    expect(f.mayMatch(exec({ name: "x", executable: "/private/tmp/a/b", parent: { name: "a/b" } }))).toBe(true);
    expect(f.mayMatch(exec({ name: "x", executable: "/private/tmp/a/b", args: ["a/b"], title: "a/b" }))).toBe(false);
    expect(f.mayMatch(exec({ name: "a/b", executable: "/x/private/tmp/a/b" }))).toBe(false);
    // Nothing to look for in a value with a tab (written \\t): the rule falls back on its category.
    expect(buildPrefilter([rule(`process where process.name == "a\\tb"`)])!.conditions).toEqual([['category=="process"']]);
  });

  it("takes the union over `or`, nothing from `not`, regexes without a literal run or functions; booleans as their text", () => {
    expect(buildPrefilter([rule(`process where process.name == "curl" or process.args : "*wget*"`)])!.conditions).toEqual([
      ['args~"wget" | name=="curl"', 'category=="process"'],
    ]);
    const categoryOnly = [['category=="process"']];
    expect(buildPrefilter([rule(`process where process.name == "curl" or process.args regex "[a-w]+"`)])!.conditions).toEqual(categoryOnly);
    expect(buildPrefilter([rule(`process where not process.name == "curl"`)])!.conditions).toEqual(categoryOnly);
    expect(buildPrefilter([rule(`process where startsWith(process.name, "curl")`)])!.conditions).toEqual(categoryOnly);
    expect(buildPrefilter([rule(`any where not process.name == "curl"`)])).toBeUndefined();
    const unsigned = buildPrefilter([rule(`process where process.code_signature.trusted == false`)])!;
    expect(unsigned.mayMatch(exec({ name: "x", code_signature: { trusted: false } }))).toBe(true);
    expect(unsigned.mayMatch(exec({ name: "x", code_signature: { trusted: "false" } }))).toBe(true);
    expect(unsigned.mayMatch(exec({ name: "x", code_signature: { trusted: true } }))).toBe(false);
  });

  it("a rule with no text of its own needs its category and its action or type, never all lines", () => {
    const f = buildPrefilter([
      rule(`process where host.os.type == "macos" and event.action == "exec" and process.args regex "[a-w]+"`, "a"),
      rule(`network where event.type in ("start", "connection_attempted") and not cidrmatch(destination.ip, "10.0.0.0/8")`, "b"),
      rule(`process where process.name == "curl"`, "c"),
    ])!;
    expect(f.conditions).toEqual([
      ['action=="exec"', 'category=="process"'],
      ['category=="network"', 'type=="connection_attempted" | type=="start"', "ip!cidr(10.0.0.0/8)"],
      ['name=="curl"', 'category=="process"'],
    ]);
    const net = (type: string) => JSON.stringify({ event: { category: ["network"], type: [type] }, destination: { ip: "8.8.8.8" } });
    expect(f.mayMatch(net("start"))).toBe(true);
    expect(f.mayMatch(net("end"))).toBe(false);
    expect(f.mayMatch(exec({ name: "ls" }))).toBe(true);
    expect(f.mayMatch(exec({ name: "ls" }).replace('"exec"', '"fork"'))).toBe(false);
    // A value, not a key: `"start":` (process.start, a timestamp) is not the value "start".
    expect(f.mayMatch(JSON.stringify({ event: { category: ["network"], type: ["end"] }, process: { start: "2026-01-01" } }))).toBe(false);
    expect(f.mayMatch(exec({ name: "CURL" }).replace('"exec"', '"fork"'))).toBe(true);
  });

  it("`not cidrMatch`: skips a line only when every address it names is a plain string inside the ranges", () => {
    const f = buildPrefilter([
      rule(`network where event.type == "start" and not cidrmatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16", "fe80::/10")`),
    ])!;
    const net = (destination: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ event: { category: ["network"], type: ["start"] }, destination, ...extra });
    for (const ip of ["10.1.2.3", "192.168.1.1", "FE80::1", "fe80::1%en0", "010.0.0.1", " 10.0.0.1"]) {
      expect(f.mayMatch(net({ ip })), ip).toBe(false);
    }
    // No address: cidrMatch is null and `not null` no match.
    expect(f.mayMatch(net({ port: 443 }))).toBe(false);
    // Outside the ranges (the engine maps an IPv4 address onto IPv6 blocks, not the other way), or not an address
    // at all (cidrMatch false): the rule matches.
    for (const ip of ["8.8.8.8", "2001:db8::1", "::1", "::ffff:10.0.0.1", "10.0.0", "1.2.3.4.5", "curl", ""]) expect(f.mayMatch(net({ ip })), ip).toBe(true);
    // Any other key named ip counts too; arrays, objects, literals are left to the engine.
    expect(f.mayMatch(net({ ip: "10.0.0.1" }, { source: { ip: "8.8.8.8" } }))).toBe(true);
    expect(f.mayMatch(net({ "ip": ["10.0.0.1", "8.8.8.8"] }))).toBe(true);
    expect(f.mayMatch(net({ ip: ["10.0.0.1"] }))).toBe(true);
    expect(f.mayMatch(net({ ip: null }))).toBe(true);
    expect(f.mayMatch(net({ ip: 167772161 }))).toBe(true);
    expect(f.mayMatch(JSON.stringify({ event: { category: ["network"], type: ["start"] }, "destination.ip": "10.9.9.9" }))).toBe(false);
    // A cidr clause is only ever tested: with nothing else to look up, the pre-filter is off.
    expect(buildPrefilter([rule(`any where not cidrmatch(destination.ip, "10.0.0.0/8")`)])).toBeUndefined();
  });

  it("a regex gives its literal runs in order, anchored where it starts or ends with one, per top-level alternative", () => {
    const tar = buildPrefilter([rule(`process where process.name == "tar" and process.args regex """-[a-z]*c[a-z]*""" and process.command_line regex """.*/(Keychains|Cookies|\\.ssh)/.*"""`)])!;
    expect(tar.conditions[0]).toContain('command_line~"/.ssh/" | command_line~"/cookies/" | command_line~"/keychains/"');
    expect(tar.conditions[0]).toContain('args~^"-"*"c"');
    const tarLine = (args: string[]) => exec({ name: "tar", args, command_line: args.join(" ") });
    expect(tar.mayMatch(tarLine(["tar", "-czf", "/Users/a/Library/Keychains/x"]))).toBe(true);
    expect(tar.mayMatch(tarLine(["tar", "-CZF", "/Users/a/.SSH/x"]))).toBe(true);
    expect(tar.mayMatch(tarLine(["tar", "-xzf", "/Users/a/Library/Keychains/x"]))).toBe(false);
    expect(tar.mayMatch(tarLine(["tar", "-czf", "/Users/a/Downloads/x"]))).toBe(false);
    const curl = buildPrefilter([rule(`process where process.name == "curl" and process.args regex "-[a-zA-Z]*o"`)])!;
    expect(curl.mayMatch(exec({ name: "curl", args: ["curl", "-sLo", "x"] }))).toBe(true);
    expect(curl.mayMatch(exec({ name: "curl", args: ["curl", "-s", "https://example.com/o"] }))).toBe(false);
  });

  it("texts that overlap or start at one offset are all seen", () => {
    const f = buildPrefilter([
      rule(`process where event.type : "*sh*"`, "a"),
      rule(`file where event.type : "*shell*"`, "b"),
      rule(`network where event.action : "*tar*"`, "c"),
      rule(`file where event.action == "start"`, "d"),
    ])!;
    const line = (category: string, type: string, action: string) => JSON.stringify({ event: { category: [category], type: [type], action } });
    expect(f.mayMatch(line("process", "shell", "x"))).toBe(true);
    expect(f.mayMatch(line("network", "x", "start"))).toBe(true);
    expect(f.mayMatch(line("dns", "shell", "start"))).toBe(false);
  });

  it("sequences need the union of their stages, missing-event and until stages included", () => {
    const seq = rule(
      `sequence by process.entity_id with maxspan=1m [process where process.name == "aaa"] ![process where process.name == "bbb"] [process where process.name == "ccc"] until [process where process.name == "ddd"]`,
      "s",
    );
    const f = buildPrefilter([rule(`process where process.name == "curl"`), seq])!;
    expect(f.conditions.map((c) => c[0]).sort()).toEqual(["aaa", "bbb", "ccc", "curl", "ddd"].map((n) => `name=="${n}"`));
    for (const name of ["aaa", "bbb", "ddd", "curl"]) expect(f.mayMatch(exec({ name }))).toBe(true);
    expect(f.mayMatch(exec({ name: "eee" }))).toBe(false);
    // A later positive stage only counts while the rule (index 1) holds a started sequence.
    expect(f.mayMatch(exec({ name: "ccc" }))).toBe(false);
    f.setSequenceHoldsState(1, true);
    expect(f.mayMatch(exec({ name: "ccc" }))).toBe(true);
    f.setSequenceHoldsState(1, false);
    expect(f.mayMatch(exec({ name: "ccc" }))).toBe(false);
    // The same condition as an event query of its own counts always.
    const shared = buildPrefilter([seq, rule(`process where process.name == "ccc"`)])!;
    expect(shared.mayMatch(exec({ name: "ccc" }))).toBe(true);
    const open = rule(`sequence [process where process.name == "aaa"] [process where true]`, "o");
    expect(buildPrefilter([open])!.conditions).toEqual([['name=="aaa"', 'category=="process"'], ['category=="process"']]);
    const any = rule(`sequence [process where process.name == "aaa"] [any where true]`, "o");
    expect(buildPrefilter([any])).toBeUndefined();
  });

  it("a key whose every test anchors at the value's start skips values starting otherwise, case folded", () => {
    const anchored = buildPrefilter([rule(`process where process.name : ("Py*", "sh", "launchctl")`)])!;
    const name = (n: unknown) => exec({ name: n, parent: { name: "zsh" } });
    expect(["PYTHON3", "python", "SH", "sh", "LaunchCtl"].map((n) => anchored.mayMatch(name(n)))).toEqual([true, true, true, true, true]);
    expect(["xpython", "s", "bash", "launch", "p", ""].map((n) => anchored.mayMatch(name(n)))).toEqual([false, false, false, false, false, false]);
    // One test that can match inside the value turns the start test off for the key.
    const inside = buildPrefilter([rule(`process where process.name : ("Py*", "*thon*")`)])!;
    expect(inside.mayMatch(name("xpython"))).toBe(true);
    expect(inside.mayMatch(name("xpyt"))).toBe(false);
  });

  it("in a block, each line is tested on its own values, whatever earlier lines held or searched", () => {
    const f = buildPrefilter([rule(`process where process.name == "curl"`), rule(`file where file.path : "/tmp/*"`, "f")])!;
    const file = (path: string) => JSON.stringify({ event: { category: ["file"] }, file: { path }, process: { name: "curl" } });
    const lines = [exec({ name: "curl" }), file("/var/x"), exec({ name: "ls" }), file("/tmp/x"), exec({ name: "ls" }), exec({ name: "curl" }), file("/var/y")];
    const block = lines.join("\n");
    f.beginBlock(block);
    let at = 0;
    const got = lines.map((l) => {
      const r = f.mayMatchAt(at, at + l.length);
      at += l.length + 1;
      return r;
    });
    expect(got).toEqual([true, false, false, true, false, true, false]);
    expect(got).toEqual(lines.map((l) => f.mayMatch(l)));
  });

  it("a later stage with one join key counts only for lines holding a key value the rule's sequences wait for", () => {
    const seq = rule(`sequence by process.entity_id [process where process.name == "aaa"] [process where process.name == "ccc"]`, "s");
    const f = buildPrefilter([rule(`process where process.name == "curl"`), seq])!;
    const asked: [number, string][] = [];
    const waiting = new Set(["E1"]);
    f.setSequenceKeyProbe((r, key) => {
      asked.push([r, key]);
      return r === 1 && waiting.has(key);
    });
    const ccc = (entity_id: unknown, parent: unknown = "P") => exec({ name: "ccc", entity_id, parent: { entity_id: parent } });
    // The rule holds nothing: not even asked.
    expect(f.mayMatch(ccc("E1"))).toBe(false);
    expect(asked).toEqual([]);
    f.setSequenceHoldsState(1, true);
    expect(f.mayMatch(ccc("E1"))).toBe(true);
    expect(f.mayMatch(ccc("E2"))).toBe(false);
    // Every value after an `entity_id` key is a candidate (the parent's too): never fewer lines than needed.
    expect(f.mayMatch(ccc("E2", "E1"))).toBe(true);
    expect(asked.map(([, k]) => k)).toEqual(["E1", "E2", "P", "E2", "E1"]);
    // A value the probe cannot compare as a string (a number, an array) lets the line through.
    expect(f.mayMatch(ccc(7))).toBe(true);
    expect(f.mayMatch(ccc(["E3"]))).toBe(true);
    // The first stage and other rules are not gated.
    expect(f.mayMatch(exec({ name: "aaa", entity_id: "E9" }))).toBe(true);
    expect(f.mayMatch(exec({ name: "curl", entity_id: "E9" }))).toBe(true);
    // Without a probe, holding any sequence opens the stage to every line.
    f.setSequenceKeyProbe(undefined);
    expect(f.mayMatch(ccc("E2"))).toBe(true);

    // Two join keys, or an optional one: only the rule's holding state gates.
    for (const by of ["process.entity_id, user.name", "?process.entity_id"]) {
      const two = buildPrefilter([rule(`sequence by ${by} [process where process.name == "aaa"] [process where process.name == "ccc"]`, "t")])!;
      two.setSequenceKeyProbe(() => false);
      two.setSequenceHoldsState(0, true);
      expect(two.mayMatch(ccc("E2"))).toBe(true);
    }
    // A stage-level key counts like a sequence-level one.
    const staged = buildPrefilter([rule(`sequence [process where process.name == "aaa"] by process.parent.entity_id [process where process.name == "ccc"] by process.entity_id`, "u")])!;
    staged.setSequenceKeyProbe((_, key) => key === "E1");
    staged.setSequenceHoldsState(0, true);
    expect(staged.mayMatch(ccc("E1"))).toBe(true);
    expect(staged.mayMatch(ccc("E2"))).toBe(false);
  });
});

describe("replay with and without the pre-filter", () => {
  it("a later stage's lines reach the rules only for the keys pending sequences wait for; the same hits", async () => {
    const seq = rule(`sequence by process.entity_id with maxspan=1m [process where process.name == "curl"] [network where destination.port == 443]`, "s");
    const t = (s: number) => `2026-11-26T10:00:${String(s).padStart(2, "0")}Z`;
    const proc = (id: string, s: number) => JSON.stringify({ "@timestamp": t(s), event: { category: ["process"], type: ["start"] }, process: { name: "curl", entity_id: id } });
    const net = (id: string, s: number) =>
      JSON.stringify({ "@timestamp": t(s), event: { category: ["network"], type: ["start"] }, process: { entity_id: id }, destination: { port: 443 } });
    const lines = [proc("E1", 0)];
    for (let i = 0; i < 20; i++) lines.push(net(`X${i}`, 1 + i));
    lines.push(net("E1", 30), net("E1", 31), proc("E2", 32), net("E3", 33), net("E2", 34));
    const text = lines.join("\n");
    const pushed = async (prefilter: boolean) => {
      const set = new RuleSet([seq]);
      const seen: unknown[] = [];
      const push = set.push.bind(set);
      set.push = (e) => (seen.push((e as any).process.entity_id), push(e));
      const stats = await replayEvents({ input: Readable.from([text]), rules: set, sink: { write: () => {} }, prefilter });
      return { seen, stats };
    };
    const on = await pushed(true);
    const off = await pushed(false);
    expect(off.seen).toHaveLength(lines.length);
    // Network lines of other processes never reach the rules; the second E1 line neither (its sequence is done).
    expect(on.seen).toEqual(["E1", "E1", "E2", "E2"]);
    expect(on.stats).toEqual({ ...off.stats, seconds: on.stats.seconds, eventsPerSecond: on.stats.eventsPerSecond });
    expect(on.stats.alerts).toBe(2);
  });

  it("gives the same alerts and counts over the recording and every fixture", async () => {
    const files = [fileURLToPath(new URL("../../samples/recorded-events.ndjson", import.meta.url))];
    for (const dir of readdirSync(fixtures, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      files.push(`${fixtures}${dir.name}/positive.ndjson`, `${fixtures}${dir.name}/negative.ndjson`);
    }
    const text = files.map((f) => readFileSync(f, "utf8")).join("");
    const { on, off } = await replayBoth(shipped, text);
    expect(on.stats).toEqual(off.stats);
    expect(on.stats.alerts).toBeGreaterThan(30);
    const strip = (a: EcsEvent) => ({ ...a, event: { ...(a.event as object), id: undefined } });
    expect(on.alerts.map(strip)).toEqual(off.alerts.map(strip));
  });

  it("sequences: same hits with and without it, unrelated events in between", async () => {
    const seq = rule(`sequence by process.parent.entity_id with maxspan=1m [process where process.name == "curl"] [process where process.name == "sh"]`, "s");
    const ev = (name: string, parent: string, t: string) =>
      JSON.stringify({ "@timestamp": t, event: { category: ["process"], type: ["start"] }, process: { name, parent: { entity_id: parent } } });
    const text = [
      ev("curl", "p1", "2026-11-26T10:00:00Z"),
      ev("ls", "p1", "2026-11-26T10:00:10Z"),
      ev("sh", "p1", "2026-11-26T10:00:20Z"),
      ev("curl", "p2", "2026-11-26T10:01:00Z"),
      ev("ls", "p2", "2026-11-26T10:03:00Z"),
      ev("sh", "p2", "2026-11-26T10:03:30Z"),
    ].join("\n");
    const { on, off } = await replayBoth([seq], text);
    expect(on.stats).toEqual({ events: 6, alerts: 1, badLines: 0 });
    expect(on.stats).toEqual(off.stats);
  });

  it("lines longer than a scan block, and many lines across blocks, are read whole", async () => {
    const r = rule(`process where process.name == "curl"`);
    const long = exec({ name: "curl", args: ["curl", "x".repeat(200_000)] });
    const longQuiet = exec({ name: "ls", args: ["ls", "y".repeat(100_000), "curl"] });
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(exec({ name: i % 50 === 0 ? "curl" : "ls", args: [String(i)] }));
    lines.splice(100, 0, long);
    lines.splice(300, 0, longQuiet);
    const { on, off } = await replayBoth([r], lines.join("\n") + "\n");
    expect(on.stats).toEqual({ events: 502, alerts: 11, badLines: 0 });
    expect(off.stats).toEqual(on.stats);
  });

  it("parses non-ASCII lines: the engine folds the Kelvin sign onto k, the pre-filter must not hide it", async () => {
    const r = rule(`process where process.args : "*/Library/Keychains/*"`);
    const line = exec({ name: "cp", args: ["cp", "/Users/a/Library/\u212Aeychains/login.keychain-db", "/tmp"] });
    const { on, off } = await replayBoth([r], line + "\n");
    expect(on.stats).toEqual(off.stats);
  });

  it("parses lines with a backslash: a JSON \\u escape can spell a needle the byte scan cannot see", async () => {
    const r = rule(`process where process.name == "curl"`);
    const escaped = exec({ name: "curl" }).replace('"curl"', '"\\u0063url"');
    expect(escaped).toContain("\\u0063url");
    const { on, off } = await replayBoth([r], escaped + "\n");
    expect(on.stats).toEqual({ events: 1, alerts: 1, badLines: 0 });
    expect(off.stats).toEqual(on.stats);
  });

  it("reads strings holding escapes as the engine does: such lines are skipped when no rule can match them", () => {
    const f = buildPrefilter([rule(`process where process.name == "osascript" and process.command_line : "*display dialog*"`)])!;
    const osa = (script: string) => exec({ name: "osascript", args: ["osascript", "-e", script], command_line: `osascript -e ${script}` });
    expect(osa('tell application "Music" to pause')).toContain('\\"Music\\"');
    expect(f.mayMatch(osa('tell application "Music" to pause'))).toBe(false);
    expect(f.mayMatch(osa('display dialog "Password" default answer ""'))).toBe(true);
    // The needle spelled with escapes is found once decoded; an escaped quote inside a value is part of it.
    expect(f.mayMatch(osa("display dialog x").replace("display dialog", "display \\u0064ialog"))).toBe(true);
    expect(f.mayMatch(osa("x").replace('"osascript"', '"osa\\"script"'))).toBe(false);
    // A value ending in an escaped backslash does not swallow the key after it.
    const trailing = (name: string) => `{"note":"C:\\\\","event":{"category":["process"]},"process":{"name":"${name}","command_line":"display dialog"}}`;
    expect(JSON.parse(trailing("osascript")).note).toBe("C:\\");
    expect(f.mayMatch(trailing("osascript"))).toBe(true);
    expect(f.mayMatch(trailing("ls"))).toBe(false);
    // An escape in a key could spell any key: the line is parsed. So is a value that decodes beyond ASCII.
    expect(f.mayMatch(trailing("ls").replace('"name"', '"na\\u006de"'))).toBe(true);
    expect(f.mayMatch(osa("display dialog x").replace('"osascript"', '"osascript\\u00e9"'))).toBe(true);
  });

  it("still reports lines that do not look like an object; a skipped {…} line is not fully checked", async () => {
    const r = rule(`process where process.name == "curl"`);
    const text = [exec({ name: "ls" }), "not json", '{"broken": }', "{truncated", exec({ name: "curl" }), ""].join("\n");
    const { on, off } = await replayBoth([r], text);
    expect(on.bad).toEqual([2, 4]);
    expect(off.bad).toEqual([2, 3, 4]);
    expect(on.stats).toEqual({ events: 3, alerts: 1, badLines: 2 });
  });
});
