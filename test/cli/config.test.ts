import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { trustedTempDir } from "../config/trustedTemp.js";

const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const fixtures = new URL("../fixtures/config/", import.meta.url).pathname;
const dir = trustedTempDir("cli-config-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { ...process.env, MACSENSOR_DEV: "", MACSENSOR_CONFIG: "" };
const config = (...args: string[]) => spawnSync(process.execPath, [cli, "config", ...args], { encoding: "utf8", env });

const file = join(dir, "config.toml");
copyFileSync(join(fixtures, "config.toml"), file);
chmodSync(file, 0o644);
const managed = join(dir, "managed.plist");
copyFileSync(join(fixtures, "managed.binary.plist"), managed);
chmodSync(managed, 0o644);

describe("macsensor config show", () => {
  it("prints every key with its source: managed over file over default", () => {
    const r = config("show", "--config", file, "--managed", managed);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(`Configuration file:  ${file} (toml)`);
    expect(lines[1]).toBe(`Managed preferences: ${managed} (binary plist)`);
    const row = (key: string): string[] => lines.find((l) => l.startsWith(`${key} `))!.split(/\s{2,}/);
    expect(lines[3]).toMatch(/^KEY\s+SOURCE\s+VALUE$/);
    expect(row("auth.fail_mode")).toEqual(["auth.fail_mode", "managed", '"closed"']);
    expect(row("alerts.max_bytes")).toEqual(["alerts.max_bytes", "file 17:1", "10000000"]);
    expect(row("eslogger.block_fallback")).toEqual(["eslogger.block_fallback", "default", '"kill"']);
    expect(row("actions.5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22")).toEqual(["actions.5d2c1b7e-8f8e-4a43-b1d4-3f6f6e0a9c22", "file 10:1", '"kill"']);
  });

  it("gives settings, sources and warnings as JSON", () => {
    const r = config("show", "--json", "--config", file);
    const doc = JSON.parse(r.stdout);
    expect(doc.sources).toEqual([{ kind: "file", path: file, found: true, format: "toml" }, ...(process.platform === "darwin" ? [expect.anything()] : [])]);
    expect(doc.settings["alerts.max_files"]).toEqual({ value: 5, source: "file", location: `${file}:18:1` });
    expect(doc.warnings).toEqual([]);
  });

  it("prints warnings on stderr and invalid values with their place, exit 1", () => {
    const warn = join(dir, "warn.toml");
    writeFileSync(warn, "bakend = \"es\"\n", { mode: 0o644 });
    const w = config("show", "--config", warn);
    expect(w.status).toBe(0);
    expect(w.stderr).toBe(`warning: ${warn}:1:1: unknown key bakend (did you mean backend?); ignored\n`);
    const bad = join(dir, "bad.toml");
    copyFileSync(join(fixtures, "bad.toml"), bad);
    chmodSync(bad, 0o644);
    const b = config("show", "--config", bad);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain(`${bad}:4:1: auth.fail_mode: expected one of "open", "closed", got "shut"`);
  });

  it("refuses a configuration a non-root user could change, unless MACSENSOR_DEV=1", () => {
    const loose = join(dir, "loose.toml");
    writeFileSync(loose, 'backend = "linux"\n');
    chmodSync(loose, 0o666);
    const r = config("show", "--config", loose);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`refusing to load ${loose}: it is writable by others (mode 0666)`);
    const dev = spawnSync(process.execPath, [cli, "config", "show", "--config", loose], { encoding: "utf8", env: { ...env, MACSENSOR_DEV: "1" } });
    expect(dev.status).toBe(0);
    expect(dev.stderr).toContain("permission check relaxed (development)");
  });

  it("needs the subcommand and has --help", () => {
    expect(config().status).toBe(2);
    expect(config("show", "--help").stdout).toMatch(/^Usage: macsensor config show/);
  });
});
