// Raw event → ECS mapping throughput (fork/exec/exit through the process table, Linux-shaped events) and
// eslogger JSON → ECS throughput, with the process's RSS afterwards. Targets: far above the agent's worst case
// (1,000 execs/s ≈ 3,000 events/s) so mapping is never the bottleneck, and RSS well under the agent's 80 MB.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createEcsMapper } from "../dist/ecs/mapper.js";
import { esloggerToEcs } from "../dist/ecs/esloggerToEcs.js";

const host = {
  id: "4C4C4544-0042-3510-8052-B7C04F4E3732",
  name: "bench",
  hostname: "bench",
  architecture: "arm64",
  os: { type: "macos", name: "macOS", version: "15.1", platform: "darwin", family: "darwin", kernel: "24.1.0", full: "macOS 15.1" },
};
const agent = { id: "bench-agent", version: "0.1.0" };
const users = { userName: (u) => (u === 0 ? "root" : u === 501 ? "alice" : undefined), groupName: (g) => (g === 20 ? "staff" : undefined) };

// fork → exec → exit of short-lived children of 200 long-lived shells; pids wrap like a real system.
function* makeEvents(count) {
  let n = 0;
  const T0 = 1_700_000_000_000;
  let seq = 0;
  let pid = 10_000;
  for (let s = 0; s < 200; s++) {
    n++;
    yield { source: "linux", kind: "exec", seq: ++seq, time: T0, pid: 1000 + s, ppid: 1, executable: "/bin/zsh", args: ["-zsh"], startTime: T0, uid: 501, euid: 501, gid: 20, egid: 20 };
  }
  while (n < count) {
    const parent = 1000 + (seq % 200);
    pid = pid >= 99_000 ? 10_000 : pid + 1;
    const t = T0 + seq;
    yield { source: "linux", kind: "fork", seq: ++seq, time: t, pid, ppid: parent, startTime: t };
    yield {
      source: "linux", kind: "exec", seq: ++seq, time: t + 1, pid, ppid: parent, pgid: pid, sid: parent, startTime: t,
      executable: "/usr/bin/security", args: ["security", "find-generic-password", "-s", `item-${seq % 97}`, "-w"],
      cwd: "/Users/alice", tty: "/dev/ttys003", uid: 501, euid: 501, gid: 20, egid: 20,
    };
    yield { source: "linux", kind: "exit", seq: ++seq, time: t + 2, pid, exitStatus: 0 };
    n += 3;
  }
}

function runMapping(count) {
  const mapper = createEcsMapper({ host, agent, users, now: () => 1_700_000_000_000 });
  let sink = 0;
  let events = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (const e of makeEvents(count)) {
    sink += mapper.map(e).process.pid;
    events++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error("nothing mapped");
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, events, stats: mapper.table.stats };
}

// Paced first, in a fresh heap: 1,000 execs/s (fork + exec + exit = 3,000 events/s) for 3 s, the agent's
// busy-machine load; RSS then is what the mapping costs the agent. The burst below inflates the heap.
const rssStartMb = process.memoryUsage().rss / 1048576;
{
  const mapper = createEcsMapper({ host, agent, users });
  const source = makeEvents(9_000);
  for (let tick = 0; tick < 300; tick++) {
    for (let i = 0; i < 30; i++) {
      const next = source.next();
      if (!next.done) mapper.map(next.value);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const rssPacedMb = process.memoryUsage().rss / 1048576;

runMapping(30_000);
const mapped = runMapping(300_000);
// CPU time, not wall time: this machine is shared, and CPU seconds are what the agent spends per event.
const eventsPerSecond = mapped.events / mapped.cpuSeconds;
globalThis.gc?.();
const rssAfterMappingMb = process.memoryUsage().rss / 1048576;
const heapAfterMappingMb = process.memoryUsage().heapUsed / 1048576;

// eslogger: the v6 fixture (JSON lines, 7 messages, one skipped) repeated as a text stream
const fixture = readFileSync(fileURLToPath(new URL("../test/fixtures/eslogger/v6-session.jsonl", import.meta.url)), "utf8");
const REPEAT = 4000;
const messagesPerRepeat = fixture.trim().split("\n").length;
function* fixtureChunks() {
  for (let i = 0; i < REPEAT; i++) yield fixture;
}
let esloggerEvents = 0;
const cpu1 = process.cpuUsage();
for await (const doc of esloggerToEcs(fixtureChunks(), { host, agent, now: () => 0 })) if (doc.process) esloggerEvents++;
const cpuEslogger = process.cpuUsage(cpu1);
const esloggerSeconds = (cpuEslogger.user + cpuEslogger.system) / 1e6;
const esloggerMessages = REPEAT * messagesPerRepeat;
const esloggerMb = (REPEAT * fixture.length) / 1048576;

globalThis.gc?.();
const rssEsloggerMb = process.memoryUsage().rss / 1048576;
const result = {
  raw_to_ecs_events_per_cpu_s: Math.round(eventsPerSecond),
  raw_to_ecs_cpu_us_per_event: +((mapped.cpuSeconds * 1e6) / mapped.events).toFixed(2),
  raw_to_ecs_events_per_wall_s: Math.round(mapped.events / mapped.seconds),
  eslogger_to_ecs_messages_per_cpu_s: Math.round(esloggerMessages / esloggerSeconds),
  eslogger_to_ecs_mb_per_cpu_s: +(esloggerMb / esloggerSeconds).toFixed(1),
  eslogger_events: esloggerEvents,
  table_live: mapped.stats.live,
  table_exited: mapped.stats.exited,
  rss_start_mb: +rssStartMb.toFixed(1),
  rss_paced_3000_events_per_s_mb: +rssPacedMb.toFixed(1),
  rss_after_burst_mb: +rssAfterMappingMb.toFixed(1),
  heap_used_after_mapping_mb: +heapAfterMappingMb.toFixed(1),
  rss_after_eslogger_mb: +rssEsloggerMb.toFixed(1),
  target_raw_to_ecs_events_per_cpu_s: 50_000,
  target_rss_mb: 80,
};
result.meets_targets = result.raw_to_ecs_events_per_cpu_s >= result.target_raw_to_ecs_events_per_cpu_s && result.rss_paced_3000_events_per_s_mb < result.target_rss_mb;
console.log(JSON.stringify(result));
