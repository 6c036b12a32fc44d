/**
 * Loads the native addon (build/Release/macsensor.node, then build/Debug), once. A failure names every path
 * tried, why each failed, and the likely fix.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MacsensorError } from "../errors.js";
import type { NativeBinding } from "./nativeBinding.js";

export interface AddonAttempt {
  path: string;
  /** Why loading it failed. */
  reason: string;
}

export class NativeAddonError extends MacsensorError {
  override name = "NativeAddonError";
  readonly attempts: AddonAttempt[];

  constructor(attempts: AddonAttempt[]) {
    super(describe(attempts));
    this.attempts = attempts;
  }
}

/** Where the addon is looked for: $MACSENSOR_NATIVE_ADDON if set, then the package's build/Release and build/Debug. */
export function defaultAddonPaths(): string[] {
  // This file is src/sensor/native.ts (tests) or dist/sensor/native.js (built): the package root is two up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const paths = [resolve(root, "build", "Release", "macsensor.node"), resolve(root, "build", "Debug", "macsensor.node")];
  const override = process.env.MACSENSOR_NATIVE_ADDON;
  return override ? [resolve(override), ...paths] : paths;
}

const requireAddon = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

/**
 * The addon's binding. With `paths`, loads from exactly those (uncached; for tests and tools); without,
 * from defaultAddonPaths(), cached for the process.
 */
export function loadNative(paths?: string[]): NativeBinding {
  if (paths === undefined && cached !== undefined) return cached;
  const attempts: AddonAttempt[] = [];
  for (const path of paths ?? defaultAddonPaths()) {
    if (!existsSync(path)) {
      attempts.push({ path, reason: "not found" });
      continue;
    }
    try {
      const binding = requireAddon(path) as NativeBinding;
      if (typeof binding?.abiVersion !== "number") {
        attempts.push({ path, reason: "loaded, but it is not the macsensor addon (no abiVersion)" });
        continue;
      }
      if (paths === undefined) cached = binding;
      return binding;
    } catch (err) {
      attempts.push({ path, reason: err instanceof Error ? err.message.split("\n")[0] : String(err) });
    }
  }
  throw new NativeAddonError(attempts);
}

function describe(attempts: AddonAttempt[]): string {
  const lines = ["the macsensor native addon could not be loaded; tried:"];
  for (const a of attempts) lines.push(`  ${a.path}: ${a.reason}`);
  const reasons = attempts.map((a) => a.reason).join("\n");
  if (/NODE_MODULE_VERSION|was compiled against a different Node/i.test(reasons)) {
    lines.push(
      `likely cause: it was built for another Node.js ABI; this is Node ${process.version} ` +
        `(ABI ${process.versions.modules}). Rebuild it: npm rebuild (or npx node-gyp rebuild)`,
    );
  } else if (attempts.length > 0 && attempts.every((a) => a.reason === "not found")) {
    lines.push("likely cause: the addon was not built. Build it: npm rebuild (or npx node-gyp rebuild)");
  } else {
    lines.push(
      `likely cause: a broken or foreign build (Node ${process.version}, ABI ${process.versions.modules}, ` +
        `${process.platform}-${process.arch}). Rebuild it: npm rebuild (or npx node-gyp rebuild)`,
    );
  }
  return lines.join("\n");
}
