// Pattern matching cannot be turned against the sensor: every wildcard and regex runs in time linear in the input.
//  (1) For each adversarial pattern (wildcards and Lucene regexes known to make a backtracking matcher explode,
//      plus realistic ones), the time to test a 64 KB and a 1 MB near-miss input through a compiled query, and the
//      ratio (linear => about 16).
//  (2) The worst per-event evaluation time of a whole rule set (the RuleSet the agent runs) over exec events whose
//      command line / args are 1 MB, for (a) the shipped rules, (b) 145 rules in the shapes of Elastic's macOS EQL
//      rules (bench/corpus/macos-rules.mjs), (c) the adversarial patterns as rules.
// CPU time of this process is measured (the machine is shared). REDOS_BENCH_REFERENCE=1 adds the old backtracking
// RegExp's times on small inputs, for comparison (slow: seconds).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileQuery } from "../dist/eql/index.js";
import { luceneRegexToJs } from "../dist/eql/luceneRegex.js";
import { wildcardToRegExpSource } from "../dist/eql/wildcard.js";
import { loadRules } from "../dist/rules/loader.js";
import { RuleSet } from "../dist/rules/ruleSet.js";
import { writeMacosRules } from "./corpus/macos-rules.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const KB64 = 64 * 1024;
const MB = 1024 * 1024;
const TARGET_MAX_RATIO = 32;
const TARGET_EVENT_MS = 50;
/** Below this (per 1 MB test) a time is constant-time work, not a scan: no ratio. */
const MIN_MEASURABLE_MS = 0.1;

/** `unit` repeated to exactly `size` UTF-16 units. */
const fill = (unit, size) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

let seed = 7;
const randomAb = (size) => {
  let out = "";
  for (let i = 0; i < size; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out += (seed >> 16) & 1 ? "a" : "b";
  }
  return out;
};

// [name, operator, pattern, near-miss input of a size]. Operators: ":" and "like~" are case-insensitive. The
// near misses hold the literal a regex requires (so that the automaton, not the literal prefilter, refuses them)
// and fail at the very end, where a backtracking matcher has tried everything.
const ADVERSARIAL = [
  ["wildcard *a*b*c?", ":", "*a*b*c?", (n) => fill("a", n - 2) + "cx"],
  ["wildcard *scp *127.0.0.?:/*", "like~", "*scp *127.0.0.?:/*", (n) => fill("scp 127.0.0.1 ", n)],
  ["wildcard *?*?*?x", ":", "*?*?*?x", (n) => fill("a", n)],
  ["wildcard *?a?a?a?b*", "like", "*?a?a?a?b*", (n) => fill("a", n - 1) + "b"],
  ["wildcard *a????????????????b*", ":", "*a????????????????b*", (n) => fill("a", n - 1) + "b"],
  ["regex .*{2}{1,3}+$", "regex", ".*{2}{1,3}+$", (n) => fill("a", n - 2) + "$x"],
  ["regex (a+)+b", "regex", "(a+)+b", (n) => fill("a", n - 2) + "bx"],
  ["regex (a|aa)*c", "regex", "(a|aa)*c", (n) => fill("a", n - 2) + "cx"],
  ["regex (.*a){12}", "regex", "(.*a){12}", (n) => fill("a", n - 1) + "b"],
  ["regex (x+x+)+y", "regex~", "(x+x+)+y", (n) => fill("x", n - 2) + "yz"],
  ["regex (\\w+\\s?)*;", "regex", "(\\w+\\s?)*;", (n) => fill("word ", n - 2) + ";x"],
  ["regex (a|aa|b)*(c|d)", "regex~", "(a|aa|b)*(c|d)", (n) => fill("ab", n - 2) + "cx"],
];
const REALISTIC = [
  ["wildcard *curl*|*sh*", ":", "*curl*|*sh*", (n) => fill("curl -fsSL https://example.com/x ", n)],
  ["wildcard *display dialog*password*", "like~", "*display dialog*password*", (n) => fill("display dialog ", n)],
  ["wildcard /private/tmp/.???*", ":", "/private/tmp/.???*", (n) => "/private/tmp/" + fill("x", n - 13)],
  ["regex ip address", "regex", ".*[0-9]{1,3}(\\.[0-9]{1,3}){3}.*", (n) => fill("10.0.0.x ", n)],
  ["regex base64 | sh", "regex~", ".*base64 +(-d|-D|--decode).*\\| *(ba|z)?sh.*", (n) => fill("base64 -d ", n)],
  ["regex -[adir]*d[adir]*", "regex", "-[adir]*d[adir]*", (n) => "-" + fill("air", n - 2) + "x"],
  ["regex launch plist", "regex", ".*/Library/Launch(Agents|Daemons)/[^/]+\\.plist", (n) => fill("/Library/LaunchAgents/x/", n)],
];
/** A pattern whose DFA has 2^13 states: the cache overflows and the input is finished by NFA simulation. */
const DFA_BLOWUP = ["regex (a|b)*a(a|b){12}", "regex", "(a|b)*a(a|b){12}", randomAb];

