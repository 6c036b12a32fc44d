// EQL engine throughput on one core, on realistic macOS exec events (ECS, as the agent produces them):
//  (a) the keychain-dump query alone, via the compiled test and via a streaming matcher;
//  (b) 100 rules of the shapes Elastic's macOS rules use (process.name lists, args wildcards, parent names,
//      code-signature checks, a few sequences by entity id), all run on every event.
import { compileQuery, compileQuerySet } from "../dist/eql/index.js";

const SECONDS = Number(process.env.EQL_BENCH_SECONDS ?? 1.5);

// ---- realistic exec events -------------------------------------------------------------------------------
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const programs = [
  ["/bin/zsh", ["-zsh"]], ["/bin/ls", ["ls", "-la", "/Users/alice/Documents"]], ["/usr/bin/git", ["git", "status", "--porcelain"]],
  ["/usr/bin/git", ["git", "fetch", "origin", "--prune"]], ["/usr/bin/curl", ["curl", "-fsSL", "https://example.com/install.sh"]],
  ["/usr/sbin/sysctl", ["sysctl", "-n", "hw.memsize"]], ["/usr/bin/sw_vers", ["sw_vers", "-productVersion"]],
  ["/usr/bin/osascript", ["osascript", "-e", "tell application \"Finder\" to get name of front window"]],
  ["/usr/bin/security", ["security", "find-certificate", "-a", "-p"]], ["/usr/bin/security", ["security", "dump-keychain"]],
  ["/usr/bin/xcrun", ["xcrun", "--sdk", "macosx", "--show-sdk-path"]], ["/usr/bin/python3", ["python3", "-m", "pip", "install", "requests"]],
  ["/opt/homebrew/bin/node", ["node", "/Users/alice/project/node_modules/.bin/vite", "build"]], ["/usr/bin/codesign", ["codesign", "-dv", "--verbose=4", "/Applications/Safari.app"]],
  ["/usr/libexec/xpcproxy", ["xpcproxy", "com.apple.mdworker.shared.0B000000-0000-0000-0000-000000000000"]],
  ["/System/Library/Frameworks/CoreServices.framework/Versions/A/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared", ["mdworker_shared", "-s", "mdworker", "-c", "MDSImporterWorker", "-m", "com.apple.mdworker.shared"]],
  ["/usr/bin/defaults", ["defaults", "read", "com.apple.dock", "autohide"]], ["/bin/launchctl", ["launchctl", "list"]],
  ["/usr/bin/ssh", ["ssh", "-o", "BatchMode=yes", "git@github.com", "git-upload-pack", "'org/repo.git'"]], ["/bin/cat", ["cat", "/etc/hosts"]],
  ["/usr/bin/find", ["find", ".", "-name", "*.swift", "-newer", "Package.swift"]], ["/usr/bin/tar", ["tar", "-xzf", "archive.tar.gz", "-C", "/tmp/x"]],
  ["/bin/chmod", ["chmod", "+x", "/tmp/installer"]], ["/usr/bin/pkgutil", ["pkgutil", "--pkgs"]], ["/usr/bin/whoami", ["whoami"]],
];
const parents = [["/bin/zsh", "zsh"], ["/bin/bash", "bash"], ["/sbin/launchd", "launchd"], ["/Applications/iTerm.app/Contents/MacOS/iTerm2", "iTerm2"],
  ["/Applications/Visual Studio Code.app/Contents/MacOS/Electron", "Electron"], ["/usr/libexec/xpcproxy", "xpcproxy"]];

