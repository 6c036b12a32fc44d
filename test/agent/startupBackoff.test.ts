import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { delayFor, EXIT_CONFIG, MAX_DELAY_MS, StartupBackoff, waitUnlessChanged } from "../../src/agent/startupBackoff.js";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;

describe("StartupBackoff", () => {
  it("doubles the wait from 10 s with each failed start in a row, up to 10 minutes", () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(delayFor)).toEqual([10_000, 20_000, 40_000, 80_000, 600_000, 600_000, 600_000]);
    expect(delayFor(1000)).toBe(MAX_DELAY_MS);
  });

  it("counts failures across restarts in its state file, and a healthy start forgets them", () => {
    const file = join(mkdtempSync(join(tmpdir(), "macsensor-backoff-")), "state", "startup-failures.json");
    const first = new StartupBackoff(file);
    expect(first.recordFailure("bad config")).toEqual({ failures: 1, delayMs: 10_000 });
    // A new process (a restart) reads the same file.
    expect(new StartupBackoff(file).recordFailure("still bad")).toEqual({ failures: 2, delayMs: 20_000 });
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ failures: 2, reason: "still bad" });
    new StartupBackoff(file).reset();
    expect(existsSync(file)).toBe(false);
    expect(new StartupBackoff(file).recordFailure("again").failures).toBe(1);
  });

  it("a damaged state file counts as no failures rather than stopping the agent", () => {
    const file = join(mkdtempSync(join(tmpdir(), "macsensor-backoff-")), "startup-failures.json");
    writeFileSync(file, "{not json");
    expect(new StartupBackoff(file).recordFailure("x").failures).toBe(1);
  });

  it("the wait ends when a watched file changes, or is created in its folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "macsensor-backoff-"));
    const config = join(dir, "config.toml");
    writeFileSync(config, "a = 1\n");
    const waiting = waitUnlessChanged(60_000, [config]);
    setTimeout(() => writeFileSync(config, "a = 2\n"), 50);
    expect(await waiting).toBe("changed");
    const missing = join(dir, "managed.plist");
    const waitingForMissing = waitUnlessChanged(60_000, [missing]);
    setTimeout(() => writeFileSync(missing, "x"), 50);
    expect(await waitingForMissing).toBe("changed");
    expect(await waitUnlessChanged(30, [config])).toBe("timeout");
  });
});

describe("macsensor run --supervised with a broken configuration", () => {
  it("waits instead of exiting at once, counts the failure, and exits 78 as soon as the configuration is fixed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "macsensor-supervised-"));
    const config = join(dir, "config.toml");
    writeFileSync(config, 'backend = "nonsense"\n');
    const child = spawn(process.execPath, [cli, "run", "--supervised", "--config", config], {
      env: { ...process.env, MACSENSOR_STATE_DIR: join(dir, "state"), MACSENSOR_DEV: "1", MACSENSOR_PID_FILE: join(dir, "pid") },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    for (let i = 0; i < 500 && !stderr.includes("waiting 10 s"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toMatch(/backend.*nonsense/);
    expect(stderr).toContain("start 1 in a row failed on the configuration; waiting 10 s (or until it changes) before exiting 78");
    expect(JSON.parse(readFileSync(join(dir, "state", "startup-failures.json"), "utf8")).failures).toBe(1);
    expect(child.exitCode).toBeNull(); // still waiting
    writeFileSync(config, 'backend = "auto"\n');
    expect(await exited).toBe(EXIT_CONFIG);
  });
});
