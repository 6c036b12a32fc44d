// The line a stopped program's user sees on their terminal, written to a real pseudo-terminal: `script` (util-linux)
// runs a shell with a pty as its controlling terminal, the shell prints the pty's name, and whatever is written to
// that pty comes out on script's stdout.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createTtyNotifier, DEFAULT_TTY_MESSAGE, formatTtyMessage } from "../../src/response/ttyNotice.js";
import { ttyPath } from "../../src/ecs/tty.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";

const execEvent = { process: { executable: "/usr/bin/security", name: "security" } } as EcsEvent;
const openEvent = { process: { executable: "/tmp/stealer" }, file: { path: "/Users/ann/Library/Keychains/login.keychain-db" } } as EcsEvent;

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe("formatTtyMessage", () => {
  it("fills in what was stopped, how, and by which rule", () => {
    expect(formatTtyMessage(DEFAULT_TTY_MESSAGE, { rule: "Keychain Dump", action: "blocked", event: execEvent })).toBe(
      "macsensor blocked running /usr/bin/security (rule: Keychain Dump). If you need this, contact your IT help desk.\r\n",
    );
    expect(formatTtyMessage("{what} was {action}", { rule: "r", action: "blocked", event: openEvent })).toBe(
      "/tmp/stealer opening /Users/ann/Library/Keychains/login.keychain-db was blocked\r\n",
    );
  });

  it("never lets an event's text drive the terminal: control characters are escaped", () => {
    const evil = { process: { executable: "/tmp/x\u001b[2J\nfake prompt$ " } } as EcsEvent;
    const line = formatTtyMessage("{what}", { rule: "r", action: "killed", event: evil });
    expect(line).not.toMatch(/\u001b|\n(?!$)/);
    expect(line.endsWith("\r\n")).toBe(true);
  });
});

describe("ttyPath", () => {
  it("names the terminal from ECS char_device numbers, per platform", () => {
    expect(ttyPath({ major: 136, minor: 3 }, "linux")).toBe("/dev/pts/3");
    expect(ttyPath({ major: 137, minor: 1 }, "linux")).toBe("/dev/pts/257");
    expect(ttyPath({ major: 16, minor: 2 }, "darwin")).toBe("/dev/ttys002");
    expect(ttyPath({ major: 8, minor: 1 }, "linux")).toBeUndefined();
    expect(ttyPath(undefined, "linux")).toBeUndefined();
  });
});

describe("createTtyNotifier", () => {
  it("writes one line to a real pseudo-terminal", async () => {
    const child = spawn("script", ["-qfec", "tty; sleep 5", "/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /\/dev\/pts\/\d+/.test(out));
      const tty = /\/dev\/pts\/\d+/.exec(out)?.[0];
      expect(tty).toBeDefined();
      const notifier = createTtyNotifier();
      notifier.notify({ tty: tty!, rule: "Keychain Dump", action: "blocked", event: execEvent });
      await waitFor(() => out.includes("contact your IT help desk"));
      expect(out).toContain("macsensor blocked running /usr/bin/security (rule: Keychain Dump). If you need this, contact your IT help desk.");
      expect(notifier.stats()).toEqual({ written: 1, lost: 0 });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses a path that is not a terminal device, and counts a terminal that cannot be opened", async () => {
    const notifier = createTtyNotifier();
    notifier.notify({ tty: "/etc/passwd", rule: "r", action: "blocked", event: execEvent });
    notifier.notify({ tty: "/dev/pts/999999", rule: "r", action: "blocked", event: execEvent });
    await waitFor(() => notifier.stats().lost === 2);
    expect(notifier.stats()).toEqual({ written: 0, lost: 2 });
  });
});
