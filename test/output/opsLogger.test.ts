import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { consoleLineFormat } from "../../src/output/formats.js";
import { createOpsLogger, flushOpsLogger, startHeartbeat } from "../../src/output/opsLogger.js";

const MESSAGE = Symbol.for("message");
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-opslog-"));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("createOpsLogger", () => {
  it("writes ECS NDJSON records with log.level, message and the given fields, above the level only", async () => {
    const file = join(dir, "macsensor.log");
    const logger = createOpsLogger({ file, console: false, level: "info" });
    logger.info("macsensor started", { agent: { version: "0.1.0" } });
    logger.debug("not written");
    logger.warn("rule skipped", { file: { path: "rules/x.toml" }, reason: "language kuery" });
    logger.error("cannot read rules", { error: new Error("EACCES: permission denied") });
    await flushOpsLogger(logger);
    const [started, skipped, failed, ...rest] = records(file);
    expect(rest).toEqual([]);
    expect(started).toMatchObject({ log: { level: "info", logger: "macsensor" }, message: "macsensor started", agent: { version: "0.1.0" }, ecs: { version: "8.17.0" } });
    expect(Date.parse(String(started["@timestamp"]))).not.toBeNaN();
    expect(started).not.toHaveProperty("level");
    expect(skipped).toMatchObject({ log: { level: "warn" }, message: "rule skipped", file: { path: "rules/x.toml" }, reason: "language kuery" });
    expect(failed).toMatchObject({ log: { level: "error" }, message: "cannot read rules", error: { type: "Error", message: "EACCES: permission denied" } });
    expect(String((failed.error as Record<string, unknown>).stack_trace)).toContain("EACCES");
    logger.close();
  });

  it("keeps a message with line breaks on one line", async () => {
    const file = join(dir, "macsensor.log");
    const logger = createOpsLogger({ file, console: false });
    logger.info("two\nlines\u2028here");
    await flushOpsLogger(logger);
    const text = readFileSync(file, "utf8");
    expect(text.split("\n")).toHaveLength(2);
    expect(records(file)[0].message).toBe("two\nlines\u2028here");
    logger.close();
  });

  it("logs a heartbeat with the counts on each interval", async () => {
    vi.useFakeTimers();
    const file = join(dir, "macsensor.log");
    const logger = createOpsLogger({ file, console: false });
    let events = 0;
    const stop = startHeartbeat(logger, () => ({ events: (events += 10), alerts: 1 }), 1000);
    vi.advanceTimersByTime(2500);
    stop();
    vi.advanceTimersByTime(5000);
    vi.useRealTimers();
    await flushOpsLogger(logger);
    const beats = records(file);
    expect(beats.map((r) => r.message)).toEqual(["heartbeat", "heartbeat"]);
    expect(beats.map((r) => (r.macsensor as { counts: unknown }).counts)).toEqual([
      { events: 10, alerts: 1 },
      { events: 20, alerts: 1 },
    ]);
    logger.close();
  });

  it("with neither file nor console logs nothing and flushes at once", async () => {
    const logger = createOpsLogger({ file: false, console: false });
    logger.info("nowhere");
    await expect(flushOpsLogger(logger)).resolves.toBeUndefined();
  });
});

describe("consoleLineFormat", () => {
  it("prints time, level, the message made printable and the fields as JSON, on one line", () => {
    const info = consoleLineFormat().transform({ level: "warn", message: "rule skipped\n\u001b[2J", reason: "kuery" }) as Record<symbol, unknown>;
    expect(info[MESSAGE]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} warn  rule skipped\\n\\x1b\[2J \{"reason":"kuery"\}$/);
  });
});
