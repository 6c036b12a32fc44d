import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flushAll, installSignalFlush, registerFlushable } from "../../src/output/shutdown.js";

const child = new URL("./fixtures/signalChild.mjs", import.meta.url).pathname;
const built = new URL("../../dist/output/shutdown.js", import.meta.url).pathname;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-shutdown-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the child, waits until it is writing, sends `signal`; resolves with its exit code and reported count. */
function runUntilSignal(signal: NodeJS.Signals): Promise<{ code: number | null; written: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout === "ready\n") proc.kill(signal);
    });
    proc.on("error", reject);
    proc.on("close", (code) => {
      const match = /stopped (\d+)/.exec(stdout);
      resolve({ code, written: match === null ? -1 : Number(match[1]), stderr });
    });
  });
}

function alertIdsOnDisk(): number[] {
  const ids: number[] = [];
  const files = readdirSync(dir).filter((name) => name.startsWith("alerts.ndjson"));
  for (const name of files) {
    const text = readFileSync(join(dir, name), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text.split("\n").slice(0, -1)) ids.push(Number((JSON.parse(line) as { event: { id: string } }).event.id));
  }
  return ids.sort((a, b) => a - b);
}

describe("installSignalFlush in a process writing a burst", () => {
  it.each([
    ["SIGTERM", 0],
    ["SIGINT", 130],
  ] as const)("on %s has every alert on disk and exits %d", async (signal, exitCode) => {
    expect(existsSync(built), "build first: npx tsc -p .").toBe(true);
    const { code, written, stderr } = await runUntilSignal(signal);
    expect(stderr).toBe("");
    expect(code).toBe(exitCode);
    expect(written).toBeGreaterThanOrEqual(500);
    expect(alertIdsOnDisk()).toEqual(Array.from({ length: written }, (_, i) => i));
    const ops = readFileSync(join(dir, "macsensor.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ops.at(-1)).toMatchObject({ message: "stopping", signal, written });
  });
});

describe("installSignalFlush", () => {
  it("flushes every registered log before exiting with the signal's code, and a second signal exits at once", async () => {
    const order: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const unregister = registerFlushable({
      async flush() {
        order.push("flush start");
        await slow;
        order.push("flush end");
      },
    });
    const exits: number[] = [];
    const uninstall = installSignalFlush({ signals: ["SIGUSR2"], exit: (code) => exits.push(code), beforeFlush: () => void order.push("before") });
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      await new Promise((resolve) => setImmediate(resolve));
      expect(order).toEqual(["before", "flush start"]);
      expect(exits).toEqual([]);
      process.emit("SIGUSR2", "SIGUSR2");
      expect(exits).toEqual([0]);
      release();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(order).toEqual(["before", "flush start", "flush end"]);
      expect(exits).toEqual([0, 0]);
    } finally {
      uninstall();
      unregister();
    }
  });

  it("exits 1 when flushing takes longer than the timeout", async () => {
    const unregister = registerFlushable({ flush: () => new Promise<void>(() => undefined) });
    const exits: number[] = [];
    const uninstall = installSignalFlush({ signals: ["SIGUSR2"], timeoutMs: 20, exit: (code) => exits.push(code) });
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(exits).toEqual([1]);
    } finally {
      process.stderr.write = stderr;
      uninstall();
      unregister();
    }
  });

  it("flushAll goes on when one log fails", async () => {
    let flushed = false;
    const a = registerFlushable({ flush: () => Promise.reject(new Error("broken")) });
    const b = registerFlushable({ flush: async () => void (flushed = true) });
    await flushAll();
    expect(flushed).toBe(true);
    a();
    b();
  });
});
