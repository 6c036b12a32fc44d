import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAlertLog } from "../../src/output/alertLog.js";
import { LogFileError, defaultAlertLogPath, defaultOpsLogPath } from "../../src/output/logFiles.js";
import { createStreamAlertSink } from "../../src/output/streamSink.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-alertlog-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function alert(id: number): Record<string, unknown> {
  return {
    "@timestamp": "2026-11-26T09:15:02.200Z",
    event: { kind: "alert", id: String(id), severity: 73 },
    rule: { id: "5d2a8f1e", name: "Dumping of Keychain Content via Security Command" },
    process: { pid: 812, executable: "/usr/bin/security", args: ["/usr/bin/security", "dump-keychain", "-d"] },
    message: `Dumping of Keychain Content via Security Command: /usr/bin/security dump-keychain -d (pid 812, user ann) #${id}`,
  };
}

/** Every file of the log, oldest first: file.N ... file.1, file. */
function logFiles(file: string): string[] {
  const base = file.slice(file.lastIndexOf("/") + 1);
  const rotated = readdirSync(dir.length > 0 ? file.slice(0, file.lastIndexOf("/")) : ".")
    .filter((name) => name.startsWith(`${base}.`))
    .map((name) => Number(name.slice(base.length + 1)))
    .sort((a, b) => b - a);
  return [...rotated.map((n) => `${file}.${n}`), ...(existsSync(file) ? [file] : [])];
}

/** Parses every line of a file; a torn line fails the test. */
function readLines(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, "utf8");
  expect(text === "" || text.endsWith("\n"), `${file} ends with a newline`).toBe(true);
  return text
    .split("\n")
    .slice(0, -1)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const idOf = (doc: Record<string, unknown>): number => Number((doc.event as { id: string }).id);

