/** What the end-to-end tests share: reading NDJSON logs back, waiting, starting `macsensor run`. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** The records of an NDJSON log (alerts or the agent log); none while the file does not exist yet. */
export function readNdjson(file: string): Array<Record<string, any>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

/** Polls `probe` until it returns a value; the deadline only keeps a broken run from hanging. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Agent {
  child: ChildProcess;
  stderr: () => string;
}

/** `macsensor <args>` as a child process, its stderr collected. */
export function spawnAgent(args: string[], env: NodeJS.ProcessEnv): Agent {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  return { child, stderr: () => err };
}

/** Waits until the agent says it runs with the linux backend; fails with its stderr if it exits or takes too long. */
export async function waitForLinuxStart(agent: Agent): Promise<void> {
  await waitFor("the agent to start", () => (agent.stderr().includes("running with the linux backend") || agent.child.exitCode !== null ? true : undefined), 20_000).catch(
    (e: Error) => {
      throw new Error(`${e.message}\nstderr: ${agent.stderr()}`);
    },
  );
  if (agent.child.exitCode !== null) throw new Error(`the agent exited ${agent.child.exitCode}: ${agent.stderr()}`);
}
