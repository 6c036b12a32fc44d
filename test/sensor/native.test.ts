import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MacsensorError } from "../../src/errors.js";
import { createLinuxBackend } from "../../src/sensor/linuxBackend.js";
import { defaultAddonPaths, loadNative, NativeAddonError } from "../../src/sensor/native.js";

const dir = mkdtempSync(join(tmpdir(), "macsensor-native-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadNative", () => {
  it("loads the built addon from build/Release", () => {
    expect(defaultAddonPaths()[0]).toMatch(/build\/Release\/macsensor\.node$/);
    const binding = loadNative();
    expect(binding.abiVersion).toBe(1);
    if (process.platform === "linux") expect(typeof binding.startLinux).toBe("function");
  });

  it("names every path tried and says to build when the addon is missing", () => {
    const paths = [join(dir, "nope", "Release.node"), join(dir, "nope", "Debug.node")];
    let error: unknown;
    try {
      loadNative(paths);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeAddonError);
    expect(error).toBeInstanceOf(MacsensorError);
    const err = error as NativeAddonError;
    expect(err.attempts).toEqual(paths.map((path) => ({ path, reason: "not found" })));
    expect(err.message).toContain(`${paths[0]}: not found`);
    expect(err.message).toContain(`${paths[1]}: not found`);
    expect(err.message).toMatch(/not built\. Build it: npm rebuild/);
  });

  it("reports why a file that is not a loadable addon failed, with this Node's ABI", () => {
    const bogus = join(dir, "bogus.node");
    writeFileSync(bogus, "not an ELF file\n");
    expect(() => loadNative([bogus])).toThrow(NativeAddonError);
    try {
      loadNative([bogus]);
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain(bogus);
      expect(message).toMatch(/invalid ELF header|not a valid|file too short/i);
      expect(message).toContain(`ABI ${process.versions.modules}`);
    }
  });
});

describe("createLinuxBackend errors", () => {
  it("says when the addon has no Linux backend", async () => {
    const backend = createLinuxBackend({ binding: { abiVersion: 1 } });
    await expect(backend.start(() => {})).rejects.toThrow(/no Linux backend/);
  });

  it.runIf(process.platform === "linux")("without root, says the process connector needs root", () => {
    // A child running as nobody (no CAP_NET_ADMIN) tries to start the backend. It loads a copy of the addon from
    // a folder it can read: the checkout itself may sit in a private (0700) folder, as CI's clone does.
    const shared = mkdtempSync(join(tmpdir(), "macsensor-addon-"));
    chmodSync(shared, 0o755);
    const addon = join(shared, "macsensor.node");
    copyFileSync(defaultAddonPaths()[0], addon);
    chmodSync(addon, 0o644);
    const script = `
      const b = require(${JSON.stringify(addon)});
      try { b.startLinux({}, () => {}); console.log("started"); } catch (e) { console.log(e.message); }`;
    const r = spawnSync(process.execPath, ["-e", script], { uid: 65534, gid: 65534, encoding: "utf8", cwd: "/" });
    rmSync(shared, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("the Linux process connector needs root (CAP_NET_ADMIN)");
  });

  it.runIf(process.platform === "linux" && process.getuid?.() === 0 && existsSync("/usr/bin/unshare"))(
    "in a container (another PID namespace), says the process connector would stay silent",
    () => {
      const addon = defaultAddonPaths()[0];
      const script = `
        const b = require(${JSON.stringify(addon)});
        try { b.startLinux({}, () => {}); console.log("started"); } catch (e) { console.log(e.message); }`;
      const r = spawnSync("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", process.execPath, "-e", script], {
        encoding: "utf8",
      });
      expect(r.stdout.trim()).toMatch(/^the Linux process connector reports only to the host's initial namespaces, .* PID namespace/);
    },
  );

  it.runIf(process.platform === "linux")("rejects bad options with the option's name", () => {
    const binding = loadNative();
    expect(() => binding.startLinux!({ queueCapacity: 0 }, () => {})).toThrow(/queueCapacity must be an integer from 1/);
    expect(() => binding.startLinux!({ holdMs: 60_001 }, () => {})).toThrow(/holdMs must be an integer from 0 to 60000, got 60001/);
    expect(() => binding.startLinux!({ holdMs: -1 }, () => {})).toThrow(/holdMs must be an integer from 0 to 60000/);
    const handle = binding.startLinux!({}, () => {});
    try {
      const none = { argEquals: [], argContains: [], executableBasename: [] };
      expect(() => handle.setRelevance({ kinds: ["exec", "spawn"] as never, execPrefilter: null })).toThrow(/unknown event kind "spawn"/);
      expect(() => handle.setRelevance({ kinds: "exec" as never, execPrefilter: null })).toThrow(/kinds must be an array/);
      expect(() => handle.setRelevance({ kinds: ["exec"], execPrefilter: { ...none, argEquals: ["é"] } })).toThrow(/not ASCII/);
      expect(() => handle.setRelevance({ kinds: ["exec"], execPrefilter: { ...none, other: [] } as never })).toThrow(/unknown key "other"/);
      expect(() => handle.setRelevance({ kinds: ["exec", "fork", "exit"], execPrefilter: none })).not.toThrow();
      // The file kinds the rules' relevance spec names once file rules are loaded.
      expect(() => handle.setRelevance({ kinds: ["open", "create", "modify", "rename", "delete"], execPrefilter: null })).not.toThrow();
      const notAHandle = { setRelevance: handle.setRelevance };
      expect(() => notAHandle.setRelevance({ kinds: [], execPrefilter: null })).toThrow(/expected a handle returned by startLinux/);
    } finally {
      handle.stop();
    }
    expect(() => binding.startLinux!({ ignorePids: ["x" as unknown as number] }, () => {})).toThrow(/ignorePids\[0\]/);
    const notAHandle = { stop: () => ({}), stats: () => ({}), lastError: () => undefined } as never;
    expect(() => binding.stopLinux!(notAHandle)).toThrow(/expected a handle returned by startLinux/);
    expect(() => binding.linuxStats!(notAHandle)).toThrow(/expected a handle returned by startLinux/);
  });
});

