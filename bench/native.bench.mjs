// Native addon + Linux process connector: events/s into JavaScript, read-to-JS latency, RSS, CPU.
// Linux as root only (prints {"skipped": ...} otherwise). Latency, of execs (with no relevance set every exec
// wakes JavaScript at once, while forks and exits wait for the next exec on purpose): kernel → JS callback
// (RawEvent.kernelTime, the kernel's own timestamp mapped to the wall clock, to the callback; p50/p99), and its
// two legs: kernel → reader thread (mean/max from the backend's stats) and reader → JS callback (RawEvent.time
// to the callback; p50/p99).
// The load average is printed because on a shared machine both legs are dominated by waiting for a CPU.
import { spawn } from "node:child_process";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { createLinuxBackend } from "../dist/sensor/linuxBackend.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.timeOrigin + performance.now();
const mb = (bytes) => +(bytes / 1048576).toFixed(1);
const pct = (sorted, p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const round = (x, d = 3) => (x === null ? null : +x.toFixed(d));

if (process.platform !== "linux" || process.getuid() !== 0) {
  console.log(JSON.stringify({ skipped: "needs Linux and root", meets_targets: null }));
  process.exit(0);
}

/** A separate process that execs /bin/true at `rate` per second (its CPU is not ours). */
function pacer(rate) {
  const code = `const { spawn } = require("node:child_process");
    setInterval(() => spawn("/bin/true", { stdio: "ignore" }), ${1000 / rate});`;
  return spawn(process.execPath, ["-e", code], { stdio: "ignore" });
}

/** Shell loops that exec /bin/true as fast as they can. */
function flood(loops) {
  return Array.from({ length: loops }, () => spawn("/bin/sh", ["-c", "while :; do /bin/true; done"], { stdio: "ignore" }));
}

let latencies = [];
let execs = 0;
let events = 0;
let kernelLatencies = [];
function onEvents(batch) {
  const t = nowMs();
  events += batch.length;
  for (const e of batch) {
    if (e.kind !== "exec") continue; // forks and exits wait for the next exec on purpose (holdMs)
    execs++;
    latencies.push(t - e.time);
    if (e.kernelTime !== undefined) kernelLatencies.push(t - e.kernelTime);
  }
}
const backend = createLinuxBackend();
await backend.start(onEvents);

// Idle.
global.gc?.();
await sleep(2000);
const rssIdle = process.memoryUsage().rss;

// 100 execs/s: latency and CPU.
latencies = [];
execs = 0;
let p = pacer(100);
await sleep(500); // the pacer's node start-up
latencies = [];
kernelLatencies = [];
execs = 0;
events = 0;
let cpu0 = process.cpuUsage();
let t0 = performance.now();
await sleep(5000);
let cpu = process.cpuUsage(cpu0);
let wall = performance.now() - t0;
p.kill();
const rate100 = (execs / wall) * 1000;
const eventRate100 = (events / wall) * 1000; // every process on the machine, not only the pacer's
const stats100 = backend.stats();
const cpuPct100 = ((cpu.user + cpu.system) / 1000 / wall) * 100;
const lat100 = [...latencies].sort((a, b) => a - b);
const klat100 = [...kernelLatencies].sort((a, b) => a - b);

// Flood: as many execs/s as this machine gives, RSS and latency under load.
await sleep(200);
await backend.stop();
const floodBackend = createLinuxBackend();
await floodBackend.start(onEvents);
latencies = [];
kernelLatencies = [];
execs = 0;
events = 0;
const loops = flood(4);
let rssPeak = 0;
t0 = performance.now();
cpu0 = process.cpuUsage();
for (let i = 0; i < 25; i++) {
  await sleep(200);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}
cpu = process.cpuUsage(cpu0);
wall = performance.now() - t0;
for (const l of loops) l.kill();
const floodExecRate = (execs / wall) * 1000;
const floodEventRate = (events / wall) * 1000;
const floodCpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
const latFlood = [...latencies].sort((a, b) => a - b);
const klatFlood = [...kernelLatencies].sort((a, b) => a - b);
await sleep(300);
const statsAfterFlood = floodBackend.stats();
await floodBackend.stop();

// Drain rate: block JavaScript while events pile up natively, then time how fast the backlog reaches JS.
let drained = 0;
let backlog = Infinity;
let drainedAt = 0;
// holdMs 0: the last forks and exits of the backlog would otherwise wait up to holdMs for an exec that never comes.
const drainBackend = createLinuxBackend({ queueCapacity: 1 << 20, batchMax: 1024, holdMs: 0 });
await drainBackend.start((batch) => {
  drained += batch.length;
  if (drained >= backlog && drainedAt === 0) drainedAt = performance.now();
});
const loops2 = flood(4);
const blockUntil = Date.now() + 3000;
while (Date.now() < blockUntil) {} // the event loop is blocked; the reader thread keeps queueing
for (const l of loops2) l.kill();
backlog = drainBackend.stats().queued;
const drainStart = performance.now();
await sleep(1000);
await drainBackend.stop();
const drainRate = drainedAt > 0 ? (backlog / (drainedAt - drainStart)) * 1000 : null;
const queued = backlog;

const out = {
  rss_idle_mb: mb(rssIdle),
  rss_peak_under_load_mb: mb(rssPeak),
  execs_per_s_at_pacer_100: round(rate100, 1),
  events_per_s_at_pacer_100: round(eventRate100, 1),
  cpu_pct_at_100_execs_per_s: round(cpuPct100, 2),
  cpu_us_per_event: round((cpuPct100 / 100) * 1e6 / Math.max(1, eventRate100), 1),
  latency_kernel_to_js_ms_p50_at_100: round(pct(klat100, 50)),
  latency_kernel_to_js_ms_p99_at_100: round(pct(klat100, 99)),
  kernel_to_read_ms_mean_at_100: round(stats100.kernelToReadUsMean / 1000),
  kernel_to_read_ms_max_at_100: round(stats100.kernelToReadUsMax / 1000),
  latency_read_to_js_ms_p50_at_100: round(pct(lat100, 50)),
  latency_read_to_js_ms_p99_at_100: round(pct(lat100, 99)),
  flood_execs_per_s: round(floodExecRate, 1),
  flood_events_per_s_into_js: round(floodEventRate, 1),
  flood_cpu_pct: round(floodCpuPct, 2),
  latency_kernel_to_js_ms_p50_flood: round(pct(klatFlood, 50)),
  latency_kernel_to_js_ms_p99_flood: round(pct(klatFlood, 99)),
  kernel_to_read_ms_mean_flood: round(statsAfterFlood.kernelToReadUsMean / 1000),
  kernel_to_read_ms_max_flood: round(statsAfterFlood.kernelToReadUsMax / 1000),
  latency_read_to_js_ms_p50_flood: round(pct(latFlood, 50)),
  latency_read_to_js_ms_p99_flood: round(pct(latFlood, 99)),
  flood_dropped: statsAfterFlood.dropped,
  flood_queue_high_water: statsAfterFlood.queueHighWater,
  drain_backlog_events: queued,
  drain_events_per_s_into_js: round(drainRate, 0),
  load_average_1m: +os.loadavg()[0].toFixed(2),
  cores: os.cpus().length,
  target_latency_p99_ms: 5,
  target_rss_mb: 80,
  target_cpu_pct_at_100: 5,
};
out.meets_targets =
  out.latency_kernel_to_js_ms_p99_at_100 < 5 &&
  out.latency_kernel_to_js_ms_p99_flood < 5 &&
  out.rss_peak_under_load_mb < 80 &&
  out.cpu_pct_at_100_execs_per_s < 5;
console.log(JSON.stringify(out));
