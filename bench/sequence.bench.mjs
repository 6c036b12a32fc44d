// Sequence state at scale: a rule with a leading missing-event stage and no maxspan, keyed by process entity
// id, so every process is a new key and the matcher soon holds as many keys as its cap allows (100 k pending
// sequences, 100 k remembered missing events). Per-event cost over 100 k events, against the cost of the last
// 100 k of 1 M events (state full, evicting on every new key). Target: within 2× (cost independent of the keys
// held). Also the estimated bytes of that state, and the same run under a byte cap.
import { compileQuery } from "../dist/eql/index.js";

const QUERY = `sequence by process.entity_id
  ![process where event.type == "end" and process.name == "launchd"]
  [process where event.type == "start" and process.name : ("curl", "nscurl", "wget")]
  [process where event.type == "start" and process.args : ("*+x*", "*quarantine*")]`;
const CHUNK = 10_000;
const WINDOW = 100_000;

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const names = ["curl", "wget", "launchd", "chmod", "xattr", "ls", "git", "zsh"];

/** Events first..first+CHUNK: ~30% start a sequence, ~20% are missing-stage events, ~5% advance one. */
function chunk(first) {
  const out = new Array(CHUNK);
  for (let j = 0; j < CHUNK; j++) {
    const i = first + j;
    const r = rand();
    // Most events open a new process; some refer to a recent one (advancing or rejecting its sequence).
    const entity = r < 0.8 ? i : Math.max(0, i - 1 - Math.floor(rand() * 50));
    const name = r < 0.3 ? "curl" : r < 0.5 ? "launchd" : r < 0.55 ? "chmod" : names[Math.floor(rand() * names.length)];
    out[j] = {
      "@timestamp": 1_780_000_000_000 + i,
      event: { category: ["process"], type: [r >= 0.3 && r < 0.5 ? "end" : "start"], action: "exec" },
      process: {
        entity_id: `ent-${entity}`,
        pid: 1000 + (entity % 60000),
        name,
        args: name === "chmod" ? ["chmod", "+x", "/tmp/installer"] : [name, "-fsSL", "https://example.com/x"],
        executable: `/usr/bin/${name}`,
      },
      host: { os: { type: "macos" } },
    };
  }
  return out;
}

/** Pushes `total` events; CPU microseconds per event overall and over the last WINDOW events. */
function run(total, options) {
  seed = 7;
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const matcher = compileQuery(QUERY, options).newMatcher();
  let cpuAll = 0;
  let cpuWindow = 0;
  let hits = 0;
  for (let first = 0; first < total; first += CHUNK) {
    const events = chunk(first);
    const c0 = process.cpuUsage();
    for (let j = 0; j < CHUNK; j++) hits += matcher.push(events[j]).length;
    const c = process.cpuUsage(c0);
    const us = c.user + c.system;
    cpuAll += us;
    if (first >= total - WINDOW) cpuWindow += us;
  }
  globalThis.gc?.();
  const heapHeld = process.memoryUsage().heapUsed - heapBefore;
  // Read after the measurement, so the matcher (and all it holds) is alive during it.
  const stats = matcher.stats();
  return { usPerEvent: cpuAll / total, usPerEventLastWindow: cpuWindow / WINDOW, hits, stats, heapMb: heapHeld / 1048576 };
}

run(WINDOW); // warm-up
const small = run(WINDOW);
const large = run(1_000_000);
const capped = run(1_000_000, { maxPendingBytes: 16 * 1024 * 1024 });
const ratio = large.usPerEventLastWindow / small.usPerEvent;

const result = {
  query: "leading missing stage, no maxspan, a new key per process",
  us_per_event_100k: +small.usPerEvent.toFixed(2),
  us_per_event_1m: +large.usPerEvent.toFixed(2),
  us_per_event_last_100k_of_1m: +large.usPerEventLastWindow.toFixed(2),
  ratio_last_100k_of_1m_to_100k: +ratio.toFixed(2),
  hits_1m: large.hits,
  pending_sequences_1m: large.stats.pendingSequences,
  pending_mb_estimated_1m: +(large.stats.pendingBytes / 1048576).toFixed(1),
  heap_held_mb_1m: +large.heapMb.toFixed(1),
  evicted_sequences_1m: large.stats.evictedSequences,
  evicted_missing_events_1m: large.stats.evictedMissingEvents,
  cap_16mb_us_per_event_last_100k: +capped.usPerEventLastWindow.toFixed(2),
  cap_16mb_pending_sequences: capped.stats.pendingSequences,
  cap_16mb_pending_mb_estimated: +(capped.stats.pendingBytes / 1048576).toFixed(1),
  cap_16mb_heap_held_mb: +capped.heapMb.toFixed(1),
  cap_16mb_evicted_sequences: capped.stats.evictedSequences,
  measured_as: "CPU microseconds of this process per event pushed (event generation excluded); heap_held: heap used with the matcher alive minus before it, after GC",
  target_ratio_last_100k_of_1m_to_100k: 2,
};
result.meets_targets = ratio <= result.target_ratio_last_100k_of_1m_to_100k;
console.log(JSON.stringify(result));
