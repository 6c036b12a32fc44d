import { chmodSync, chownSync, lchownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkTrustedPath, checkTrustedRulePaths, loadConfig, UntrustedPathError } from "../../src/config/index.js";
import { trustedTempDir } from "./trustedTemp.js";

const root = trustedTempDir("trust-");
afterAll(() => rmSync(root, { recursive: true, force: true }));
const isRoot = process.geteuid?.() === 0;

let n = 0;
/** A fresh trusted folder with one file in it. */
function setup(content = 'backend = "auto"\n'): { dir: string; file: string } {
  const dir = join(root, `case${n++}`);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const file = join(dir, "config.toml");
  writeFileSync(file, content);
  chmodSync(file, 0o644);
  return { dir, file };
}

function refusal(fn: () => unknown): UntrustedPathError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UntrustedPathError) return e;
    throw e;
  }
  throw new Error("expected an UntrustedPathError");
}

describe("checkTrustedPath", () => {
  it("accepts a file and folders only root (or the running user) can change", () => {
    const { file } = setup();
    expect(checkTrustedPath(file, { env: {} })).toEqual([]);
  });

  it("refuses a group-writable file and says which path and why", () => {
    const { file } = setup();
    chmodSync(file, 0o664);
    const e = refusal(() => checkTrustedPath(file, { env: {} }));
    expect(e.offender).toBe(file);
    expect(e.message).toMatch(new RegExp(`^refusing to load ${file}: it is writable by its group, gid \\d+ \\(mode 0664\\)`));
    expect(e.message).toContain("MACSENSOR_DEV=1");
  });

  it("refuses a world-writable file", () => {
    const { file } = setup();
    chmodSync(file, 0o646);
    expect(refusal(() => checkTrustedPath(file, { env: {} })).why).toBe("is writable by others (mode 0646)");
  });

  it("refuses a file in a group-writable folder, naming the folder", () => {
    const { dir, file } = setup();
    chmodSync(dir, 0o775);
    const e = refusal(() => checkTrustedPath(file, { env: {} }));
    expect(e.offender).toBe(dir);
    expect(e.message).toContain(`refusing to load ${file}: ${dir} is writable by its group`);
  });

  it("refuses /tmp itself (world-writable, even with the sticky bit)", () => {
    expect(refusal(() => checkTrustedPath("/tmp", { env: {} })).why).toMatch(/^is writable by others \(mode 1777\)/);
  });

  it.runIf(process.geteuid?.() === 0)("accepts a root-owned sticky folder as an ancestor, but not a plain world-writable one", () => {
    const { dir } = setup();
    const sticky = join(dir, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const own = join(sticky, "mine");
    mkdirSync(own, { mode: 0o700 });
    const file = join(own, "rules.toml");
    writeFileSync(file, "", { mode: 0o644 });
    expect(checkTrustedPath(file, { env: {} })).toEqual([]);
    chmodSync(sticky, 0o777);
    expect(refusal(() => checkTrustedPath(file, { env: {} })).offender).toBe(sticky);
  });

  it("checks what a symbolic link points to", () => {
    const { dir: bad, file: target } = setup();
    chmodSync(bad, 0o777);
    const { dir } = setup();
    const link = join(dir, "linked.toml");
    symlinkSync(target, link);
    const e = refusal(() => checkTrustedPath(link, { env: {} }));
    expect(e.offender).toBe(bad);
    expect(e.why).toContain(`(target of ${link}) is writable by others`);
  });

  it("checks everything under a rule folder when recursive", () => {
    const { dir } = setup();
    mkdirSync(join(dir, "macos", "deep"), { recursive: true, mode: 0o755 });
    chmodSync(join(dir, "macos"), 0o755);
    chmodSync(join(dir, "macos", "deep"), 0o755);
    const rule = join(dir, "macos", "deep", "rule.toml");
    writeFileSync(rule, "");
    chmodSync(rule, 0o644);
    expect(checkTrustedPath(dir, { recursive: true, env: {} })).toEqual([]);
    chmodSync(rule, 0o666);
    expect(checkTrustedPath(dir, { env: {} })).toEqual([]);
    expect(refusal(() => checkTrustedPath(dir, { recursive: true, env: {} })).offender).toBe(rule);
  });

  it("walks a rule folder without following links, so links out of it, `..` and loops end the walk", () => {
    const { dir } = setup();
    const { dir: loose } = setup();
    chmodSync(loose, 0o777);
    symlinkSync("..", join(dir, "up"));
    symlinkSync(".", join(dir, "here"));
    symlinkSync("b.toml", join(dir, "a.toml"));
    symlinkSync("a.toml", join(dir, "b.toml"));
    symlinkSync("self", join(dir, "self"));
    symlinkSync("missing.toml", join(dir, "broken.toml"));
    // Not loaded (the loader follows no link out of the folder), so its target is not the folder's to answer for.
    symlinkSync(loose, join(dir, "outside"));
    expect(checkTrustedPath(dir, { recursive: true, env: {} })).toEqual([]);
  });

  it("checks a file a link inside the rule folder leads to, as an entry of the folder", () => {
    const { dir } = setup();
    mkdirSync(join(dir, "data"), { mode: 0o755 });
    chmodSync(join(dir, "data"), 0o755);
    const target = join(dir, "data", "rule.txt");
    writeFileSync(target, "");
    chmodSync(target, 0o646);
    symlinkSync(join("data", "rule.txt"), join(dir, "linked.toml"));
    const e = refusal(() => checkTrustedPath(dir, { recursive: true, env: {} }));
    expect([e.offender, e.why]).toEqual([target, "is writable by others (mode 0646)"]);
  });

  it("checkTrustedRulePaths checks every rule path, each recursively", () => {
    const { dir: first } = setup();
    const { dir: second } = setup();
    mkdirSync(join(second, "deep"), { mode: 0o755 });
    chmodSync(join(second, "deep"), 0o755);
    const rule = join(second, "deep", "late.toml");
    writeFileSync(rule, "");
    chmodSync(rule, 0o666);
    expect(checkTrustedRulePaths([first], { env: {} })).toEqual([]);
    expect(refusal(() => checkTrustedRulePaths([first, second], { env: {} })).offender).toBe(rule);
    expect(checkTrustedRulePaths([first, second], { relax: true, env: {} })).toEqual([
      `permission check relaxed (development): ${rule} is writable by others (mode 0666)`,
    ]);
  });

  it("checkTrustedRulePaths names a rule path it cannot check (missing, a link loop) in a plain error", () => {
    const { dir } = setup();
    symlinkSync("self", join(dir, "self"));
    expect(() => checkTrustedRulePaths([join(dir, "missing")], { env: {} })).toThrow(`cannot check the rule path ${join(dir, "missing")}: no such file or folder`);
    expect(() => checkTrustedRulePaths([join(dir, "self")], { env: {} })).toThrow(`cannot check the rule path ${join(dir, "self")}: symbolic link loop (ELOOP)`);
  });

  it("relaxes to warnings in development (option or MACSENSOR_DEV=1)", () => {
    const { file } = setup();
    chmodSync(file, 0o666);
    const warning = [`permission check relaxed (development): ${file} is writable by others (mode 0666)`];
    expect(checkTrustedPath(file, { relax: true, env: {} })).toEqual(warning);
    expect(checkTrustedPath(file, { env: { MACSENSOR_DEV: "1" } })).toEqual(warning);
    expect(() => checkTrustedPath(file, { env: { MACSENSOR_DEV: "0" } })).toThrow(UntrustedPathError);
  });

  it("throws the fs error for a missing path", () => {
    expect(() => checkTrustedPath(join(root, "missing"), { env: {} })).toThrow(/ENOENT/);
  });

  describe.runIf(isRoot)("ownership (needs root to give files away)", () => {
    it("refuses a file owned by another user", () => {
      const { file } = setup();
      chownSync(file, 1234, 1234);
      const e = refusal(() => checkTrustedPath(file, { env: {} }));
      expect(e.why).toBe("is owned by uid 1234, not root");
    });

    it("refuses a file in a folder owned by another user", () => {
      const { dir, file } = setup();
      chownSync(dir, 1234, 0);
      expect(refusal(() => checkTrustedPath(file, { env: {} })).offender).toBe(dir);
    });

    it("accepts a folder writable by macOS's admin group on darwin only", () => {
      const { dir, file } = setup();
      chownSync(dir, 0, 80);
      chmodSync(dir, 0o775);
      expect(checkTrustedPath(file, { env: {}, platform: "darwin" })).toEqual([]);
      expect(refusal(() => checkTrustedPath(file, { env: {}, platform: "linux" })).why).toBe("is writable by its group, gid 80 (mode 0775)");
      chownSync(dir, 0, 81);
      expect(refusal(() => checkTrustedPath(file, { env: {}, platform: "darwin" })).offender).toBe(dir);
    });

    it("refuses a link in a rule folder owned by another user, wherever it points", () => {
      const { dir } = setup();
      const link = join(dir, "up");
      symlinkSync("..", link);
      lchownSync(link, 1234, 1234);
      expect(refusal(() => checkTrustedPath(dir, { recursive: true, env: {} })).offender).toBe(link);
    });

    it("refuses a symbolic link owned by another user even when its target is fine", () => {
      const { file } = setup();
      const { dir } = setup();
      const link = join(dir, "link.toml");
      symlinkSync(file, link);
      chownSync(dir, 0, 0);
      // lchown: the link itself changes owner
      lchownSync(link, 1234, 1234);
      expect(refusal(() => checkTrustedPath(link, { env: {} })).why).toBe("is owned by uid 1234, not root");
    });
  });
});

describe("loadConfig refuses untrusted configuration", () => {
  it("refuses a group-writable config file", () => {
    const { file } = setup();
    chmodSync(file, 0o664);
    expect(() => loadConfig({ platform: "linux", configFile: file, managedFile: null, env: {} })).toThrow(UntrustedPathError);
  });

  it("refuses untrusted managed preferences", () => {
    const { file } = setup();
    const { dir } = setup();
    const managed = join(dir, "com.macsensor.agent.plist");
    writeFileSync(managed, `<plist version="1.0"><dict/></plist>`);
    chmodSync(managed, 0o666);
    expect(() => loadConfig({ platform: "linux", configFile: file, managedFile: managed, env: {} })).toThrow(
      `refusing to load ${managed}: it is writable by others`,
    );
  });

  it("does not let an untrusted file relax its own check", () => {
    const { file } = setup("development.relax_permissions = true\n");
    chmodSync(file, 0o666);
    expect(() => loadConfig({ platform: "linux", configFile: file, managedFile: null, env: {} })).toThrow(UntrustedPathError);
  });

  it("loads it with a warning in development mode, and the file can relax the rules check", () => {
    const { file } = setup("development.relax_permissions = true\n");
    chmodSync(file, 0o666);
    const r = loadConfig({ platform: "linux", configFile: file, managedFile: null, env: { MACSENSOR_DEV: "1" } });
    expect(r.warnings).toEqual([`permission check relaxed (development): ${file} is writable by others (mode 0666)`]);
    expect(r.config.development.relaxPermissions).toBe(true);
  });
});