describe("createAlertLog", () => {
  it("writes 100,000 alerts as fast as it can through rotation at 1 MB: every one on disk exactly once, in order, none torn", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file, maxBytes: 1024 * 1024, maxFiles: 1000 });
    const total = 100_000;
    for (let i = 0; i < total; i++) log.write(alert(i));
    expect(log.accepted).toBe(total);
    await log.close();

    const files = logFiles(file);
    expect(files.length).toBeGreaterThan(20);
    const ids: number[] = [];
    for (const path of files) {
      expect(statSync(path).size).toBeLessThanOrEqual(1024 * 1024);
      for (const doc of readLines(path)) ids.push(idOf(doc));
    }
    expect(ids.length).toBe(total);
    expect(new Set(ids).size).toBe(total);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it("with a small maxFiles drops the oldest files whole and keeps the newest complete", async () => {
    const file = join(dir, "alerts.ndjson");
    const maxBytes = 20_000;
    const log = createAlertLog({ file, maxBytes, maxFiles: 3 });
    const total = 2_000;
    for (let i = 0; i < total; i++) log.write(alert(i));
    await log.close();

    const files = logFiles(file);
    expect(files).toEqual([`${file}.2`, `${file}.1`, file]);
    const perFile = files.map(readLines);
    const ids = perFile.flat().map(idOf);
    // What is kept is one unbroken run of the newest alerts.
    expect(ids.at(-1)).toBe(total - 1);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => ids[0] + i));
    // Each rotated file was full: the next record would not have fitted, so nothing was cut from it.
    for (let f = 0; f < 2; f++) {
      const size = statSync(files[f]).size;
      const nextLine = Buffer.byteLength(readFileSync(files[f + 1], "utf8").split("\n")[0]) + 1;
      expect(size).toBeLessThanOrEqual(maxBytes);
      expect(size + nextLine).toBeGreaterThan(maxBytes);
    }
  });

  it("with maxFiles 1 starts the live file afresh", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file, maxBytes: 2_000, maxFiles: 1 });
    for (let i = 0; i < 50; i++) log.write(alert(i));
    await log.close();
    expect(logFiles(file)).toEqual([file]);
    expect(readLines(file).map(idOf).at(-1)).toBe(49);
  });

  it("puts a record larger than maxBytes alone in its file, never split", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file, maxBytes: 1_000, maxFiles: 10 });
    log.write(alert(0));
    log.write({ ...alert(1), big: "x".repeat(5_000) });
    log.write(alert(2));
    await log.close();
    const perFile = logFiles(file).map((path) => readLines(path).map(idOf));
    expect(perFile).toEqual([[0], [1], [2]]);
  });

  it("writes records larger than its 64 KiB write buffer whole and in order, non-ASCII text included", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    const big = "é\u{1F600}\ufffd".repeat(40_000);
    log.write(alert(0));
    log.write({ ...alert(1), big });
    for (let i = 2; i < 200; i++) log.write({ ...alert(i), text: "ü".repeat(i * 50) });
    await log.close();
    const lines = readLines(file);
    expect(lines.map(idOf)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(lines[1].big).toBe(big);
    expect(lines[150].text).toBe("ü".repeat(7_500));
  });

  it("creates the folder 0750 and the files 0640 whatever the umask, the rotated ones too", async () => {
    for (const mask of [0o077, 0o000]) {
      const old = process.umask(mask);
      try {
        const file = join(dir, `u${mask}`, "deeper", "alerts.ndjson");
        const log = createAlertLog({ file, maxBytes: 500, maxFiles: 3 });
        for (let i = 0; i < 5; i++) log.write(alert(i));
        await log.close();
        expect(statSync(join(dir, `u${mask}`)).mode & 0o777).toBe(0o750);
        expect(statSync(join(dir, `u${mask}`, "deeper")).mode & 0o777).toBe(0o750);
        for (const path of logFiles(file)) expect(statSync(path).mode & 0o777, path).toBe(0o640);
      } finally {
        process.umask(old);
      }
    }
  });

  it("appends to an existing log and keeps rotating its numbered files in turn", async () => {
    const file = join(dir, "alerts.ndjson");
    let log = createAlertLog({ file, maxBytes: 1_000, maxFiles: 4 });
    for (let i = 0; i < 6; i++) log.write(alert(i));
    await log.close();
    log = createAlertLog({ file, maxBytes: 1_000, maxFiles: 4 });
    for (let i = 6; i < 12; i++) log.write(alert(i));
    await log.close();
    const ids = logFiles(file).flatMap((path) => readLines(path).map(idOf));
    expect(logFiles(file)).toHaveLength(4);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => 12 - ids.length + i));
  });

  it("adds @timestamp and ecs.version when missing and otherwise writes the document unchanged", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    log.write({ event: { kind: "alert" }, level: "kept", message: "m" });
    log.write({ "@timestamp": "2026-01-01T00:00:00.000Z", ecs: { version: "8.11.0" }, message: "own" });
    await log.close();
    const [first, second] = readLines(file);
    expect(Object.keys(first)).toEqual(["@timestamp", "event", "level", "message", "ecs"]);
    expect(first).toMatchObject({ ecs: { version: "8.17.0" }, event: { kind: "alert" }, level: "kept", message: "m" });
    expect(Date.parse(String(first["@timestamp"]))).not.toBeNaN();
    expect(readFileSync(file, "utf8").split("\n")[1]).toBe('{"@timestamp":"2026-01-01T00:00:00.000Z","ecs":{"version":"8.11.0"},"message":"own"}');
    expect(second).not.toHaveProperty("level");
  });

  it("round-trips odd bytes: one line per alert, raw bytes recoverable from base64", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    const raw = new Uint8Array([0x2d, 0x64, 0x0a, 0xc0, 0xaf, 0x1b, 0x00, 0xed, 0xa0, 0x80]);
    const args = ["security", "dump-keychain\n-d", "\u0000\u001b[2J", "lone\udfff", raw];
    log.write({ ...alert(1), process: { pid: 1, args } });
    log.write(alert(2));
    await log.close();
    const lines = readLines(file);
    expect(lines).toHaveLength(2);
    const process = lines[0].process as { args: string[] };
    expect(process.args.slice(0, 4)).toEqual(args.slice(0, 4));
    expect(process.args[4]).toContain("\ufffd");
    const entry = (lines[0].macsensor as { raw_bytes: { field: string; index: number; base64: string }[] }).raw_bytes[0];
    expect(entry).toMatchObject({ field: "process.args", index: 4 });
    expect(new Uint8Array(Buffer.from(entry.base64, "base64"))).toEqual(raw);
  });

  it("takes a snapshot at write(): changing the alert afterwards does not show", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    const doc = alert(7);
    log.write(doc);
    (doc.event as Record<string, unknown>).id = "changed";
    await log.close();
    expect(readLines(file).map(idOf)).toEqual([7]);
  });

  it("has every alert on disk when flush() resolves, and refuses writes after close", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file, maxBytes: 100_000, maxFiles: 100 });
    for (let i = 0; i < 5_000; i++) log.write(alert(i));
    await log.flush();
    const onDisk = logFiles(file).flatMap((path) => readLines(path)).length;
    expect(onDisk).toBe(5_000);
    await log.close();
    expect(() => log.write(alert(1))).toThrow(LogFileError);
  });

  it("recreates its folder and file when they are removed under it", async () => {
    const sub = join(dir, "logs");
    const file = join(sub, "alerts.ndjson");
    const log = createAlertLog({ file });
    log.write(alert(1));
    await log.flush();
    rmSync(sub, { recursive: true });
    log.write(alert(2));
    await log.close();
    expect(readLines(file).map(idOf)).toEqual([2]);
    expect(statSync(sub).mode & 0o777).toBe(0o750);
  });

  it("tells the agent log once when a write fails (disk full) and counts what is never written as lost, without throwing", async () => {
    const records: { level: string; message: string; meta: Record<string, unknown> }[] = [];
    const ops = { log: (level: string, message: string, meta: object) => records.push({ level, message, meta: meta as Record<string, unknown> }) };
    const log = createAlertLog({ file: "/dev/full", ops });
    for (let i = 0; i < 3; i++) log.write(alert(i));
    await log.flush();
    expect([log.accepted, log.written, log.spooled, log.lost]).toEqual([3, 0, 3, 0]);
    log.write(alert(3));
    await log.close();
    expect([log.accepted, log.written, log.spooled, log.lost]).toEqual([4, 0, 0, 4]);
    expect(log.lossCause).toMatch(/cannot write to \/dev\/full: .*ENOSPC/);
    expect(records.map((r) => [r.level, (r.meta.event as { action: string }).action])).toEqual([
      ["error", "alert-log-spooling"],
      ["error", "alert-log-abandoned"],
    ]);
    expect(records[0].message).toMatch(/^alert log: cannot write to \/dev\/full: ENOSPC.*; alerts wait in memory/);
    expect(records[0].meta).toMatchObject({ file: { path: "/dev/full" }, error: { code: "ENOSPC" }, macsensor: { alert_log: { spooled: 3 } } });
    expect(records[1].meta).toMatchObject({ macsensor: { alert_log: { lost: 4, writtenLate: 0 } } });
  });

  it("throws a LogFileError naming the path when the log cannot be created", () => {
    const blocker = join(dir, "file");
    writeFileSync(blocker, "");
    chmodSync(blocker, 0o644);
    expect(() => createAlertLog({ file: join(blocker, "alerts.ndjson") })).toThrow(/cannot create log folder .*file/);
    expect(() => createAlertLog({ file: join(dir, "a.ndjson"), maxBytes: 0 })).toThrow(/maxBytes must be a positive integer/);
  });

  it("refuses to follow a symbolic link planted where the log file goes", () => {
    const target = join(dir, "elsewhere");
    writeFileSync(target, "");
    symlinkSync(target, join(dir, "alerts.ndjson"));
    expect(() => createAlertLog({ file: join(dir, "alerts.ndjson") })).toThrow(/cannot open log file .*alerts\.ndjson/);
    expect(readFileSync(target, "utf8")).toBe("");
  });

  it("has the documented default paths", () => {
    expect(defaultAlertLogPath("darwin")).toBe("/Library/Logs/macsensor/alerts.ndjson");
    expect(defaultAlertLogPath("linux")).toBe("/var/log/macsensor/alerts.ndjson");
    expect(defaultOpsLogPath("darwin")).toBe("/Library/Logs/macsensor/macsensor.log");
    expect(defaultOpsLogPath("linux")).toBe("/var/log/macsensor/macsensor.log");
  });
});

