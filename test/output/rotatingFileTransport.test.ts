/**
 * The file transport when writes fail, without root: an injected FileIo plays a disk with a given number of free
 * bytes, cutting a write short where the space ends and answering ENOSPC once none is left, as the kernel does.
 */
import { existsSync, fstatSync, ftruncateSync, mkdtempSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RotatingFileTransport, type FileIo, type WriteEpisode } from "../../src/output/rotatingFileTransport.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "macsensor-transport-"));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, write`), { code });
}

/** A disk with `disk.free` bytes left; ftruncate gives space back. `failTruncates` makes that many truncates fail. */
function smallDisk(disk: { free: number; failTruncates?: number; writes?: number }): FileIo {
  return {
    writeSync(fd, buffer, offset, length) {
      disk.writes = (disk.writes ?? 0) + 1;
      if (disk.free <= 0) throw errno("ENOSPC");
      const n = writeSync(fd, buffer, offset, Math.min(length, disk.free));
      disk.free -= n;
      return n;
    },
    fstatSync: (fd) => fstatSync(fd),
    ftruncateSync(fd, length) {
      if ((disk.failTruncates ?? 0) > 0) {
        disk.failTruncates!--;
        throw errno("EIO");
      }
      const before = fstatSync(fd).size;
      ftruncateSync(fd, length);
      disk.free += before - length;
    },
  };
}

const line = (id: number, pad = 80): string => JSON.stringify({ id, text: "x".repeat(pad) });

/** The ids on disk; fails on a torn line or a missing final newline. */
function idsIn(file: string): number[] {
  const text = readFileSync(file, "utf8");
  expect(text === "" || text.endsWith("\n"), "the file ends with a whole line").toBe(true);
  return text
    .split("\n")
    .slice(0, -1)
    .map((l) => (JSON.parse(l) as { id: number }).id);
}

