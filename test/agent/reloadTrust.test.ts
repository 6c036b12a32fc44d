import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { ruleToml } from "../helpers/ruleToml.js";
import { startTestAgent } from "../helpers/testAgent.js";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UntrustedPathError } from "../../src/config/index.js";
import { flushOpsLogger } from "../../src/output/opsLogger.js";
import { trustedTempDir } from "../config/trustedTemp.js";

const isRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

/** A rule that fires on an exec with `arg` among its arguments. */
const rule = (id: string, arg: string) => ruleToml(id, `process where event.type == "start" and process.args == "${arg}"`);

let dir: string;
let rules: string;
beforeAll(() => {
  // The check also honours MACSENSOR_DEV=1 from the environment; these tests are about the strict check.
  delete process.env.MACSENSOR_DEV;
});
beforeEach(() => {
  dir = trustedTempDir("reload-trust-");
  rules = join(dir, "rules");
  mkdirSync(rules, { mode: 0o755 });
  chmodSync(rules, 0o755);
  writeFileSync(join(rules, "old.toml"), rule("old", "old-rule-marker"), { mode: 0o644 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function start(relaxPermissions?: boolean) {
  const { agent, backend, alerts, ops } = await startTestAgent([rules], join(dir, "ops.log"), relaxPermissions !== undefined ? { relaxPermissions } : {});
  let pid = 100;
  /** Runs one exec with these arguments through the agent; returns the ids of the rules that alerted. */
  const exec = (arg: string): string[] => {
    const before = alerts.length;
    pid++;
    backend.deliver([{ source: "linux", kind: "exec", seq: pid, time: 1_800_000_000_000 + pid, pid, ppid: 1, executable: "/bin/tool", args: ["tool", arg] }]);
    return alerts.slice(before).map((a) => (a.rule as { id: string }).id);
  };
  const opsLog = async () => {
    await flushOpsLogger(ops);
    return readFileSync(join(dir, "ops.log"), "utf8");
  };
  return { agent, exec, opsLog };
}

/** The rule an attacker drops in after start: world-writable, and given to nobody when we can. */
function dropUntrustedRule(): string {
  const file = join(rules, "dropped.toml");
  writeFileSync(file, rule("dropped", "dropped-rule-marker"));
  chmodSync(file, 0o666);
  if (isRoot) chownSync(file, NOBODY, NOBODY);
  return file;
}

describe("reload checks the rules as start does", () => {
  it("refuses a rule a non-root user could change; the old rules keep running and the agent log says why", async () => {
    const { agent, exec, opsLog } = await start();
    expect(exec("old-rule-marker")).toEqual(["old"]);
    const dropped = dropUntrustedRule();

    let refusal: unknown;
    try {
      agent.reload();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(UntrustedPathError);
    expect((refusal as UntrustedPathError).offender).toBe(dropped);
    expect(agent.rules.loaded).toBe(1);
    expect(exec("dropped-rule-marker")).toEqual([]);
    expect(exec("old-rule-marker")).toEqual(["old"]);

    const refused = (await opsLog())
      .split("\n")
      .filter((l) => l.includes("rule reload refused"))
      .map((l) => JSON.parse(l));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ log: { level: "error" }, file: { path: dropped } });
    expect(JSON.stringify(refused[0])).toContain(`refusing to load ${rules}: ${dropped} ${isRoot ? `is owned by uid ${NOBODY}` : "is writable by others"}`);
    await agent.stop();
  });

  it("loads the rule on the next reload once it is fixed", async () => {
    const { agent, exec } = await start();
    const dropped = dropUntrustedRule();
    expect(() => agent.reload()).toThrow(UntrustedPathError);
    chmodSync(dropped, 0o644);
    if (isRoot) chownSync(dropped, 0, 0);
    expect(agent.reload().loaded).toBe(2);
    expect(exec("dropped-rule-marker")).toEqual(["dropped"]);
    await agent.stop();
  });

  it("keeps the old rules when the rule folder has gone, rather than run with none", async () => {
    const { agent, exec, opsLog } = await start();
    rmSync(rules, { recursive: true });
    expect(() => agent.reload()).toThrow(`cannot check the rule path ${rules}: no such file or folder`);
    expect(exec("old-rule-marker")).toEqual(["old"]);
    expect(await opsLog()).toContain("rule reload refused; the previous rules stay in force");
    await agent.stop();
  });

  it("refuses to start on an untrusted rule, as `run` does", async () => {
    dropUntrustedRule();
    await expect(start()).rejects.toThrow(UntrustedPathError);
  });

  it("in development (relaxPermissions) loads it with a warning in the agent log", async () => {
    const { agent, exec, opsLog } = await start(true);
    const dropped = dropUntrustedRule();
    expect(agent.reload().loaded).toBe(2);
    expect(exec("dropped-rule-marker")).toEqual(["dropped"]);
    expect(await opsLog()).toContain(`permission check relaxed (development): ${dropped}`);
    await agent.stop();
  });
});
