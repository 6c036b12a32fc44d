// Live tests of the Linux fanotify file backend: real files, real processes, real permission events. Needs root
// (CI is root) and the built addon.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLinuxFileBackend, type LinuxFileBackend, type LinuxFileBackendOptions } from "../../src/sensor/linuxFileBackend.js";
import { defaultAddonPaths } from "../../src/sensor/native.js";
import { parseQuery } from "../../src/eql/index.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

const live = process.platform === "linux" && process.getuid?.() === 0;

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "macsensor-fan-")));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: string, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs a command; resolves with its pid, exit code and stderr. */
function run(cmd: string, args: string[]): Promise<{ pid: number; code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: dir });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ pid: child.pid ?? -1, code, stderr, stdout }));
  });
}

/** A running backend that keeps the events under the test directory; `onAuth` answers guarded opens. */
class Recorder {
  readonly events: RawEvent[] = [];
  onAuth: (e: RawEvent, backend: LinuxFileBackend) => void = () => {};
  constructor(readonly backend: LinuxFileBackend) {}
  static async start(options: LinuxFileBackendOptions = {}): Promise<Recorder> {
    const r = new Recorder(createLinuxFileBackend(options));
    await r.backend.start((events) => {
      for (const e of events) {
        const path = e.file?.path;
        if (typeof path !== "string" || !path.startsWith(dir)) continue;
        r.events.push(e);
        if (e.auth) r.onAuth(e, r.backend);
      }
    });
    running.push(r);
    return r;
  }
  find(kind: RawEvent["kind"], path: string, pid?: number): RawEvent | undefined {
    return this.events.find((e) => e.kind === kind && e.file?.path === path && (pid === undefined || e.pid === pid));
  }
}
const running: Recorder[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.backend.stop();
});

