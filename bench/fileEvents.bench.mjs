// Linux file events (fanotify backend): events/s into JavaScript while tar extracts a 10,000-file tree, the
// agent process's CPU, drops, and the share of the workload's file events the kernel never sends because the
// shipped rules need no such kind (setRelevance with the rules' kinds → fewer fanotify marks).
// Two runs of the same untar: every file kind subscribed (the rate and CPU figures), then the shipped rules'
// kinds (the share filtered). Linux as root only (prints {"skipped": ...} otherwise).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { deriveRelevanceSpec } from "../dist/agent/eventRelevance.js";
import { loadRules } from "../dist/rules/loader.js";
import { shippedRulesPath } from "../dist/rules/shippedRules.js";
import { createLinuxFileBackend } from "../dist/sensor/linuxFileBackend.js";

if (process.platform !== "linux" || process.getuid() !== 0) {
  console.log(JSON.stringify({ skipped: "needs Linux and root", meets_targets: null }));
  process.exit(0);
}

const FILES = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 1) => +x.toFixed(d);

const work = mkdtempSync(join(os.tmpdir(), "macsensor-bench-files-"));
const tree = join(work, "tree");
for (let d = 0; d < 100; d++) {
  mkdirSync(join(tree, `d${d}`), { recursive: true });
  for (let f = 0; f < FILES / 100; f++) writeFileSync(join(tree, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
}
const archive = join(work, "tree.tar");
spawnSync("tar", ["-cf", archive, "-C", work, "tree"]);

/** Extracts the archive once under the backend; returns the run's figures. */
async function untar(kinds) {
  const out = join(work, `out-${kinds === null ? "all" : "rules"}`);
  mkdirSync(out);
  let ours = 0;
  let total = 0;
  const backend = createLinuxFileBackend({ roots: [work] });
  if (kinds !== null) backend.setRelevance({ kinds, execPrefilter: null });
  await backend.start((events) => {
    total += events.length;
    for (const e of events) if (typeof e.file?.path === "string" && e.file.path.startsWith(out)) ours++;
  });
  await sleep(200);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // tar runs as a child: its CPU is not ours; the event loop stays free to take batches meanwhile.
  const tar = await new Promise((resolve) => spawn("tar", ["-xf", archive, "-C", out], { stdio: "ignore" }).on("close", resolve));
  const tarMs = performance.now() - t0;
  // Let the reader catch up with what the kernel queued during the untar.
  let last = -1;
  while (ours !== last) {
    last = ours;
    await sleep(300);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await backend.stop();
  const stats = backend.stats();
  return {
    tarExit: tar,
    events: ours,
    eventsAll: total,
    tarSeconds: round(tarMs / 1000, 2),
    eventsPerSecond: Math.round((ours / tarMs) * 1000),
    cpuPercent: round(((cpu.user + cpu.system) / 1000 / tarMs) * 100),
    cpuMsPerThousandEvents: round((cpu.user + cpu.system) / 1000 / (ours / 1000), 2),
    catchUpSeconds: round((wallMs - tarMs) / 1000, 2),
    dropped: stats.dropped,
    kernelOverflows: stats.kernelOverflows,
    queueHighWater: stats.queueHighWater,
    unresolved: stats.unresolved,
  };
}

const rules = loadRules([shippedRulesPath()]).rules;
const spec = deriveRelevanceSpec(rules.map((r) => r.query.ast));
const ruleKinds = spec.kinds.filter((k) => ["open", "create", "modify", "rename", "delete"].includes(k));

const all = await untar(null);
const shipped = await untar(ruleKinds);
rmSync(work, { recursive: true, force: true });

const TARGET_RATE = 20_000;
const TARGET_CPU = 15;
const result = {
  files: FILES,
  all_kinds: all,
  shipped_rules: { kinds: ruleKinds, rules: rules.length, ...shipped },
  filtered_before_js_percent: all.events === 0 ? null : round((1 - shipped.events / all.events) * 100),
  target_no_drops_at_events_per_second: TARGET_RATE,
  target_cpu_percent: TARGET_CPU,
  rate_reached: all.eventsPerSecond >= TARGET_RATE,
  meets_targets: all.dropped === 0 && shipped.dropped === 0 && all.cpuPercent < TARGET_CPU && shipped.cpuPercent < TARGET_CPU,
  load_average: os.loadavg().map((x) => round(x, 2)),
};
console.log(JSON.stringify(result));