const queryFor = (op, pattern) => `process where process.command_line ${op} """${pattern}"""`;

function cpuMs(fn) {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/**
 * CPU ms of one test of an input of `size`: the best of several batches (each long enough to measure). Two inputs
 * differing in their last character alternate, so no per-value memo (case folding) serves a test twice.
 */
function timeTest(test, makeInput, size) {
  const a = makeInput(size);
  const b = a.slice(0, -1) + (a.endsWith("!") ? "?" : "!");
  const events = [a, b].map((s) => ({ event: { category: ["process"] }, process: { command_line: s } }));
  test(events[0]);
  let best = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    let runs = 0;
    const ms = cpuMs(() => {
      const start = performance.now();
      do test(events[runs++ & 1]);
      while (performance.now() - start < 20);
    });
    best = Math.min(best, ms / runs);
  }
  return best;
}

const round = (x, d = 3) => Number(x.toFixed(d));

// The floor: a bare JavaScript loop reading every UTF-16 unit of 1 MB, on this machine now. A matcher that must read
// the whole input (a DFA) cannot beat it; the figures below are best read against it on a loaded machine.
function bareScan(s) {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s.charCodeAt(i);
  return sum;
}
const floorInput = fill("ab", MB);
bareScan(floorInput);
let scanFloor = Infinity;
for (let k = 0; k < 5; k++) scanFloor = Math.min(scanFloor, cpuMs(() => bareScan(floorInput)));

// ---- (1) scaling per pattern -----------------------------------------------------------------------------------
const patterns = {};
let maxRatio = 0;
for (const [name, op, pattern, input] of [...ADVERSARIAL, ...REALISTIC, DFA_BLOWUP]) {
  const test = compileQuery(queryFor(op, pattern)).test;
  const small = timeTest(test, input, KB64);
  const large = timeTest(test, input, MB);
  // A test that never reads the input (e.g. `*?*?*?x` only looks at its end) takes microseconds at any size: its
  // ratio is timer noise and is left out.
  const measurable = large >= MIN_MEASURABLE_MS;
  const ratio = large / small;
  if (measurable) maxRatio = Math.max(maxRatio, ratio);
  patterns[name] = { ms_64kb: round(small, 4), ms_1mb: round(large, 3), ratio: measurable ? round(ratio, 1) : null };
}

// ---- (2) worst per-event time over whole rule sets -------------------------------------------------------------
function tomlRule(i, name, query) {
  return `[metadata]
creation_date = "2026/12/07"
maturity = "production"
updated_date = "2026/12/07"

[rule]
author = ["macsensor bench"]
description = "Adversarial pattern ${i}."
language = "eql"
license = "Apache-2.0"
name = ${JSON.stringify(name)}
risk_score = 21
rule_id = "00000000-7265-4d6f-8300-${String(i).padStart(12, "0")}"
severity = "low"
type = "eql"
version = 1
query = '''
${query}
'''
`;
}

function ruleSetFrom(dir) {
  const loaded = loadRules([dir]);
  if (loaded.errors.length > 0) throw new Error(`${dir}: ${loaded.errors[0].message}`);
  return { set: new RuleSet(loaded.rules), count: loaded.rules.length };
}

const scratch = mkdtempSync(join(tmpdir(), "redos-bench-"));
const corpusDir = join(scratch, "macos");
writeMacosRules(corpusDir);
const adversarialDir = join(scratch, "adversarial");
mkdirSync(adversarialDir);
ADVERSARIAL.forEach(([name, op, pattern], i) => {
  for (const field of ["process.command_line", "process.args"]) {
    const query = `process where event.type == "start" and ${field} ${op} """${pattern}"""`;
    writeFileSync(join(adversarialDir, `adv_${i}_${field}.toml`), tomlRule(i * 2 + (field === "process.args" ? 1 : 0), `${name} on ${field}`, query));
  }
});

const ruleSets = {
  shipped: ruleSetFrom(join(here, "..", "rules")),
  macos145: ruleSetFrom(corpusDir),
  adversarial: ruleSetFrom(adversarialDir),
};

