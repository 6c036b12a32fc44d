/**
 * The live agent (Linux, as root) following a changed MDM profile without a restart, and telling the user on their
 * terminal when a rule stops their program: the managed preferences switch a rule from report to kill; the next
 * matching program, run on a pseudo-terminal (`script`), is killed, alerted as killed, and its terminal shows the line.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleToml } from "../helpers/ruleToml.js";
import { readNdjson, spawnAgent, waitFor, waitForLinuxStart, type Agent } from "./liveAgent.js";

const isRoot = process.geteuid?.() === 0;
const RULE_ID = "3d5f0a7e-1c2b-4e8f-9a6d-7b8c9d0e1f23";

const managedPlist = (actions: Record<string, string>): string =>
  `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>actions</key><dict>${Object.entries(actions)
    .map(([id, action]) => `<key>${id}</key><string>${action}</string>`)
    .join("")}</dict></dict></plist>\n`;

describe.runIf(isRoot && process.platform === "linux")("macsensor run: managed preferences applied live, and the terminal notice (live, as root)", () => {
  let dir: string;
  let agent: Agent;
  let managed: string;
  let alerts: string;
  let opsLog: string;
  let program: string;

  /** Replaces the file the way macOS does: a new file renamed over the old one. */
  const replaceManaged = (actions: Record<string, string>): void => {
    writeFileSync(`${managed}.new`, managedPlist(actions));
    renameSync(`${managed}.new`, managed);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "macsensor-managed-"));
    const rules = join(dir, "rules");
    spawnSync("mkdir", ["-p", rules]);
    writeFileSync(
      join(rules, "stop.toml"),
      ruleToml(RULE_ID, 'process where event.action == "exec" and process.name == "stopme"', { name: "Stop-me program (test)", severity: "high" }),
    );
    program = join(dir, "stopme");
    writeFileSync(join(dir, "stopme.c"), "#include <unistd.h>\nint main(void) { sleep(5); return 0; }\n");
    const cc = spawnSync("cc", ["-O2", "-o", program, join(dir, "stopme.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    managed = join(dir, "com.macsensor.agent.plist");
    writeFileSync(managed, managedPlist({}));
    alerts = join(dir, "alerts.ndjson");
    opsLog = join(dir, "macsensor.log");
    agent = spawnAgent(
      ["run", "--backend", "linux", "--rules", rules, "--alerts", alerts, "--log", opsLog, "--managed", managed],
      { ...process.env, MACSENSOR_DEV: "1", MACSENSOR_PID_FILE: join(dir, "pid"), MACSENSOR_CONFIG: "" },
    );
    await waitForLinuxStart(agent);
  });

  afterAll(() => {
    if (agent?.child.exitCode === null) agent.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports at first; after the profile says kill, kills the next one, says so in the alert and on its terminal", async () => {
    spawnSync(program, [], { timeout: 100 }); // the report-only run (killed by our timeout, not the agent)
    const reported = await waitFor("the report alert", () => readNdjson(alerts).find((a) => a.rule?.id === RULE_ID), 20_000);
    expect(reported.macsensor.response).toMatchObject({ action: "report", result: "success" });

    replaceManaged({ [RULE_ID]: "kill" });
    await waitFor("the profile applied", () => readNdjson(opsLog).find((r) => r.message === "managed preferences applied"), 20_000);
    expect(agent.stderr()).toContain(`managed preferences changed: applied actions.${RULE_ID}`);

    // The program on a pseudo-terminal: what the agent writes to that terminal comes out on script's stdout.
    const onTty = spawn("script", ["-qfec", program, "/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
    let terminal = "";
    onTty.stdout.on("data", (d: Buffer) => (terminal += d.toString()));
    const exit = new Promise<number | null>((resolve) => onTty.on("exit", (code) => resolve(code)));
    const killed = await waitFor("the kill alert", () => readNdjson(alerts).slice(1).find((a) => a.rule?.id === RULE_ID), 20_000);
    expect(killed.macsensor.response).toMatchObject({ action: "kill", result: "success" });
    await waitFor("the terminal notice", () => (terminal.includes("Stop-me program (test)") ? true : undefined), 20_000);
    expect(terminal).toContain(`macsensor killed running ${program} (rule: Stop-me program (test)). If you need this, contact your IT help desk.`);
    // script -e exits with the program's status: 128 + SIGKILL, not the 0 of a program that ran its 5 seconds.
    expect(await exit).toBe(137);
  });

  it("a profile the agent cannot use keeps the running configuration, and says why", async () => {
    writeFileSync(`${managed}.new`, "<plist><dict><key>actions</key><string>not a table</string></dict></plist>");
    renameSync(`${managed}.new`, managed);
    await waitFor("the refusal", () => readNdjson(opsLog).find((r) => r.message === "managed preferences changed but cannot be used; the running configuration stays"), 20_000);
    expect(agent.child.exitCode).toBeNull();
  });
});