function transport(disk: { free: number; failTruncates?: number }, extra: { spoolMaxRecords?: number; spoolMaxBytes?: number; maxBytes?: number } = {}) {
  const episodes: WriteEpisode[] = [];
  const file = join(dir, "alerts.ndjson");
  const t = new RotatingFileTransport({ file, io: smallDisk(disk), onEpisode: (e) => episodes.push(e), ...extra });
  return { t, file, episodes };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe("RotatingFileTransport on a full disk", () => {
  it("cuts a write cut short back to its last whole line, keeps the rest waiting in order, and writes it once space returns", () => {
    const disk = { free: 950 };
    const { t, file, episodes } = transport(disk);
    for (let i = 0; i < 30; i++) t.add(line(i));
    t.writePending();

    // 99-byte lines: 9 fit in 950 bytes; the 10th was written in part and cut off again.
    const onDisk = idsIn(file);
    expect(onDisk).toEqual(range(0, 9));
    expect([t.written, t.spooled, t.lost]).toEqual([9, 21, 0]);
    expect(episodes.map((e) => e.kind)).toEqual(["spooling"]);
    expect(episodes[0]).toMatchObject({ spooled: 21, error: { message: expect.stringMatching(/cannot write to .*alerts\.ndjson: ENOSPC/) } });

    // Still full: a new record waits behind the others, nothing is appended, nothing more is said.
    t.add(line(30));
    t.writePending();
    expect(idsIn(file)).toEqual(range(0, 9));
    expect(t.spooled).toBe(22);

    disk.free = 1_000_000;
    t.add(line(31));
    t.log({ [Symbol.for("macsensor.flushMarker")]: { arrived: () => undefined } }, () => undefined);
    expect(idsIn(file)).toEqual(range(0, 32));
    expect([t.written, t.spooled, t.lost]).toEqual([32, 0, 0]);
    expect(episodes.map((e) => e.kind)).toEqual(["spooling", "resumed"]);
    expect(episodes[1]).toMatchObject({ writtenLate: 23, lost: 0 });
    t.close();
  });

  it("never appends to a fragment: a rollback that fails is finished before the next write", () => {
    const disk = { free: 250, failTruncates: 1 };
    const { t, file } = transport(disk);
    for (let i = 0; i < 5; i++) t.add(line(i));
    t.writePending();
    // The fragment is still there (the truncate failed)...
    expect(readFileSync(file, "utf8").endsWith("\n")).toBe(false);
    disk.free = 1_000_000;
    t.add(line(5));
    t.close();
    // ...and was cut before the waiting records went out.
    expect(idsIn(file)).toEqual(range(0, 6));
  });

  it("keeps at most spoolMaxRecords waiting, dropping the oldest, says so once, and counts them lost", () => {
    const disk = { free: 0 };
    const { t, file, episodes } = transport(disk, { spoolMaxRecords: 5 });
    for (let i = 0; i < 20; i++) t.add(line(i));
    t.writePending();
    expect([t.written, t.spooled, t.lost]).toEqual([0, 5, 15]);
    expect(episodes.map((e) => e.kind)).toEqual(["spooling", "dropping"]);

    disk.free = 1_000_000;
    t.close();
    expect(idsIn(file)).toEqual(range(15, 20));
    expect([t.written, t.spooled, t.lost]).toEqual([5, 0, 15]);
    expect(episodes.at(-1)).toMatchObject({ kind: "resumed", writtenLate: 5, lost: 15 });
  });

  it("bounds the spool by bytes too; a record larger than the whole spool is lost itself", () => {
    const disk = { free: 0 };
    const { t } = transport(disk, { spoolMaxBytes: 1_000 });
    for (let i = 0; i < 20; i++) t.add(line(i));
    t.writePending();
    // The newest ten (100 bytes each) fill 1,000 bytes.
    expect([t.spooled, t.lost]).toEqual([10, 10]);
    t.add(line(20, 5_000));
    expect([t.spooled, t.lost]).toEqual([10, 11]);
    t.close();
  });

  it("counts what still waits at close as lost and says so", () => {
    const disk = { free: 0 };
    const { t, episodes } = transport(disk);
    for (let i = 0; i < 4; i++) t.add(line(i));
    t.close();
    expect([t.written, t.spooled, t.lost]).toEqual([0, 0, 4]);
    expect(episodes.map((e) => e.kind)).toEqual(["spooling", "abandoned"]);
    expect(episodes[1]).toMatchObject({ lost: 4, writtenLate: 0 });
  });

  it("retries on a timer with back-off when no new record comes", () => {
    vi.useFakeTimers();
    const disk = { free: 0, writes: 0 };
    const { t, file, episodes } = transport(disk);
    for (let i = 0; i < 3; i++) t.add(line(i));
    t.writePending();
    const afterFirst = disk.writes;
    vi.advanceTimersByTime(10_000);
    // Back-off: 100, 200, 400, ... ms, so a handful of retries in 10 s, not hundreds.
    const retries = disk.writes - afterFirst;
    expect(retries).toBeGreaterThan(2);
    expect(retries).toBeLessThan(12);
    disk.free = 1_000_000;
    vi.advanceTimersByTime(5_000);
    expect(idsIn(file)).toEqual([0, 1, 2]);
    expect(episodes.map((e) => e.kind)).toEqual(["spooling", "resumed"]);
    t.close();
  });

  it("rotates as usual while writing what waited", () => {
    const disk = { free: 0 };
    const { t, file } = transport(disk, { maxBytes: 1_000 });
    for (let i = 0; i < 25; i++) t.add(line(i));
    t.writePending();
    disk.free = 1_000_000;
    t.close();
    const files = [`${file}.2`, `${file}.1`, file];
    expect(existsSync(`${file}.3`)).toBe(false);
    expect(files.flatMap(idsIn)).toEqual(range(0, 25));
    for (const f of files) expect(readFileSync(f).length).toBeLessThanOrEqual(1_000);
  });

  it("reopens and retries at once on an error other than a full disk (no episode)", () => {
    let failures = 1;
    const file = join(dir, "alerts.ndjson");
    const episodes: WriteEpisode[] = [];
    const io: FileIo = {
      writeSync(fd, buffer, offset, length) {
        if (failures-- > 0) throw errno("EIO");
        return writeSync(fd, buffer, offset, length);
      },
      fstatSync: (fd) => fstatSync(fd),
      ftruncateSync: (fd, length) => ftruncateSync(fd, length),
    };
    const t = new RotatingFileTransport({ file, io, onEpisode: (e) => episodes.push(e) });
    for (let i = 0; i < 3; i++) t.add(line(i));
    t.close();
    expect(idsIn(file)).toEqual([0, 1, 2]);
    expect(episodes).toEqual([]);
  });
});
