#!/usr/bin/env node
// The package's install step: builds the addon with node-gyp unless build/Release/macsensor.node is already
// built from the current sources for this Node ABI. npm runs install scripts again when `npx macsensor` links the
// checkout into its cache; without this check that meant a full C++ rebuild before the first command.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const addon = join(root, "build", "Release", "macsensor.node");
const stamp = join(root, "build", "macsensor.abi");
const wanted = `${process.versions.modules} ${process.platform} ${process.arch}`;

function newestSource() {
  let newest = statSync(join(root, "binding.gyp")).mtimeMs;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  visit(join(root, "native"));
  return newest;
}

const fresh =
  existsSync(addon) &&
  existsSync(stamp) &&
  readFileSync(stamp, "utf8").trim() === wanted &&
  statSync(addon).mtimeMs >= newestSource();

if (fresh && !process.argv.includes("--force")) {
  process.stdout.write("macsensor: native addon is up to date (npm run build:native rebuilds it)\n");
} else {
  const r = spawnSync("node-gyp", ["rebuild"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, wanted + "\n");
}