// Exec events with 1 MB of command line: one huge argument, or many 64-byte ones; the process names the rules gate
// on (so that the pattern tests behind them run); near-miss texts of each adversarial kind.
const NAMES = ["scp", "security", "osascript", "bash", "curl", "python3", "sqlite3", "launchctl", "xattr", "ssh", "zsh", "perl", "defaults", "rsync", "socat", "base64"];
const REALISTIC_TEXTS = [(n) => fill("-d base64 curl|sh /tmp/x ", n), (n) => fill("scp 127.0.0.1 ", n)];
// [process name, text]: every gating name with realistic texts, and every adversarial near miss.
const EVENT_SHAPES = [
  ...NAMES.flatMap((name) => REALISTIC_TEXTS.map((text, t) => [name, text, `text ${t}`])),
  ...ADVERSARIAL.map(([advName, , , text]) => ["bash", text, `near miss of ${advName}`]),
];
let pid = 1000;
function execEvent(name, text, split) {
  const body = text(MB - name.length - 1);
  const args = split ? [name, ...body.match(/[^]{1,64}/g)] : [name, body];
  pid++;
  return {
    "@timestamp": "2026-12-07T12:00:00.000Z",
    event: { category: ["process"], type: ["start"], action: "exec", kind: "event" },
    host: { os: { type: "macos" } },
    process: {
      pid, entity_id: `bench-${pid}`, name, executable: `/usr/bin/${name}`, args, args_count: args.length,
      command_line: args.join(" "), working_directory: "/Users/alice",
      code_signature: { exists: true, trusted: false, signing_id: `com.apple.${name}` },
      parent: { pid: 1, entity_id: "bench-parent", name: "zsh", executable: "/bin/zsh", code_signature: { trusted: false } },
    },
  };
}

const perEvent = {};
let worstEventMs = 0;
for (const [setName, { set, count }] of Object.entries(ruleSets)) {
  let worst = 0;
  let worstOf = "";
  let total = 0;
  let events = 0;
  for (const [name, text, what] of EVENT_SHAPES) {
    for (const split of [false, true]) {
      // Fresh events each run (no memo between runs); the best of 3 runs, as one run may meet a GC pause or a
      // neighbour on the shared machine.
      let best = Infinity;
      for (let run = 0; run < 3; run++) {
        const event = execEvent(name, text, split);
        best = Math.min(best, cpuMs(() => set.push(event)));
      }
      total += best;
      events++;
      if (best > worst) {
        worst = best;
        worstOf = `${name}, ${what}, ${split ? "16k args of 64 B" : "one 1 MB arg"}`;
      }
    }
  }
  worstEventMs = Math.max(worstEventMs, worst);
  perEvent[setName] = { rules: count, events, worst_event_ms: round(worst, 2), mean_event_ms: round(total / events, 2), worst_event: worstOf };
}
rmSync(scratch, { recursive: true, force: true });

// ---- optional: the old backtracking RegExps on small inputs ------------------------------------------------------
let reference;
if (process.env.REDOS_BENCH_REFERENCE === "1") {
  reference = {};
  for (const [name, op, pattern, input] of [...ADVERSARIAL, DFA_BLOWUP]) {
    const ci = op === ":" || op === "like~" || op === "regex~";
    const source = op.startsWith("regex") ? luceneRegexToJs(pattern) : wildcardToRegExpSource(pattern);
    const re = new RegExp(source, ci ? "iu" : "u");
    const times = {};
    // Grow the input by an eighth at a time (the time can be exponential in the size) until one test takes over
    // a quarter of a second, or 64 KB.
    for (let size = 4; size <= KB64; size += Math.max(1, size >> 3)) {
      const s = input(size);
      const ms = cpuMs(() => re.test(s));
      if (ms > 250 || size + Math.max(1, size >> 3) > KB64) {
        times[`chars_${size}`] = round(ms, 1);
        break;
      }
      if (ms > 5) times[`chars_${size}`] = round(ms, 1);
    }
    reference[name] = times;
  }
}

const result = {
  scan_floor_ms_1mb: round(scanFloor, 2),
  patterns,
  max_ratio: round(maxRatio, 1),
  target_max_ratio: TARGET_MAX_RATIO,
  per_event: perEvent,
  worst_event_ms: round(worstEventMs, 2),
  target_worst_event_ms: TARGET_EVENT_MS,
  meets_targets: maxRatio <= TARGET_MAX_RATIO && worstEventMs <= TARGET_EVENT_MS,
  ...(reference ? { backtracking_regexp_ms: reference } : {}),
};
process.stdout.write(JSON.stringify(result) + "\n");
