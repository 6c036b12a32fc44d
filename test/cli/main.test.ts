import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;

describe("macsensor CLI", () => {
  it("prints usage with --help and exits 0", () => {
    const out = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
    expect(out).toMatch(/^Usage: macsensor <command>/m);
  });

  it("rejects an unknown command with exit 2 and says which", () => {
    const r = spawnSync(process.execPath, [cli, "frobnicate"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'\n");
  });

  it("suggests the command a typo was meant to be", () => {
    const r = spawnSync(process.execPath, [cli, "replya"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'replya' (did you mean 'replay'?)");
  });

  it("a missing rule path is a one-line user error, not a stack trace", () => {
    const r = spawnSync(process.execPath, [cli, "run", "--rules", "/nonexistent/rules"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^macsensor: .*\/nonexistent\/rules.*\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
