import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { acquirePidLock, AgentRunningError } from "../../src/status/pidLock.js";

const dir = mkdtempSync(join(tmpdir(), "macsensor-pidlock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A live process that is not us, to stand in for a running agent. */
async function standIn(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  children.push(child);
  await new Promise((resolve) => child.once("spawn", resolve));
  return child;
}

let n = 0;
const freshFile = (): string => join(dir, `run-${n++}`, "macsensor.pid");

describe("the pid file as the one-agent lock", () => {
  it("creates the file naming this process (folder included), and release removes it", () => {
    const file = freshFile();
    const lock = acquirePidLock(file);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
    expect(() => statSync(file)).toThrow(/ENOENT/);
    lock.release(); // idempotent
  });

  it("refuses while the agent named in it is alive, names that pid, and leaves its file alone", async () => {
    const agent = await standIn();
    const file = freshFile();
    acquirePidLock(file, agent.pid);
    const before = statSync(file);
    let refused: unknown;
    try {
      acquirePidLock(file);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AgentRunningError);
    expect((refused as AgentRunningError).pid).toBe(agent.pid);
    expect((refused as Error).message).toContain(`pid ${agent.pid}`);
    expect(readFileSync(file, "utf8")).toBe(`${agent.pid}\n`);
    expect(statSync(file).ino).toBe(before.ino);
    expect(readdirSync(join(file, ".."))).toEqual(["macsensor.pid"]); // no temporary file left behind
  });

  it("takes over the file of an agent killed with SIGKILL, and of a file holding no pid", async () => {
    const agent = await standIn();
    const file = freshFile();
    acquirePidLock(file, agent.pid);
    const exited = new Promise((resolve) => agent.once("exit", resolve));
    agent.kill("SIGKILL");
    await exited;
    const lock = acquirePidLock(file);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();

    writeFileSync(file, "");
    acquirePidLock(file).release();
    writeFileSync(file, "garbage\n");
    const again = acquirePidLock(file);
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    again.release();
    expect(readdirSync(join(file, ".."))).toEqual([]);
  });

  it("release never removes a pid file that names another agent", async () => {
    const agent = await standIn();
    const file = freshFile();
    const lock = acquirePidLock(file);
    // Our file was replaced meanwhile (say an admin removed it and another agent started).
    rmSync(file);
    writeFileSync(file, `${agent.pid}\n`);
    lock.release();
    expect(readFileSync(file, "utf8")).toBe(`${agent.pid}\n`);
  });

  // Real processes racing: each takes the lock and holds it until its standard input closes.
  const racer = `
    import { acquirePidLock } from ${JSON.stringify(new URL("../../dist/status/pidLock.js", import.meta.url).href)};
    try {
      acquirePidLock(process.argv[1]);
      console.log("won");
      process.stdin.resume();
      process.stdin.on("end", () => process.exit(0));
    } catch (error) {
      console.log(error.name === "AgentRunningError" ? "refused " + error.pid : "error " + error.message);
    }`;

  async function race(file: string, count: number): Promise<string[]> {
    const racers = Array.from({ length: count }, () => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", racer, file], { stdio: ["pipe", "pipe", "inherit"] });
      children.push(child);
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      return { child, said: new Promise<string>((resolve) => child.stdout!.on("data", () => out.includes("\n") && resolve(out.trim()))) };
    });
    const said = await Promise.all(racers.map((r) => r.said));
    for (const r of racers) r.child.stdin!.end();
    await Promise.all(racers.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(null) : r.child.once("exit", resolve)))));
    return said;
  }

  it("of eight agents started at once, exactly one runs; the others name it", async () => {
    const file = freshFile();
    const said = await race(file, 8);
    const winners = said.filter((s) => s === "won");
    expect(winners.length, said.join(", ")).toBe(1);
    const refusals = said.filter((s) => s.startsWith("refused "));
    expect(refusals.length, said.join(", ")).toBe(7);
    expect(new Set(refusals).size).toBe(1);
  }, 60_000);

  it("of two agents taking over the same stale file at once, exactly one runs", async () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    for (let round = 0; round < 5; round++) {
      const file = freshFile();
      acquirePidLock(file, gone); // the file of an agent that is gone
      const said = await race(file, 2);
      expect(said.filter((s) => s === "won").length, said.join(", ")).toBe(1);
      expect(said.filter((s) => s.startsWith("refused ")).length, said.join(", ")).toBe(1);
    }
  }, 60_000);
});