describe("createStreamAlertSink", () => {
  it("writes the same lines as the alert log, all of them by the time flush() resolves", async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (chunk: Buffer) => chunks.push(chunk));
    const sink = createStreamAlertSink(out, "test");
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    for (let i = 0; i < 3_000; i++) {
      const doc = { ...alert(i), process: { args: ["a\nb", new Uint8Array([0xff]), i % 1000 === 0 ? "\u{1F600}".repeat(30_000) : "ü"] } };
      sink.write(doc);
      log.write(doc);
    }
    await sink.flush();
    await log.close();
    expect(sink.written).toBe(3_000);
    expect(Buffer.concat(chunks).toString("utf8")).toBe(readFileSync(file, "utf8"));
  });

  it("reports a broken stream once and keeps going without throwing", async () => {
    const out = new PassThrough();
    const errors: Error[] = [];
    const sink = createStreamAlertSink(out, "test", (e) => errors.push(e));
    out.destroy(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    await new Promise((resolve) => setImmediate(resolve));
    sink.write(alert(1));
    await sink.close();
    expect(errors.map((e) => e.message)).toEqual(["write EPIPE"]);
    expect([sink.accepted, sink.written, sink.lost]).toEqual([1, 0, 1]);
    expect(sink.lossCause).toBe("test: write EPIPE");
    expect(() => sink.write(alert(2))).toThrow(LogFileError);
  });
});

describe("a document that cannot be serialized", () => {
  it("becomes a line saying so instead of disappearing or throwing", async () => {
    const file = join(dir, "alerts.ndjson");
    const log = createAlertLog({ file });
    const hostile = {
      ...alert(1),
      get process(): never {
        throw new Error("getter exploded");
      },
    };
    log.write(hostile);
    log.write(alert(2));
    await log.close();
    const [failed, ok] = readLines(file);
    expect(failed).toMatchObject({ event: { kind: "pipeline_error" }, error: { type: "Error", message: "getter exploded" }, ecs: { version: "8.17.0" } });
    expect(idOf(ok)).toBe(2);
  });
});