describe.runIf(live)("fanotify file events", () => {
  it("reports open, create, modify, rename and delete with the acting pid and the path", async () => {
    const r = await Recorder.start();
    const a = join(dir, "a.txt");
    const b = join(dir, "b.txt");
    const write = await run("/bin/sh", ["-c", `echo hello > ${a}`]);
    const cat = await run("/bin/cat", [a]);
    const mv = await run("/bin/mv", [a, b]);
    const rm = await run("/bin/rm", [b]);
    expect([write.code, cat.code, mv.code, rm.code]).toEqual([0, 0, 0, 0]);
    // The two fanotify groups are read one after the other, so their events need not come in the host's order.
    await until("every kind", () =>
      [["create", a, write.pid], ["modify", a, write.pid], ["open", a, cat.pid], ["rename", b, mv.pid], ["delete", b, rm.pid]]
        .every(([kind, path, pid]) => r.find(kind as RawEvent["kind"], path as string, pid as number) !== undefined),
    );
    expect(r.find("rename", b, mv.pid)?.file).toEqual({ path: b, originalPath: a });
    // A notification is read after the fact: a short-lived process may be gone, leaving `partial` instead.
    const open = r.find("open", a, cat.pid)!;
    if (!open.partial) expect(open.executable).toBe(realpathSync("/bin/cat"));
    const seqs = r.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it("subscribes only to the kinds setRelevance names", async () => {
    const r = await Recorder.start();
    r.backend.setRelevance({ kinds: ["exec", "create"], execPrefilter: null });
    const f = join(dir, "only-create.txt");
    const write = await run("/bin/sh", ["-c", `echo x > ${f}; cat ${f} > /dev/null`]);
    await until("the create", () => r.find("create", f, write.pid) !== undefined);
    const g = join(dir, "marker.txt");
    await run("/bin/sh", ["-c", `echo x > ${g}`]);
    await until("the marker's create", () => r.find("create", g) !== undefined);
    expect(r.events.filter((e) => e.kind !== "create")).toEqual([]);
  });

  it("drops in the reader the file events whose paths the relevance's file pre-filter rules out, counting them", async () => {
    const r = await Recorder.start();
    const watched = join(dir, "watched");
    const other = join(dir, "unwatched");
    mkdirSync(watched, { recursive: true });
    mkdirSync(other, { recursive: true });
    r.backend.setRelevance({
      kinds: ["create"],
      execPrefilter: null,
      filePrefilter: { pathEquals: [], pathPrefix: [`${watched.toLowerCase()}/`], pathSuffix: [], pathContains: [], nameEquals: [] },
    });
    const skipped = join(other, "a.txt");
    const kept = join(watched, "b.txt");
    await run("/bin/sh", ["-c", `echo x > ${skipped}; echo x > ${kept}`]);
    await until("the watched create", () => r.find("create", kept) !== undefined);
    expect(r.find("create", skipped)).toBeUndefined();
    expect(r.backend.stats().pathFiltered).toBeGreaterThanOrEqual(1);
    // Filtered events are not losses: the sequence numbers stay gapless.
    expect(r.backend.stats().dropped).toBe(0);
    const seqs = r.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
  });

  it("puts each event in its own directory when one read holds events from more directories than it caches", async () => {
    const r = await Recorder.start();
    r.backend.setRelevance({ kinds: ["create"], execPrefilter: null });
    const root = join(dir, "many");
    const dirs = Array.from({ length: 40 }, (_, i) => join(root, `d${i}`));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    // One process, round robin over the directories, far faster than the reader reads: few reads, many directories each.
    const files = Array.from({ length: 400 }, (_, i) => join(dirs[(i * 7) % dirs.length], `f${i}`));
    const script = files.map((f) => `: > ${f}`).join("\n");
    expect((await run("/bin/sh", ["-c", script])).code).toBe(0);
    const created = () => r.events.filter((e) => e.kind === "create" && String(e.file?.path).startsWith(root)).map((e) => e.file?.path);
    await until("every create", () => created().length >= files.length);
    expect(created()).toEqual(files);
  });

  it("stop still reports what the kernel queued before it, though the read interval held it back", async () => {
    // A long interval: once the first create has been read, the second waits for the next read, 5 s later.
    const r = await Recorder.start({ readIntervalMs: 5_000 });
    r.backend.setRelevance({ kinds: ["create"], execPrefilter: null });
    const root = join(dir, "before-stop");
    mkdirSync(root);
    const [first, second] = [join(root, "first"), join(root, "second")];
    expect((await run("/bin/sh", ["-c", `: > ${first}`])).code).toBe(0);
    await until("the first create", () => r.find("create", first) !== undefined);
    expect((await run("/bin/sh", ["-c", `: > ${second}`])).code).toBe(0);
    expect(r.find("create", second)).toBeUndefined();
    running.splice(running.indexOf(r), 1);
    await r.backend.stop();
    expect(r.events.filter((e) => String(e.file?.path).startsWith(root)).map((e) => e.file?.path)).toEqual([first, second]);
  });

  it("rejects a read interval out of range with the option's name", async () => {
    await expect(Recorder.start({ readIntervalMs: -1 })).rejects.toThrow(/readIntervalMs must be an integer from 0 to 10000, got -1/);
  });
});

describe.runIf(live)("fanotify guarded opens", () => {
  let secret: string;
  let other: string;
  beforeAll(() => {
    mkdirSync(join(dir, "guard"), { recursive: true });
    secret = join(dir, "guard", "secret");
    other = join(dir, "guard", "other");
    writeFileSync(secret, "s3cret\n");
    writeFileSync(other, "public\n");
  });

  it("a guarded open fails with EPERM when JavaScript denies; other files open normally", async () => {
    const r = await Recorder.start({ guardPaths: [secret] });
    r.onAuth = (e, backend) => expect(backend.respond(e.auth!.id, false)).toBe("answered");
    const denied = await run("/bin/cat", [secret]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Operation not permitted");
    const auth = r.events.find((e) => e.auth !== undefined);
    // The opener waits for the answer, so its executable is always there to read.
    expect(auth).toMatchObject({ kind: "open", pid: denied.pid, executable: realpathSync("/bin/cat"), file: { path: secret } });
    expect(auth?.auth?.deadlineMs).toBeGreaterThan(Date.now() - 60_000);
    const fine = await run("/bin/cat", [other]);
    expect(fine).toMatchObject({ code: 0, stdout: "public\n" });
    expect(r.events.filter((e) => e.auth !== undefined)).toHaveLength(1);
    expect(r.backend.stats()).toMatchObject({ authRequests: 1, authAnsweredJs: 1, authDenied: 1 });
    // A second answer is late, not a second write to the kernel.
    expect(r.backend.respond(auth!.auth!.id, true)).toBe("tooLate");
  });

  it("a guarded open goes ahead when JavaScript allows", async () => {
    const r = await Recorder.start({ guardPaths: [join(dir, "guard")] });
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, true);
    const allowed = await run("/bin/cat", [secret]);
    expect(allowed).toMatchObject({ code: 0, stdout: "s3cret\n" });
    expect(r.backend.stats()).toMatchObject({ authAnsweredJs: 1, authDenied: 0 });
  });

  it("the watchdog answers when JavaScript never does (allow, or deny when failing closed)", async () => {
    const open = await Recorder.start({ guardPaths: [secret], authBudgetMs: 300 });
    const allowed = await run("/bin/cat", [secret]);
    expect(allowed).toMatchObject({ code: 0, stdout: "s3cret\n" });
    expect(open.backend.stats()).toMatchObject({ authRequests: 1, authAnsweredWatchdog: 1, authAnsweredJs: 0 });
    const id = open.events.find((e) => e.auth)!.auth!.id;
    expect(open.backend.respond(id, false)).toBe("tooLate");
    await open.backend.stop();

    const closed = await Recorder.start({ guardPaths: [secret], authBudgetMs: 300, denyOnTimeout: true });
    const denied = await run("/bin/cat", [secret]);
    expect(denied.code).not.toBe(0);
    expect(closed.backend.stats()).toMatchObject({ authAnsweredWatchdog: 1, authDenied: 1 });
  });

  it("never holds the agent's own opens of a guarded file", async () => {
    const r = await Recorder.start({ guardPaths: [secret], authBudgetMs: 500, denyOnTimeout: true });
    // Synchronous: were it held, JavaScript could not answer and the watchdog would deny it.
    expect(readFileSync(secret, "utf8")).toBe("s3cret\n");
    expect(r.backend.stats()).toMatchObject({ authRequests: 0 });
    expect(r.backend.stats().permAllowedNative).toBeGreaterThan(0);
  });

  it("a killed agent never hangs the host: the kernel allows the pending open, later opens complete", async () => {
    // The agent is a child node process holding the group; it never answers (budget 60 s).
    const script = `
      const b = require(${JSON.stringify(defaultAddonPaths()[0])});
      b.startFanotify({ guardPaths: [${JSON.stringify(secret)}], authBudgetMs: 60000 }, (events) => {
        for (const e of events) if (e.auth) process.stdout.write("auth " + e.pid + "\\n");
      });
      process.stdout.write("ready\\n");`;
    const agent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    agent.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => agent.on("exit", resolve));
    try {
      await until("the agent to start", () => out.includes("ready"));
      const pending = run("/bin/cat", [secret]);
      await until("the agent to hold the open", () => /auth \d+/.test(out));
      agent.kill("SIGKILL");
      await exited;
      expect(await pending).toMatchObject({ code: 0, stdout: "s3cret\n" });
      expect(await run("/bin/cat", [secret])).toMatchObject({ code: 0, stdout: "s3cret\n" });
    } finally {
      agent.kill("SIGKILL");
    }
  });

  it("holds the opens a block rule names, derived from its query, and not its neighbours'; a new rule set unguards them", async () => {
    const r = await Recorder.start({ kinds: ["open"] });
    const report = r.backend.setGuardRules(
      [{ id: "r1", name: "secret", query: parseQuery(`file where event.action == "open" and file.path == "${secret}"`) }],
      { hostOsType: "linux" },
    );
    expect(report).toMatchObject({ active: true, problems: [], unguarded: [], marks: [{ kind: "dir", path: join(dir, "guard"), rules: ["r1 (secret)"] }] });
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, false);
    const denied = await run("/bin/cat", [secret]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Operation not permitted");
    const fine = await run("/bin/cat", [other]);
    expect(fine).toMatchObject({ code: 0, stdout: "public\n" });
    // The neighbour's open was seen by the directory mark, allowed natively, and still reported as an open.
    await until("the neighbour's open", () => r.find("open", other, fine.pid) !== undefined);
    expect(r.events.filter((e) => e.auth !== undefined).map((e) => e.file?.path)).toEqual([secret]);
    expect(r.backend.stats()).toMatchObject({ authRequests: 1, authDenied: 1 });
    expect(r.backend.stats().permAllowedNative).toBeGreaterThan(0);

    expect(r.backend.setGuardRules([], { hostOsType: "linux" })).toMatchObject({ marks: [], problems: [] });
    const permEvents = r.backend.stats().permAllowedNative;
    expect(await run("/bin/cat", [secret])).toMatchObject({ code: 0, stdout: "s3cret\n" });
    expect(await run("/bin/cat", [other])).toMatchObject({ code: 0 });
    // The directory's mark is gone: its opens no longer even reach the reader.
    expect(r.backend.stats()).toMatchObject({ authRequests: 1, permAllowedNative: permEvents });
  });

  it("never holds the agent's own opens of a file a block rule guards", async () => {
    const r = await Recorder.start({ kinds: ["open"], authBudgetMs: 500, denyOnTimeout: true });
    r.backend.setGuardRules([{ id: "r4", name: "secret", query: parseQuery(`file where file.path == "${secret}"`) }], { hostOsType: "linux" });
    // Synchronous: were it held, JavaScript could not answer and the watchdog would deny it.
    expect(readFileSync(secret, "utf8")).toBe("s3cret\n");
    expect(r.backend.stats()).toMatchObject({ authRequests: 0 });
  });

  it("a guarded directory holds its children's opens only, and a deeper open is still reported", async () => {
    const deep = join(dir, "guard", "sub", "deep");
    mkdirSync(join(dir, "guard", "sub"), { recursive: true });
    writeFileSync(deep, "deep\n");
    const r = await Recorder.start({ guardPaths: [join(dir, "guard")], kinds: ["open"] });
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, true);
    const cat = await run("/bin/cat", [deep]);
    expect(cat).toMatchObject({ code: 0, stdout: "deep\n" });
    await until("the deep open", () => r.find("open", deep, cat.pid) !== undefined);
    expect(r.backend.stats()).toMatchObject({ authRequests: 0 });
  });

  it("an allowed guarded open is reported once, with its auth request, not again as a plain open", async () => {
    const r = await Recorder.start({ kinds: ["open"] });
    r.backend.setGuardRules([{ id: "r2", name: "secret", query: parseQuery(`file where file.path == "${secret}"`) }], { hostOsType: "linux" });
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, true);
    const allowed = await run("/bin/cat", [secret]);
    expect(allowed).toMatchObject({ code: 0, stdout: "s3cret\n" });
    const marker = await run("/bin/cat", [other]);
    await until("the marker's open", () => r.find("open", other, marker.pid) !== undefined);
    expect(r.events.filter((e) => e.kind === "open" && e.file?.path === secret).map((e) => e.auth !== undefined)).toEqual([true]);
  });

  it("a guard on a filesystem (a wildcard under a directory) holds only the opens that pass the rule's path filter", async () => {
    const r = await Recorder.start({ kinds: ["open"] });
    const report = r.backend.setGuardRules([{ id: "r3", name: "deep", query: parseQuery(`file where file.path : "${dir}/guard/sec*"`) }], { hostOsType: "linux" });
    expect(report.marks).toEqual([expect.objectContaining({ kind: "filesystem" })]);
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, false);
    expect((await run("/bin/cat", [secret])).code).not.toBe(0);
    expect(await run("/bin/cat", [other])).toMatchObject({ code: 0, stdout: "public\n" });
    expect(r.backend.stats()).toMatchObject({ authRequests: 1, authDenied: 1 });
    // Allowed, the open is reported once: its notification is known (by the filesystem's id) for a held one.
    r.onAuth = (e, backend) => backend.respond(e.auth!.id, true);
    const allowed = await run("/bin/cat", [secret]);
    expect(allowed).toMatchObject({ code: 0, stdout: "s3cret\n" });
    const marker = await run("/bin/cat", [other]);
    await until("the marker's open", () => r.find("open", other, marker.pid) !== undefined);
    expect(r.events.filter((e) => e.kind === "open" && e.pid === allowed.pid && e.file?.path === secret).map((e) => e.auth !== undefined)).toEqual([true]);
  });

  it("refuses a guarded path that does not exist, naming it", async () => {
    const missing = join(dir, "no-such-file");
    await expect(createLinuxFileBackend({ guardPaths: [missing] }).start(() => {})).rejects.toThrow(missing);
  });
});
