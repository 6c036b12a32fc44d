#!/usr/bin/env node
// Runs every bench/*.bench.mjs (or the names given) in its own process, so that each one's RSS is its own,
// and prints one JSON document: {"machine": {...}, "results": {"<name>": {...}}}.
// A bench file prints exactly one JSON object on stdout; its targets are reported beside its figures
// ("target_…" keys and a "meets_targets" boolean) — benchmarks report, they never fail the build.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const results = {};
for (const file of files) {
  const name = file.replace(/\.bench\.mjs$/, "");
  process.stderr.write(`bench: ${name} …\n`);
  const r = spawnSync(process.execPath, ["--expose-gc", join(here, file)], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) {
    results[name] = { error: `exited ${r.status ?? r.signal}` };
    continue;
  }
  try {
    results[name] = JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {
    results[name] = { error: "printed no JSON", output: r.stdout.slice(-2000) };
  }
}

const doc = {
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  },
  results,
};
mkdirSync(join(here, "out"), { recursive: true });
writeFileSync(join(here, "out", "latest.json"), JSON.stringify(doc, null, 2) + "\n");
process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
