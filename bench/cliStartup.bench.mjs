// CLI start-up: wall time of `macsensor --help` (process spawn to exit), median of 15 runs.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const times = [];
for (let i = 0; i < 15; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, "--help"], { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`--help exited ${r.status}`);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({ cli_startup_ms_median: +median.toFixed(1), cli_startup_ms_max: +times.at(-1).toFixed(1), target_cli_startup_ms: 300, meets_targets: median < 300 }));