function makeEvent(i) {
  const [exe, args] = pick(programs);
  const [pexe, pname] = pick(parents);
  const apple = exe.startsWith("/usr/") || exe.startsWith("/bin/") || exe.startsWith("/System/") || exe.startsWith("/sbin/");
  const pid = 1000 + Math.floor(rand() * 60000);
  return {
    "@timestamp": new Date(1_780_000_000_000 + i * 3).toISOString(),
    event: { category: ["process"], type: rand() < 0.9 ? ["start"] : ["end"], action: "exec", kind: "event", sequence: i },
    host: { os: { type: rand() < 0.97 ? "macos" : "linux", name: "macOS", version: "15.1" }, name: "mac-042", id: "A1B2C3" },
    user: { name: "alice", id: "501" },
    process: {
      pid, entity_id: `ent-${pid}-${i}`, name: exe.slice(exe.lastIndexOf("/") + 1), executable: exe, args, args_count: args.length,
      command_line: args.join(" "), working_directory: "/Users/alice",
      code_signature: apple ? { exists: true, trusted: true, signing_id: `com.apple.${args[0]}`, status: "valid" } : { exists: true, trusted: rand() < 0.8, signing_id: "org.example.tool", team_id: "ABCDE12345", status: "valid" },
      parent: { pid: 500 + Math.floor(rand() * 500), entity_id: `ent-p-${i % 97}`, name: pname, executable: pexe, args: [pname] },
    },
  };
}
const N = 50_000;
const events = Array.from({ length: N }, (_, i) => makeEvent(i));

/**
 * Events per second of CPU time (user + system of this process): the machine is shared, so wall time would
 * measure the neighbours; CPU time is what one core gives us. Warm-up first, then passes for SECONDS of CPU.
 */
const wallRates = {};
function measure(fn, name) {
  fn();
  let done = 0;
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  let cpu = 0;
  while (cpu < SECONDS) {
    fn();
    done += N;
    const c = process.cpuUsage(c0);
    cpu = (c.user + c.system) / 1e6;
  }
  if (name) wallRates[name] = Math.round(done / (Number(process.hrtime.bigint() - w0) / 1e9));
  return Math.round(done / cpu);
}

// ---- (a) ---------------------------------------------------------------------------------------------------
const keychain = compileQuery(
  'process where host.os.type == "macos" and event.type in ("start","process_started") and process.args : "dump-keychain" and process.args : "-d"',
);
let sink = 0;
const aTest = measure(() => {
  const test = keychain.test;
  for (let i = 0; i < N; i++) if (test(events[i])) sink++;
}, "keychain_wall_events_per_s_test");
const aMatcher = measure(() => {
  const m = keychain.newMatcher();
  for (let i = 0; i < N; i++) sink += m.push(events[i]).length;
});

