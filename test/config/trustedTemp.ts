import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

/**
 * A fresh folder the permission check accepts: under the repository's `.tmp/` (gitignored), mode 0700, rather
 * than under the world-writable /tmp, which the check rightly refuses.
 */
export function trustedTempDir(prefix: string): string {
  const base = new URL("../../.tmp/", import.meta.url).pathname;
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o755);
  const dir = mkdtempSync(join(base, prefix));
  chmodSync(dir, 0o700);
  return dir;
}
