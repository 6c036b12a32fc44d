/**
 * The alert log on a really full disk (as root, as CI runs): a small tmpfs mounted for the test, filled by the log
 * itself after a filler file took part of it; the filler is then deleted so that space returns.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAlertLog } from "../../src/output/alertLog.js";

const isRoot = process.geteuid?.() === 0;
const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const root = new URL("../../", import.meta.url).pathname;

interface OpsRecord {
  level: string;
  message: string;
  meta: { event: { action: string }; macsensor: { alert_log: Record<string, number> } };
}

function alert(id: number): Record<string, unknown> {
  return {
    "@timestamp": "2026-11-26T09:15:02.200Z",
    event: { kind: "alert", id: String(id), severity: 73 },
    rule: { id: "5d2a8f1e", name: "Dumping of Keychain Content via Security Command" },
    process: { pid: 812, executable: "/usr/bin/security", args: ["/usr/bin/security", "dump-keychain", "-d"] },
    message: `Dumping of Keychain Content via Security Command: /usr/bin/security dump-keychain -d (pid 812) #${id} ${"·".repeat(60)}`,
  };
}

/** Files of the log, oldest first. */
function logFiles(file: string): string[] {
  const files: string[] = [];
  for (let n = 1; existsSync(`${file}.${n}`); n++) files.unshift(`${file}.${n}`);
  return existsSync(file) ? [...files, file] : files;
}

/** Every alert id on disk, oldest first; a torn or unparsable line fails the test. */
function idsOnDisk(file: string): number[] {
  return logFiles(file).flatMap((path) => {
    const text = readFileSync(path, "utf8");
    expect(text === "" || text.endsWith("\n"), `${path} ends with a whole line`).toBe(true);
    return text
      .split("\n")
      .slice(0, -1)
      .map((line) => Number((JSON.parse(line) as { event: { id: string } }).event.id));
  });
}

function strictlyIncreasing(ids: number[]): boolean {
  return ids.every((id, i) => i === 0 || id > ids[i - 1]);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(isRoot && process.platform === "linux")("the alert log on a full disk (tmpfs, as root)", () => {
  let dir: string;
  let mnt: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "macsensor-diskfull-"));
    mnt = join(dir, "mnt");
    mkdirSync(mnt);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=640k,mode=0755", "tmpfs", mnt], { encoding: "utf8" });
    if (mounted.status !== 0) throw new Error(`cannot mount a tmpfs at ${mnt}: ${mounted.stderr}`);
  });

  afterAll(() => {
    // Lazy: a log left open by a failed test must not keep the mount (and the folder) busy.
    if (mnt !== undefined) spawnSync("umount", ["-l", mnt]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("spools then loses the oldest while full, says so once, never tears a line, and resumes (rotating) when space returns", async () => {
    const filler = join(mnt, "filler");
    writeFileSync(filler, Buffer.alloc(230 * 1024, 0x61));
    const file = join(mnt, "logs", "alerts.ndjson");
    const records: OpsRecord[] = [];
    const ops = { log: (level: string, message: string, meta: object) => records.push({ level, message, meta: meta as OpsRecord["meta"] }) };
    const maxBytes = 100 * 1024;
    const log = createAlertLog({ file, maxBytes, maxFiles: 100, spoolMaxAlerts: 300, ops });
    const actions = () => records.map((r) => r.meta.event.action);

    // ~410 KiB free for the log: it runs out in the middle of its fifth file, so a write is cut short. 3,000
    // alerts of ~420 bytes need ~1.2 MiB.
    let raised = 0;
    for (let burst = 0; burst < 60; burst++) {
      for (let i = 0; i < 50; i++) log.write(alert(raised++));
      await turn();
    }
    await log.flush();

    expect(log.accepted).toBe(raised);
    expect(log.spooled).toBe(300);
    expect(log.lost).toBeGreaterThan(1_000);
    expect(log.written + log.spooled + log.lost).toBe(raised);
    let ids = idsOnDisk(file);
    expect(ids.length).toBe(log.written);
    expect(ids[0]).toBe(0);
    expect(strictlyIncreasing(ids)).toBe(true);
    // Once per episode, at once, with the cause and the file; not once per alert.
    expect(actions()).toEqual(["alert-log-spooling", "alert-log-dropping"]);
    expect(records[0].level).toBe("error");
    expect(records[0].message).toMatch(new RegExp(`cannot write to ${file}: ENOSPC`));

    // Space returns: the waiting alerts are written by the retry timer, with no new alert to prompt it.
    rmSync(filler);
    await until("the spool to drain", () => log.spooled === 0);
    expect(actions()).toEqual(["alert-log-spooling", "alert-log-dropping", "alert-log-resumed"]);
    const lostWhileFull = log.lost;
    expect(records[2].meta.macsensor.alert_log).toMatchObject({ writtenLate: 300, lost: lostWhileFull });
    expect(records[2].level).toBe("warn");

    for (let i = 0; i < 100; i++) log.write(alert(raised++));
    await log.close();
    expect([log.spooled, log.lost]).toEqual([0, lostWhileFull]);
    expect(log.written + log.lost).toBe(raised);

    ids = idsOnDisk(file);
    expect(ids.length).toBe(log.written);
    expect(strictlyIncreasing(ids)).toBe(true);
    // The oldest were dropped: the 300 newest of the full stretch and the 100 after it are all there.
    expect(ids.slice(-400)).toEqual(Array.from({ length: 400 }, (_, i) => raised - 400 + i));
    // Rotation went on: several files, none above maxBytes.
    const files = logFiles(file);
    expect(files.length).toBeGreaterThan(4);
    for (const path of files) expect(statSync(path).size).toBeLessThanOrEqual(maxBytes);
  });

  it("replay --stats into it: alerts_written is what is on disk, the rest is alerts_lost, exit 1 saying why", () => {
    const dir2 = join(mnt, "replay");
    mkdirSync(dir2);
    const event = readFileSync(join(root, "test/fixtures/events/keychain_dump_via_security/positive.ndjson"), "utf8").split("\n")[0];
    const input = join(dir, "events.ndjson");
    writeFileSync(input, `${event}\n`.repeat(2_000));
    const file = join(dir2, "alerts.ndjson");
    const r = spawnSync(process.execPath, [cli, "replay", "--rules", join(root, "rules"), "--alerts", file, "--stats", input], { encoding: "utf8" });
    expect(r.status).toBe(1);
    const stats = JSON.parse(r.stderr.split("\n").find((l) => l.startsWith("{")) ?? "null") as Record<string, number>;
    expect(stats.alerts).toBe(2_000);
    expect(stats.alerts_lost).toBeGreaterThan(0);
    expect(stats.alerts_written + stats.alerts_lost).toBe(2_000);
    const text = readFileSync(file, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.split("\n").slice(0, -1);
    for (const line of lines) JSON.parse(line);
    expect(lines.length).toBe(stats.alerts_written);
    expect(r.stderr).toMatch(new RegExp(`^macsensor replay: ${stats.alerts_lost} of 2000 alerts lost: cannot write to ${file}: ENOSPC`, "m"));
  });
});