// ---- (b) ---------------------------------------------------------------------------------------------------
const nameLists = [
  '("osascript", "swift", "python", "python3", "perl", "ruby")', '("curl", "wget", "nscurl")', '("bash", "sh", "zsh", "dash", "fish")',
  '("security", "certtool", "keychain")', '("launchctl", "launchd")', '("tclsh", "wish", "expect")', '("scp", "sftp", "ssh")',
  '("chmod", "chown", "xattr")', '("kextload", "kextutil", "kmutil")', '("systemsetup", "networksetup", "scutil")',
];
const argWildcards = [
  '"*keychain*"', '"*LaunchAgents*"', '"*/tmp/*"', '"*.plist"', '"*base64*"', '"*curl*|*sh*"', '"*com.apple.quarantine*"', '"*-enable*"',
  '"*/Library/Application Support/*"', '"*DYLD_INSERT_LIBRARIES*"',
];
const parents2 = ['("Terminal", "iTerm2", "zsh", "bash")', '("Microsoft Word", "Microsoft Excel", "Microsoft PowerPoint")', '("Safari", "Google Chrome", "firefox")', '("launchd", "xpcproxy")'];
const rules = [];
for (let i = 0; rules.length < 100; i++) {
  // Ten families of rule shapes (i % 10), each in ten variants (i / 10) with different lists and patterns.
  const v = Math.floor(i / 10);
  const names = nameLists[(v + i) % nameLists.length];
  const arg = argWildcards[(v * 3 + i) % argWildcards.length];
  const parent = parents2[(v + i) % parents2.length];
  switch (i % 10) {
    case 0:
      rules.push(`process where host.os.type == "macos" and event.type in ("start", "process_started") and process.name in ${names} and process.args : ${arg}`);
      break;
    case 1:
      rules.push(`process where host.os.type == "macos" and event.type == "start" and process.parent.name in ${parent} and process.name : ${names}`);
      break;
    case 2:
      rules.push(`process where event.type == "start" and host.os.type == "macos" and process.name == "security" and process.args : ("find-generic-password", "find-internet-password", "dump-keychain") and not process.parent.executable : "/usr/libexec/*"`);
      break;
    case 3:
      rules.push(`process where host.os.type == "macos" and event.type in ("start", "process_started") and process.executable : ("/private/tmp/*", "/tmp/*", "/Users/Shared/*", "/var/tmp/*") and not process.code_signature.trusted == true`);
      break;
    case 4:
      rules.push(`process where host.os.type == "macos" and event.action == "exec" and process.command_line : ("*curl*|*sh*", "*wget*|*bash*", "*base64 -d*") and not process.parent.name : ("Xcode", "brew")`);
      break;
    case 5:
      rules.push(`process where host.os.type == "macos" and event.type == "start" and process.name : "osascript" and process.args : ("-e", "*display dialog*", "*password*") and process.args_count >= 3 and stringContains(process.command_line, "hidden answer")`);
      break;
    case 6:
      rules.push(`process where host.os.type == "macos" and event.type == "start" and (process.code_signature.exists == false or process.code_signature.trusted == false) and process.parent.name in ${parent} and not process.code_signature.signing_id : ("com.apple.*", "org.example.*")`);
      break;
    case 7:
      rules.push(`process where host.os.type == "macos" and event.type in ("start", "process_started") and process.name in ${names} and process.args like~ ${arg} and process.parent.executable regex~ """/(usr/)?bin/[a-z]+sh"""`);
      break;
    case 8:
      rules.push(`sequence by process.parent.entity_id with maxspan=30s [process where host.os.type == "macos" and event.type == "start" and process.name in ("curl", "nscurl", "wget")] [process where host.os.type == "macos" and event.type == "start" and process.name : ("chmod", "xattr") and process.args : ("+x", "-d", "com.apple.quarantine")]`);
      break;
    default:
      rules.push(`sequence by process.entity_id with maxspan=1m [process where host.os.type == "macos" and event.type == "start" and process.name : ${names}] [process where event.type == "end" and process.name : ${names}]`);
      break;
  }
}
const compiled = rules.map((r) => compileQuery(r));
const eventRules = compiled.filter((c) => !c.isSequence).map((c) => c.test);
const sequenceRules = compiled.filter((c) => c.isSequence);
// One matcher per rule, as a caller holding 100 CompiledQuery objects would run them.
let matchers = sequenceRules.map((c) => c.newMatcher());
const bSeparate = measure(() => {
  for (let i = 0; i < N; i++) {
    const e = events[i];
    for (let r = 0; r < eventRules.length; r++) if (eventRules[r](e)) sink++;
    for (let r = 0; r < matchers.length; r++) sink += matchers[r].push(e).length;
  }
});
matchers = [];
// The same rules as one query set: shared tests run once per event.
const set = compileQuerySet(rules);
let setMatcher = set.newMatcher();
const bRate = measure(() => {
  for (let i = 0; i < N; i++) sink += setMatcher.push(events[i]).length;
}, "rules100_wall_events_per_s");
const pending = setMatcher.stats().reduce((n, s) => n + s.pendingSequences, 0);
// Hits of one pass over the events, for a deterministic check that both ways agree.
const onePass = (push) => { let n = 0; for (let i = 0; i < N; i++) n += push(events[i]); return n; };
const separateMatchers = sequenceRules.map((c) => c.newMatcher());
const hitsSeparate = onePass((e) => eventRules.reduce((n, t) => n + (t(e) ? 1 : 0), 0) + separateMatchers.reduce((n, m) => n + m.push(e).length, 0));
setMatcher = set.newMatcher();
const hitsSet = onePass((e) => setMatcher.push(e).length);

const result = {
  keychain_events_per_s_test: aTest,
  keychain_events_per_s_matcher: aMatcher,
  rules: compiled.length,
  rules_sequences: sequenceRules.length,
  rules100_events_per_s: bRate,
  rules100_separate_matchers_events_per_s: bSeparate,
  rules100_pending_sequences_at_end: pending,
  rules100_hits_per_pass: hitsSet,
  rules100_hits_agree: hitsSet === hitsSeparate,
  events_per_pass: N,
  measured_as: "events per second of CPU time of this process (the *_wall_* figures: per second of wall time, shared machine)",
  ...wallRates,
  target_keychain_events_per_s: 5_000_000,
  target_rules100_events_per_s: 200_000,
  meets_targets: aTest >= 5_000_000 && bRate >= 200_000,
};
console.log(JSON.stringify(result));
