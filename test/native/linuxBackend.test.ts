// Live tests of the Linux process-connector backend: real processes, real kernel events. Needs root (CI is root)
// and the built addon (npm ci / npx node-gyp rebuild).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SensorBackend } from "../../src/sensor/backend.js";
import { createLinuxBackend } from "../../src/sensor/linuxBackend.js";
import { defaultAddonPaths, loadNative } from "../../src/sensor/native.js";
import type { RawEvent, RawText } from "../../src/sensor/rawEvent.js";

const SLEEP = realpathSync("/bin/sleep");
const SH = "/bin/sh";

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "macsensor-linux-")));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A running backend that keeps every event it is handed. */
class Recorder {
  readonly events: RawEvent[] = [];
  /** The number of the batch (from 1) each event came in. */
  readonly batchOf = new Map<RawEvent, number>();
  batches = 0;
  constructor(readonly backend: SensorBackend) {}
  static async start(options: Parameters<typeof createLinuxBackend>[0] = {}): Promise<Recorder> {
    const r = new Recorder(createLinuxBackend(options));
    await r.backend.start((events) => {
      r.batches++;
      for (const e of events) r.batchOf.set(e, r.batches);
      r.events.push(...events);
    });
    running.push(r);
    return r;
  }
  of(pid: number, kind?: RawEvent["kind"]): RawEvent[] {
    return this.events.filter((e) => e.pid === pid && (kind === undefined || e.kind === kind));
  }
  /** Waits (up to 10 s) until pred holds over the events received so far. */
  async until(what: string, pred: () => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${this.events.length} events seen`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Waits for the exit event of pid and returns all of pid's events. */
  async lifeOf(pid: number): Promise<RawEvent[]> {
    await this.until(`the exit of ${pid}`, () => this.of(pid, "exit").length > 0);
    return this.of(pid);
  }
}
const running: Recorder[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.backend.stop();
});

/** Runs a program to its end; resolves to its pid. */
function run(file: string, args: string[], cwd = dir, detached = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: "ignore", detached });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid!));
  });
}

/**
 * Starts a program that lives until told to stop (its standard input closes, or with kill: SIGTERM), so that
 * /proc still holds its arguments however late a loaded machine lets the reader come; stops it once `seen`
 * holds for its pid, and resolves to that pid after it has exited.
 */
async function runUntilSeen(
  r: Recorder,
  file: string,
  args: string[],
  seen: (pid: number) => boolean,
  options: { kill?: boolean; detached?: boolean } = {},
): Promise<number> {
  const child = spawn(file, args, { cwd: dir, stdio: ["pipe", "ignore", "ignore"], detached: options.detached ?? false });
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await r.until(`the exec of ${file} (pid ${child.pid})`, () => seen(child.pid!));
  } finally {
    if (options.kill) child.kill();
    else child.stdin!.end();
  }
  await exited;
  return child.pid!;
}

/** Options under which nothing but a wanted event wakes JavaScript: a hold and a batch size no test reaches. */
const WAKE_ONLY_WHEN_WANTED = { holdMs: 60_000, batchMax: 1 << 20, queueCapacity: 1 << 24 };

/** An exec event of pid whose args satisfy pred. */
function execWith(events: RawEvent[], pred: (args: RawText[]) => boolean): RawEvent | undefined {
  return events.find((e) => e.kind === "exec" && e.args !== undefined && pred(e.args));
}

const bytes = (t: RawText | undefined): Uint8Array =>
  typeof t === "string" ? new TextEncoder().encode(t) : (t ?? new Uint8Array());

describe("Linux backend: live events", () => {
  it("sees fork, exec and exit of sh -c 'exec /bin/echo a b' with args, executable, cwd, ppid and ids", async () => {
    const r = await Recorder.start();
    const pid = await run(SH, ["-c", "exec /bin/echo a b"]);
    const life = await r.lifeOf(pid);

    const fork = life.find((e) => e.kind === "fork");
    expect(fork).toMatchObject({ source: "linux", pid, ppid: process.pid });
    const shExec = execWith(life, (a) => a[0] === SH);
    // The shell may have exec'd echo before /proc was read; then both exec events show echo.
    if (shExec !== undefined) expect(shExec.args).toEqual([SH, "-c", "exec /bin/echo a b"]);
    const echo = execWith(life, (a) => a[0] === "/bin/echo");
    const execs = life.filter((e) => e.kind === "exec");
    expect(execs.length).toBe(2);
    if (echo === undefined) {
      // echo ran and exited before its /proc entry was read: the event must say so.
      expect(execs[1].partial).toMatch(/missing: .*args/);
    } else {
      expect(echo).toMatchObject({
        pid,
        ppid: process.pid,
        args: ["/bin/echo", "a", "b"],
        executable: realpathSync("/bin/echo"),
        cwd: dir,
        uid: process.getuid!(),
        euid: process.geteuid!(),
        gid: process.getgid!(),
        egid: process.getegid!(),
      });
      expect(echo.startTime).toBeGreaterThan(Date.now() - 60_000);
    }
    const exit = life.find((e) => e.kind === "exit")!;
    expect(exit).toMatchObject({ pid, ppid: process.pid, exitStatus: 0 });
    // The kernel's timestamp is mapped to the wall clock at the read, so it is never after the read time.
    for (const e of life) {
      expect(typeof e.kernelTime).toBe("number");
      expect(e.kernelTime!).toBeLessThanOrEqual(e.time);
    }
    // One process from fork to exit: one start time, whichever event read it from /proc.
    const starts = new Set(life.filter((e) => e.startTime !== undefined).map((e) => e.startTime));
    expect(starts.size).toBeLessThanOrEqual(1);
    // Order and sequence: fork < execs < exit, seq strictly increasing.
    expect(life.map((e) => e.kind)).toEqual(["fork", "exec", "exec", "exit"]);
    for (let i = 1; i < life.length; i++) expect(life[i].seq).toBeGreaterThan(life[i - 1].seq);
  });

  it("reports the wait status of an exit", async () => {
    const r = await Recorder.start();
    const pid = await run(SH, ["-c", "exit 3"]);
    const [exit] = (await r.lifeOf(pid)).filter((e) => e.kind === "exit");
    expect(exit.exitStatus).toBe(3 << 8);
    const killed = await run(SH, ["-c", "kill -9 $$"]);
    const [exit9] = (await r.lifeOf(killed)).filter((e) => e.kind === "exit");
    expect(exit9.exitStatus).toBe(9);
  });

  it("names a renamed binary by its own path, with exact args, process group and session", async () => {
    const security = join(dir, "security");
    copyFileSync(SLEEP, security);
    chmodSync(security, 0o755);
    const r = await Recorder.start();
    // detached: a new session, so pgid = sid = pid
    const pid = await runUntilSeen(r, security, ["30"], (p) => r.of(p, "exec").length > 0, { kill: true, detached: true });
    const exec = execWith(await r.lifeOf(pid), () => true)!;
    expect(exec).toMatchObject({ executable: security, args: [security, "30"], cwd: dir, ppid: process.pid });
    expect(exec).toMatchObject({ pgid: pid, sid: pid });
    expect(exec.tty).toBeUndefined();
    expect(exec.partial).toBeUndefined();
  });

  it.runIf(existsSync("/usr/bin/script"))("names the controlling terminal of a program run on a pty", async () => {
    const r = await Recorder.start();
    // sleep lives 2 s, so that /proc still has it when the reader comes, however loaded the machine.
    await run("/usr/bin/script", ["-qec", `exec ${SLEEP} 2`, "/dev/null"]);
    await r.until("sleep on a pty", () => r.events.some((e) => e.kind === "exec" && e.args?.[0] === SLEEP && e.args[1] === "2"));
    const exec = r.events.find((e) => e.kind === "exec" && e.args?.[0] === SLEEP && e.args[1] === "2")!;
    expect(exec.tty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(exec).toMatchObject({ sid: exec.pid, pgid: exec.pid }); // script makes it a session leader on the pty
  });

  it("gives an argument that is not UTF-8 as its exact bytes, and valid UTF-8 as a string", async () => {
    // printf octal escapes → [expected bytes, valid UTF-8?]
    const cases: Array<[string, number[], boolean]> = [
      ["\\377\\376ab", [0xff, 0xfe, 0x61, 0x62], false],
      ["\\300\\200", [0xc0, 0x80], false], // overlong NUL
      ["\\355\\240\\200", [0xed, 0xa0, 0x80], false], // UTF-16 surrogate
      ["\\364\\220\\200\\200", [0xf4, 0x90, 0x80, 0x80], false], // above U+10FFFF
      ["x\\342\\202", [0x78, 0xe2, 0x82], false], // cut short
      ["\\360\\237\\230\\200", [0xf0, 0x9f, 0x98, 0x80], true], // 😀
      ["caf\\303\\251", [0x63, 0x61, 0x66, 0xc3, 0xa9], true], // café
    ];
    const printed = cases.map(([esc]) => `"$(printf '${esc}')"`).join(" ");
    const r = await Recorder.start();
    const inner = (p: number) => execWith(r.of(p), (a) => a[2] === "read x") !== undefined;
    const pid = await runUntilSeen(r, SH, ["-c", `exec ${SH} -c "read x" x ${printed} end`], inner);
    const exec = execWith(await r.lifeOf(pid), (a) => a[2] === "read x")!;
    expect(exec.args!.slice(0, 4)).toEqual([SH, "-c", "read x", "x"]);
    cases.forEach(([, expected, valid], i) => {
      const arg = exec.args![4 + i];
      if (valid) expect(arg).toBe(new TextDecoder().decode(new Uint8Array(expected)));
      else expect(arg).toBeInstanceOf(Uint8Array);
      expect([...bytes(arg)]).toEqual(expected);
    });
    expect(exec.args![4 + cases.length]).toBe("end");
  });

  it("keeps 10,000 arguments, embedded newlines and a trailing empty argument exactly", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `arg-${i}`);
    const odd = ["line1\nline2\n", "\n", "tab\there", "ünïcødé", ""];
    const r = await Recorder.start();
    const pid = await runUntilSeen(r, SH, ["-c", "read x", "name", ...many, ...odd], (p) => r.of(p, "exec").length > 0);
    const exec = execWith(await r.lifeOf(pid), (a) => a[1] === "-c")!;
    expect(exec.partial).toBeUndefined();
    expect(exec.argsTruncated).toBeUndefined();
    expect(exec.args).toEqual([SH, "-c", "read x", "name", ...many, ...odd]);
  });

  it("keeps about 1 MB of arguments (8 × the 128 KiB per-argument limit) byte for byte", async () => {
    const big = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(131_071));
    const r = await Recorder.start();
    const pid = await runUntilSeen(r, SH, ["-c", "read x", "name", ...big], (p) => r.of(p, "exec").length > 0);
    const exec = execWith(await r.lifeOf(pid), (a) => a[1] === "-c")!;
    expect(exec.args!.length).toBe(4 + big.length);
    expect(exec.args!.slice(4)).toEqual(big);
  });

  it("a program that exits at once gives a whole or an explicitly partial exec event, never a crash", async () => {
    const quick = join(dir, "quick");
    copyFileSync(realpathSync("/bin/true"), quick);
    chmodSync(quick, 0o755);
    const r = await Recorder.start();
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) pids.push(await run(quick, ["x"]));
    for (const pid of pids) {
      const life = await r.lifeOf(pid);
      const exec = life.find((e) => e.kind === "exec")!;
      if (exec.partial === undefined) {
        expect(exec).toMatchObject({ executable: quick, args: [quick, "x"], cwd: dir });
      } else {
        expect(exec.partial).toMatch(/^process exited before \/proc\/\d+ was read; missing: /);
      }
      expect(life.find((e) => e.kind === "exit")!.exitStatus).toBe(0);
    }
  });

  it("reports processes, not their threads", async () => {
    const r = await Recorder.start();
    // A Node.js with a worker thread: a dozen threads start and end inside one process.
    const code = `const { Worker } = require("node:worker_threads");
      const w = new Worker("setTimeout(() => {}, 100)", { eval: true });
      w.on("online", () => { console.log(require("node:fs").readdirSync("/proc/self/task").join(" ")); });`;
    const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await new Promise((res) => child.on("exit", res));
    const tids = out.trim().split(" ").map(Number).filter((tid) => tid !== child.pid);
    expect(tids.length).toBeGreaterThan(3);
    expect((await r.lifeOf(child.pid!)).map((e) => e.kind)).toEqual(["fork", "exec", "exit"]);
    for (const tid of tids) expect(r.of(tid)).toEqual([]);
  });

  it("holds a fork back until the next exec and delivers the two together", async () => {
    // Only an exec wakes JavaScript here (no relevance set: every exec), whatever else the host runs meanwhile.
    const r = await Recorder.start(WAKE_ONLY_WHEN_WANTED);
    // A subshell that execs nothing and counts for a while, then the shell execs /bin/true.
    const pid = await run(SH, ["-c", "(i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done); exec /bin/true"]);
    await r.until("the shell's subshell", () => r.events.some((e) => e.kind === "fork" && e.ppid === pid));
    const subshell = r.events.find((e) => e.kind === "fork" && e.ppid === pid)!;
    const execs = r.events.filter((e) => e.kind === "exec" && r.batchOf.get(e) === r.batchOf.get(subshell));
    // JavaScript was woken by an exec (the shell's, or another process's that came first), not by the fork.
    expect(execs.length).toBeGreaterThan(0);
    for (let batch = 1; batch <= r.batches; batch++) {
      expect(r.events.some((e) => e.kind === "exec" && r.batchOf.get(e) === batch), `batch ${batch} holds an exec`).toBe(true);
    }
  });

  it("wakes JavaScript at once only for the execs setRelevance asks for; the others come with them, in order", async () => {
    // A marker no other process on the host uses, and a hold no test reaches: only our wanted execs, and execs of
    // other processes gone before /proc was read (partial, which cannot be ruled out), may wake JavaScript.
    const marker = `macsensor-wanted-${randomUUID()}`;
    const wanted = (e: RawEvent) => e.kind === "exec" && (e.executable === undefined || e.args === undefined || e.args.includes(marker));
    const r = await Recorder.start(WAKE_ONLY_WHEN_WANTED);
    r.backend.setRelevance!({ kinds: ["exec"], execPrefilter: { argEquals: [marker], argContains: [], executableBasename: [] } });
    const live: ChildProcess[] = [];
    const start = async (args: string[]) => {
      const child = spawn(SH, ["-c", "read x", ...args], { stdio: ["pipe", "ignore", "ignore"] });
      live.push(child);
      await new Promise((resolve) => child.once("spawn", resolve));
      return child.pid!;
    };
    const execOf = (pid: number, arg: string) => r.of(pid, "exec").find((e) => e.args?.includes(arg));
    try {
      // Everything read before setRelevance took effect is delivered with the first wanted exec, or before it.
      const first = await start([marker, "first"]);
      await r.until("the first wanted exec", () => execOf(first, marker) !== undefined);
      const from = r.batchOf.get(execOf(first, marker)!)!;
      // Both stay alive (reading their standard input), so /proc has their arguments when the reader reads them.
      // A second session that delivers everything at once says when the kernel has sent the unwanted exec; a
      // wrong relevance would have had JavaScript woken for it by then, in a batch of its own.
      const observer = await Recorder.start({ holdMs: 0 });
      const unwantedPid = await start(["macsensor-unwanted"]);
      await observer.until("the unwanted exec, seen by another session", () => observer.of(unwantedPid, "exec").length > 0);
      const wantedPid = await start([marker, "second"]);
      await r.until("the second wanted exec", () => execOf(wantedPid, marker) !== undefined);
      const unwanted = r.of(unwantedPid, "exec").at(-1)!;
      const second = execOf(wantedPid, marker)!;
      expect(unwanted).toBeDefined();
      expect(unwanted.args).toContain("macsensor-unwanted");
      expect(r.batchOf.get(unwanted)!).toBeLessThanOrEqual(r.batchOf.get(second)!);
      expect(r.events.indexOf(unwanted)).toBeLessThan(r.events.indexOf(second));
      // Each wake-up since was asked for by a wanted event it delivers: the unwanted exec woke nobody.
      for (let batch = from + 1; batch <= r.batchOf.get(second)!; batch++) {
        const woken = r.events.filter((e) => r.batchOf.get(e) === batch);
        expect(woken.some(wanted), `batch ${batch}: ${woken.map((e) => `${e.kind} ${e.pid}`).join(", ")}`).toBe(true);
      }
    } finally {
      for (const child of live) child.stdin!.end();
    }
  });

  it("does not report the pids it is told to ignore", async () => {
    const child = spawn(SH, ["-c", "read x; exec /bin/true"], { stdio: ["pipe", "ignore", "ignore"] });
    await new Promise((res) => child.on("spawn", res));
    const r = await Recorder.start({ ignorePids: [child.pid!] });
    const exited = new Promise((res) => child.on("exit", res));
    child.stdin!.end("go\n");
    await exited;
    const control = await run(SH, ["-c", "exit 0"]);
    await r.lifeOf(control);
    expect(r.of(child.pid!)).toEqual([]);
    expect(r.backend.stats().ignored).toBeGreaterThanOrEqual(2); // its exec and its exit
  });
});

/** Sequence numbers are 1..lastSeq; the ones missing from what was delivered are the drops. */
function checkSequence(events: RawEvent[], stats: ReturnType<SensorBackend["stats"]>): void {
  const seqs = events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
  expect(stats.delivered).toBe(events.length);
  expect(stats.delivered + stats.dropped).toBe(stats.lastSeq);
  const gaps = stats.lastSeq - seqs.length;
  expect(gaps).toBe(stats.dropped);
}

describe("Linux backend: load, drops, stop", () => {
  it("a burst of 2,000 execs: every one delivered, or the drop counter accounts for it", async () => {
    const r = await Recorder.start();
    const shell = await run(SH, ["-c", "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done"]);
    await r.lifeOf(shell);
    await r.backend.stop();
    const stats = r.backend.stats();
    checkSequence(r.events, stats);
    const children = new Set(r.events.filter((e) => e.kind === "fork" && e.ppid === shell).map((e) => e.pid));
    expect(children.size + stats.dropped).toBeGreaterThanOrEqual(2000);
    const execs = r.events.filter((e) => e.kind === "exec" && children.has(e.pid));
    expect(execs.length + stats.dropped).toBeGreaterThanOrEqual(2000);
    // Each exec event is either /bin/true read whole or says what it is missing.
    for (const e of execs) {
      if (e.partial === undefined) expect(e.args).toEqual(["/bin/true"]);
      else expect(e.partial).toMatch(/missing: /);
    }
  }, 300_000); // 2,000 execs one after another take over a minute on a loaded 2-core machine

  it("when JavaScript cannot keep up, a full queue drops and counts, and seq shows the gaps", async () => {
    const r = await Recorder.start({ queueCapacity: 8, batchMax: 2 });
    // spawnSync blocks the event loop, so nothing is delivered until it returns: the queue must overflow.
    spawnSync(SH, ["-c", "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done"]);
    await r.backend.stop();
    const stats = r.backend.stats();
    expect(stats.queueDropped).toBeGreaterThan(0);
    expect(stats.queueHighWater).toBe(8);
    checkSequence(r.events, stats);
  });

  it("stop delivers what is queued, then no more events arrive", async () => {
    const r = await Recorder.start();
    const burst = spawnSync(SH, ["-c", "i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done"]);
    expect(r.events.length).toBe(0); // the event loop was blocked: all of it is still queued natively
    await r.backend.stop();
    const forks = r.events.filter((e) => e.kind === "fork" && e.ppid === burst.pid);
    expect(forks.length).toBe(50);
    const stats = r.backend.stats();
    expect(stats.queued).toBe(0);
    checkSequence(r.events, stats);
    const seen = r.events.length;
    await run(SH, ["-c", "exit 0"]);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.events.length).toBe(seen);
  });

  it("stop rethrows what onEvents threw during the drain, stops anyway and counts what was not delivered", async () => {
    const backend = createLinuxBackend({ batchMax: 4 });
    let calls = 0;
    await backend.start(() => {
      calls++;
      throw new Error("boom");
    });
    spawnSync(SH, ["-c", "i=0; while [ $i -lt 10 ]; do /bin/true; i=$((i+1)); done"]);
    await expect(backend.stop()).rejects.toThrow("boom");
    expect(calls).toBe(1);
    const stats = backend.stats();
    expect(stats.delivered).toBe(4);
    expect(stats.queued).toBe(0);
    expect(stats.discarded).toBeGreaterThanOrEqual(26); // 10 × fork/exec/exit of /bin/true, less the 4 delivered
    expect(stats.delivered + stats.discarded + stats.dropped).toBe(stats.lastSeq);
    await backend.stop(); // already stopped: resolves
  });

  it("starts and stops twice, and two backends run side by side", async () => {
    const backend = createLinuxBackend();
    for (let round = 0; round < 2; round++) {
      const events: RawEvent[] = [];
      await backend.start((evs) => events.push(...evs));
      await expect(backend.start(() => {})).rejects.toThrow(/already started/);
      const other = await Recorder.start();
      const pid = await run(SH, ["-c", "exit 0"]);
      await other.lifeOf(pid);
      // Each backend has its own socket and reader thread: this one may read the exit a moment after the other.
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => e.pid === pid && e.kind === "exit") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await backend.stop();
      await backend.stop(); // idempotent
      expect(events.filter((e) => e.pid === pid).map((e) => e.kind)).toEqual(["fork", "exec", "exit"]);
      expect(events[0].seq).toBe(1); // each session numbers from 1
    }
  });
});

describe("Linux backend in a worker thread", () => {
  it("a session whose handle was dropped keeps running; a worker terminated mid-delivery ends cleanly", async () => {
    const addon = defaultAddonPaths()[0];
    for (let round = 0; round < 3; round++) {
      // The handle is not kept and garbage is collected: the session must go on delivering.
      const code = `
        const { parentPort } = require("node:worker_threads");
        require("node:v8").setFlagsFromString("--expose-gc");
        const collect = require("node:vm").runInNewContext("gc");
        const b = require(${JSON.stringify(addon)});
        let n = 0;
        b.startLinux({ batchMax: 1 }, (events) => { n += events.length; parentPort.postMessage(n); });
        collect();
        setInterval(() => { collect(); require("node:child_process").spawn("/bin/true"); }, 5);`;
      const worker = new Worker(code, { eval: true });
      let seen = 0;
      let failure: unknown;
      worker.on("message", (n: number) => (seen = n));
      worker.on("error", (err) => (failure = err));
      const deadline = Date.now() + 10_000;
      while (seen < 20 && failure === undefined && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 10));
      }
      expect(failure).toBeUndefined();
      expect(seen).toBeGreaterThanOrEqual(20);
      await worker.terminate(); // mid-delivery: calls into the dying worker must fail quietly, not abort
    }
    const r = await Recorder.start();
    const pid = await run(SH, ["-c", "exit 0"]);
    expect((await r.lifeOf(pid)).map((e) => e.kind)).toEqual(["fork", "exec", "exit"]);
  }, 120_000);
});

describe("readLinuxProcess", () => {
  const binding = loadNative();

  it("reads a live process as the backend does", async () => {
    // sh stays alive (the ';' makes it fork sleep rather than exec it) and keeps an argument with a newline.
    const child = spawn(SH, ["-c", "sleep 5; :", "x\ny"], { cwd: dir, stdio: "ignore" });
    await new Promise((res) => child.on("spawn", res));
    try {
      // "spawn" can come while the child is still inside execve, when /proc shows no arguments yet.
      let ev = binding.readLinuxProcess!(child.pid!);
      for (const end = Date.now() + 5_000; ev.args?.length !== 4 && Date.now() < end; ) {
        await new Promise((r) => setTimeout(r, 10));
        ev = binding.readLinuxProcess!(child.pid!);
      }
      expect(ev).toMatchObject({ kind: "exec", source: "linux", seq: 0, pid: child.pid, ppid: process.pid });
      expect(ev.args).toEqual([SH, "-c", "sleep 5; :", "x\ny"]);
      expect(ev).toMatchObject({ executable: realpathSync(SH), cwd: dir, uid: process.getuid!() });
      expect(ev.partial).toBeUndefined();
    } finally {
      child.kill();
    }
  });

  it("says what is missing for a zombie and for a pid that does not exist", async () => {
    // The shell starts /bin/true in the background and becomes sleep, which never reaps it: a zombie.
    const parent = spawn(SH, ["-c", "/bin/true & exec /bin/sleep 30"], { stdio: "ignore" });
    try {
      // However loaded the machine, wait until /bin/true has exited unreaped.
      let zombieLine: string | undefined;
      for (const end = Date.now() + 20_000; zombieLine === undefined && Date.now() < end; ) {
        const kids = spawnSync("ps", ["-o", "pid=,stat=", "--ppid", String(parent.pid)], { encoding: "utf8" }).stdout;
        zombieLine = kids.split("\n").find((l) => /Z/.test(l));
        if (zombieLine === undefined) await new Promise((res) => setTimeout(res, 20));
      }
      const zombie = Number(zombieLine!.trim().split(/\s+/)[0]);
      const ev = binding.readLinuxProcess!(zombie);
      expect(ev.partial).toMatch(/missing: args, executable, cwd$/);
      expect(ev.args).toBeUndefined();
      expect(ev.ppid).toBe(parent.pid);
    } finally {
      parent.kill();
    }
    const gone = binding.readLinuxProcess!(4_194_303 + 1000);
    expect(gone.partial).toMatch(/^process exited before \/proc\/\d+ was read; missing: args, executable, cwd, ppid/);
    expect(() => binding.readLinuxProcess!(-1)).toThrow(/positive integer/);
  });
});
