// What the ES benches (esAuth, esOpen) share: the Endpoint Security stand-in's test addon, built first when it
// is missing, and the answer times it records. Not a bench itself (run.mjs runs *.bench.mjs only).
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

/** The ES test addon: the real ES session code built against the stand-in; `.standin` drives it. */
export const addon = createRequire(import.meta.url)(addonPath);
export const { standin } = addon;

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Delivery-to-answer times (µs) of every AUTH message so far, sorted; throws if one was not answered exactly once. */
export function answerTimes() {
  const us = standin.authRecords().map((r) => {
    if (r.answers !== 1) throw new Error(`AUTH message ${r.tag} answered ${r.answers} times`);
    return r.answerUs;
  });
  return us.sort((a, b) => a - b);
}
