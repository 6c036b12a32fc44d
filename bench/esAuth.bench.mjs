// AUTH_EXEC round trip through the Endpoint Security stand-in (Linux): time from the ES thread delivering an
// AUTH message to es_respond_auth_result, as the stand-in records it (Mach ticks from CLOCK_MONOTONIC).
//  - candidate: the pre-filter lets it through, JavaScript gets the event and answers (the rules' decision is
//    modelled by an args check); one exec at a time, as execs mostly arrive.
//  - non-candidate: the native pre-filter rules it out and answers in the ES handler, no JavaScript.
// Uses the ES test addon (test/native/es-standin), building it first when it is missing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const standinDir = fileURLToPath(new URL("../test/native/es-standin/", import.meta.url));
const addonPath = `${standinDir}build/Release/macsensor_es_test.node`;
if (!existsSync(addonPath)) {
  execFileSync("npx", ["node-gyp", "rebuild", "--directory", standinDir], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    env: { ...process.env, CC: "clang", CXX: "clang++" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
const addon = createRequire(import.meta.url)(addonPath);
const { standin } = addon;

const CANDIDATES = 3000;
const NON_CANDIDATES = 30000;

function exec(i, args) {
  return { type: "auth_exec", version: 7, tag: String(i), args, process: { pid: 100, executable: "/bin/zsh" },
    target: { pid: 100, pidversion: i, executable: `/usr/bin/${args[0]}`, signingId: "com.apple.x", platformBinary: true } };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function answerTimes() {
  const us = standin.authRecords().map((r) => {
    if (r.answers !== 1) throw new Error(`AUTH message ${r.tag} answered ${r.answers} times`);
    return r.answerUs;
  });
  return us.sort((a, b) => a - b);
}

let pendingResolve;
const handle = addon.startEs(
  { authExec: true, prefilter: { argEquals: ["dump-keychain"], executableBasename: ["osascript"] } },
  (events) => {
    for (const ev of events) {
      if (!ev.auth) continue;
      const deny = ev.args.includes("dump-keychain") && ev.args.includes("-d");
      addon.respond(handle, ev.auth.id, !deny);
      pendingResolve?.();
    }
  },
);

// Warm-up, then candidates one at a time (each waits for its answer).
for (let i = 0; i < 200; i++) {
  const answered = new Promise((r) => (pendingResolve = r));
  standin.enqueue(exec(i, ["security", "dump-keychain", i % 2 ? "-d" : "-q"]));
  await answered;
}
standin.reset();
for (let i = 0; i < CANDIDATES; i++) {
  const answered = new Promise((r) => (pendingResolve = r));
  standin.enqueue(exec(i, ["security", "dump-keychain", i % 2 ? "-d" : "-q"]));
  await answered;
}
const candidate = answerTimes();
standin.reset();

// Non-candidates in bursts of 1,000 (answered inside the ES handler; JavaScript only receives reports).
for (let done = 0; done < NON_CANDIDATES; done += 1000) {
  standin.enqueue(Array.from({ length: 1000 }, (_, k) => exec(done + k, ["ls", "-l", `/tmp/d${k}`])));
  standin.waitIdle(60_000);
  await new Promise((r) => setImmediate(r)); // let the reports reach JavaScript
}
const nonCandidate = answerTimes();
const stats = addon.esStats(handle);
addon.stopEs(handle);
const state = standin.state();

const result = {
  candidate_execs: candidate.length,
  candidate_p50_us: +percentile(candidate, 50).toFixed(1),
  candidate_p99_us: +percentile(candidate, 99).toFixed(1),
  noncandidate_execs: nonCandidate.length,
  noncandidate_p50_us: +percentile(nonCandidate, 50).toFixed(2),
  noncandidate_p99_us: +percentile(nonCandidate, 99).toFixed(2),
  prefiltered: stats.prefiltered,
  watchdog_answers: stats.watchdogAnswers,
  client_killed: state.killed,
  target_candidate_p99_us: 1000,
  target_noncandidate_p99_us: 50,
};
result.meets_targets =
  result.candidate_p99_us < 1000 && result.noncandidate_p99_us < 50 && !state.killed && state.liveMessages === 0;
console.log(JSON.stringify(result));
