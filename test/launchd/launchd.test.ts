import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import plist from "plist";
import { afterAll, describe, expect, it } from "vitest";
import { AGENT_HEAP_FLAGS, missingHeapFlags } from "../../src/agent/heapFlags.js";
import { checkTrustedPath, LAUNCHD_LABEL, loadConfig, PREFERENCE_DOMAIN } from "../../src/config/index.js";
import { parseXmlPlist } from "../../src/config/plist/index.js";
import { trustedTempDir } from "../config/trustedTemp.js";

const launchd = new URL("../../launchd/", import.meta.url).pathname;
const read = (rel: string): string => readFileSync(join(launchd, rel), "utf8");
type Dict = Record<string, unknown>;
/** Parsed with the independent `plist` package. */
const parse = (rel: string): Dict => plist.parse(read(rel)) as Dict;

const APP = "/Library/Application Support/macsensor/macsensor.app";
const BUNDLE_ID = "com.macsensor.agent";

const plistFiles = [
  "com.macsensor.agent.plist",
  "bundle/Info.plist",
  "bundle/entitlements.plist",
  ...readdirSync(join(launchd, "profiles")).map((f) => `profiles/${f}`),
];

describe("every plist and profile we ship", () => {
  it("includes the three MDM profiles, the PPPC one under the name the ES backend's error gives", () => {
    expect(plistFiles.filter((f) => f.startsWith("profiles/")).sort()).toEqual([
      "profiles/macsensor-background-items.mobileconfig",
      "profiles/macsensor-managed-preferences.mobileconfig",
      "profiles/macsensor-pppc.mobileconfig",
    ]);
  });

  for (const file of plistFiles) {
    it(`${file} parses with the plist package, and our reader agrees`, () => {
      const theirs = parse(file);
      expect(typeof theirs).toBe("object");
      expect(JSON.parse(JSON.stringify(parseXmlPlist(read(file), file)))).toEqual(JSON.parse(JSON.stringify(theirs)));
    });
  }
});

describe("the LaunchDaemon", () => {
  const d = parse("com.macsensor.agent.plist");

  it("runs the bundle's executable with `run`, as the label status asks launchctl about", () => {
    expect(d.Label).toBe(LAUNCHD_LABEL);
    expect(d.ProgramArguments).toEqual([`${APP}/Contents/MacOS/macsensor`, "run"]);
    expect((d.EnvironmentVariables as Dict).MACSENSOR_NATIVE_ADDON).toBe(`${APP}/Contents/Frameworks/macsensor.node`);
  });

  it("passes the agent's V8 heap flags in NODE_OPTIONS, the only flags a Node 20 single executable reads", () => {
    expect((d.EnvironmentVariables as Dict).NODE_OPTIONS).toBe(AGENT_HEAP_FLAGS.join(" "));
    expect(missingHeapFlags([], (d.EnvironmentVariables as Dict).NODE_OPTIONS as string)).toEqual([]);
  });

  it("starts at load, restarts always with throttling, and is an Interactive process", () => {
    expect(d.RunAtLoad).toBe(true);
    expect(d.KeepAlive).toBe(true);
    expect(d.ThrottleInterval).toBeGreaterThanOrEqual(5);
    expect(d.ProcessType).toBe("Interactive");
    expect(d.ExitTimeOut).toBeGreaterThanOrEqual(10);
    expect(d.Umask).toBe(0o027);
  });

  it("logs stderr under /Library/Logs/macsensor and names its bundle for Login Items", () => {
    expect(d.StandardErrorPath).toBe("/Library/Logs/macsensor/stderr.log");
    expect(d.AssociatedBundleIdentifiers).toEqual([BUNDLE_ID]);
  });
});

describe("the app bundle files", () => {
  it("Info.plist names the bundle and the executable launchd runs", () => {
    const info = parse("bundle/Info.plist");
    expect(info.CFBundleIdentifier).toBe(BUNDLE_ID);
    expect(info.CFBundleExecutable).toBe("macsensor");
    expect(info.CFBundlePackageType).toBe("APPL");
    expect(info.LSMinimumSystemVersion).toMatch(/^1[3-9]\./);
  });

  it("entitlements carry the Endpoint Security client entitlement and JIT for V8, nothing weakening", () => {
    const e = parse("bundle/entitlements.plist");
    expect(e["com.apple.developer.endpoint-security.client"]).toBe(true);
    expect(e["com.apple.security.cs.allow-jit"]).toBe(true);
    expect(e["com.apple.security.cs.disable-library-validation"]).toBeUndefined();
    expect(e["com.apple.security.get-task-allow"]).toBeUndefined();
  });

  it("the SEA config and build recipe agree on the blob and the sentinel fuse", () => {
    const sea = JSON.parse(read("bundle/sea-config.json")) as Dict;
    const build = read("build-pkg.sh");
    expect([sea.main, sea.output]).toEqual(["build/sea/macsensor.cjs", "build/sea/sea-prep.blob"]);
    expect(build).toContain('SEA="$REPO/build/sea"');
    expect(build).toContain('--outfile="$SEA/macsensor.cjs"');
    expect(build).toContain('NODE_SEA_BLOB "$SEA/sea-prep.blob"');
    expect(build).toContain("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2");
    expect(build).toMatch(/codesign --force --options runtime --timestamp --sign "\$APP_IDENTITY" "\$APP\/Contents\/Frameworks\/macsensor.node"/);
    expect(build).toContain('--entitlements "$LAUNCHD/bundle/entitlements.plist"');
    expect(build).toContain("embedded.provisionprofile");
    expect(build).toMatch(/pkgbuild .*--scripts "\$LAUNCHD\/scripts"/);
    expect(build).toContain("BundleIsRelocatable -bool NO");
    expect(build).toContain("xcrun notarytool submit");
    expect(build).toContain("xcrun stapler staple");
  });
});

function payload(file: string, type: string): Dict {
  const profile = parse(file);
  expect(profile.PayloadType).toBe("Configuration");
  expect(profile.PayloadScope).toBe("System");
  const found = (profile.PayloadContent as Dict[]).filter((p) => p.PayloadType === type);
  expect(found).toHaveLength(1);
  return found[0];
}

describe("MDM profiles", () => {
  const uuid = /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

  it("have well-formed, distinct payload UUIDs and identifiers", () => {
    const uuids: string[] = [];
    const ids: string[] = [];
    for (const f of plistFiles.filter((p) => p.startsWith("profiles/"))) {
      const profile = parse(f);
      for (const p of [profile, ...(profile.PayloadContent as Dict[])]) {
        expect(p.PayloadUUID).toMatch(uuid);
        expect(p.PayloadVersion).toBe(1);
        uuids.push(p.PayloadUUID as string);
        ids.push(p.PayloadIdentifier as string);
      }
    }
    expect(new Set(uuids).size).toBe(uuids.length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("PPPC grants Full Disk Access to the bundle, pinned by its code requirement", () => {
    const p = payload("profiles/macsensor-pppc.mobileconfig", "com.apple.TCC.configuration-profile-policy");
    const grants = (p.Services as Dict).SystemPolicyAllFiles as Dict[];
    expect(grants).toHaveLength(1);
    const g = grants[0];
    expect(g.Identifier).toBe(BUNDLE_ID);
    expect(g.IdentifierType).toBe("bundleID");
    expect(g.Authorization).toBe("Allow");
    expect(g.StaticCode).toBe(false);
    expect(g.CodeRequirement).toContain(`identifier "${BUNDLE_ID}"`);
    expect(g.CodeRequirement).toContain("anchor apple generic");
    expect(g.CodeRequirement).toContain('certificate leaf[subject.OU] = "TEAMID1234"');
  });

  it("managed preferences hold settings our loader accepts without a warning", () => {
    const p = payload("profiles/macsensor-managed-preferences.mobileconfig", "com.apple.ManagedClient.preferences");
    const domain = (p.PayloadContent as Dict)[PREFERENCE_DOMAIN] as Dict;
    const settings = (domain.Forced as Dict[])[0].mcx_preference_settings as Dict;
    const dir = trustedTempDir("mcx-");
    try {
      // What macOS writes to /Library/Managed Preferences/com.macsensor.agent.plist from this payload.
      const managedFile = join(dir, `${PREFERENCE_DOMAIN}.plist`);
      writeFileSync(managedFile, plist.build(settings as plist.PlistObject));
      const empty = join(dir, "empty.toml");
      writeFileSync(empty, "");
      const r = loadConfig({ platform: "darwin", configFile: empty, managedFile, env: {} });
      expect(r.warnings).toEqual([]);
      expect(r.settings["auth.fail_mode"].source).toBe("managed");
      expect(r.config.actions["00000000-0000-4000-8000-000000000000"]).toBe("block");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("background-item approval matches the Team ID, the bundle and the launchd label", () => {
    const p = payload("profiles/macsensor-background-items.mobileconfig", "com.apple.servicemanagement");
    const rules = (p.Rules as Dict[]).map((r) => [r.RuleType, r.RuleValue]);
    expect(rules).toEqual([
      ["TeamIdentifier", "TEAMID1234"],
      ["BundleIdentifier", BUNDLE_ID],
      ["Label", LAUNCHD_LABEL],
    ]);
  });
});

describe("the sample config.toml", () => {
  it("loads without a warning and says exactly the macOS defaults", () => {
    const dir = trustedTempDir("sample-");
    try {
      const file = join(dir, "config.toml");
      writeFileSync(file, read("config.toml"));
      const r = loadConfig({ platform: "darwin", configFile: file, managedFile: null, env: {} });
      expect(r.warnings).toEqual([]);
      writeFileSync(join(dir, "empty.toml"), "");
      const defaults = loadConfig({ platform: "darwin", configFile: join(dir, "empty.toml"), managedFile: null, env: {} });
      expect(r.config).toEqual(defaults.config);
      expect(Object.values(r.settings).every((s) => s.source === "file")).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const scripts = ["install.sh", "uninstall.sh", "build-pkg.sh", "scripts/preinstall", "scripts/postinstall"];

describe("shell scripts", () => {
  for (const s of scripts) {
    it(`${s} is executable and passes bash -n and shellcheck`, () => {
      expect(statSync(join(launchd, s)).mode & 0o111).toBe(0o111);
      const syntax = spawnSync("bash", ["-n", join(launchd, s)], { encoding: "utf8" });
      expect(syntax.stderr).toBe("");
      expect(syntax.status).toBe(0);
      const lint = spawnSync("shellcheck", ["--shell=bash", join(launchd, s)], { encoding: "utf8" });
      expect(lint.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
      expect(lint.stdout).toBe("");
      expect(lint.status).toBe(0);
    });
  }
});

describe("install.sh and uninstall.sh in a staged root", () => {
  const work = trustedTempDir("install-");
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, "root");
  const calls = join(work, "launchctl.calls");
  const state = join(work, "launchctl.loaded");
  const isRoot = process.geteuid?.() === 0;

  // A launchctl stand-in: records each call; `print` succeeds while the job is "loaded".
  const fakeLaunchctl = join(work, "launchctl");
  writeFileSync(
    fakeLaunchctl,
    `#!/bin/bash\necho "$*" >> '${calls}'\ncase "$1" in\n  print) [ -e '${state}' ] ;;\n  bootstrap) touch '${state}' ;;\n` +
      `  bootout) rm -f '${state}' ;;\nesac\n`,
  );
  chmodSync(fakeLaunchctl, 0o755);

  // A minimal built bundle, as build-pkg.sh lays it out.
  const bundle = join(work, "macsensor.app");
  mkdirSync(join(bundle, "Contents", "MacOS"), { recursive: true });
  mkdirSync(join(bundle, "Contents", "Frameworks"), { recursive: true });
  mkdirSync(join(bundle, "Contents", "Resources", "rules", "macos"), { recursive: true });
  writeFileSync(join(bundle, "Contents", "MacOS", "macsensor"), "#!/bin/sh\n", { mode: 0o700 });
  writeFileSync(join(bundle, "Contents", "Frameworks", "macsensor.node"), "", { mode: 0o600 });
  writeFileSync(join(bundle, "Contents", "Info.plist"), read("bundle/Info.plist"), { mode: 0o666 });
  writeFileSync(join(bundle, "Contents", "Resources", "com.macsensor.agent.plist"), read("com.macsensor.agent.plist"));
  writeFileSync(join(bundle, "Contents", "Resources", "config.toml"), read("config.toml"));
  writeFileSync(join(bundle, "Contents", "Resources", "rules", "macos", "a.toml"), "# rule\n", { mode: 0o666 });

  const run = (script: string, args: string[]) =>
    spawnSync("bash", [join(launchd, script), ...args], { encoding: "utf8", env: { ...process.env, LAUNCHCTL: fakeLaunchctl } });
  const mode = (p: string): string => (statSync(join(root, p)).mode & 0o7777).toString(8).padStart(4, "0");
  const support = "Library/Application Support/macsensor";

  it("installs every path with its documented owner and mode, and bootstraps the daemon", () => {
    const r = run("install.sh", ["--bundle", bundle, "--root", root, "--load"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(mode(support)).toBe("0755");
    expect(mode(`${support}/macsensor.app/Contents/MacOS/macsensor`)).toBe("0755");
    expect(mode(`${support}/macsensor.app/Contents/Frameworks/macsensor.node`)).toBe("0644");
    expect(mode(`${support}/macsensor.app/Contents/Info.plist`)).toBe("0644");
    expect(mode(`${support}/config.toml`)).toBe("0644");
    expect(mode(`${support}/rules`)).toBe("0755");
    expect(mode(`${support}/rules/macsensor/macos/a.toml`)).toBe("0644");
    expect(mode("Library/LaunchDaemons/com.macsensor.agent.plist")).toBe("0644");
    expect(mode("Library/Logs/macsensor")).toBe("0750");
    expect(readlinkSync(join(root, "usr/local/bin/macsensor"))).toBe(`${APP}/Contents/MacOS/macsensor`);
    if (isRoot) {
      for (const p of [support, `${support}/config.toml`, `${support}/macsensor.app/Contents/MacOS/macsensor`, "Library/Logs/macsensor"]) {
        expect([p, statSync(join(root, p)).uid, statSync(join(root, p)).gid]).toEqual([p, 0, 0]);
      }
    }
    // What install.sh produced passes the agent's own permission check.
    expect(checkTrustedPath(join(root, support, "config.toml"), { env: {} })).toEqual([]);
    expect(checkTrustedPath(join(root, support, "rules"), { recursive: true, env: {} })).toEqual([]);
    expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
      `print system/${LAUNCHD_LABEL}`,
      `enable system/${LAUNCHD_LABEL}`,
      `bootstrap system ${root}/Library/LaunchDaemons/com.macsensor.agent.plist`,
    ]);
  });

  it("is idempotent: a second run keeps the admin's config, repairs log modes and reloads the daemon", () => {
    writeFileSync(join(root, support, "config.toml"), 'backend = "es"\n');
    chmodSync(join(root, support, "config.toml"), 0o666);
    writeFileSync(join(root, "Library/Logs/macsensor/alerts.ndjson"), "{}\n", { mode: 0o666 });
    chmodSync(join(root, "Library/Logs/macsensor/alerts.ndjson"), 0o666);
    writeFileSync(calls, "");
    const r = run("install.sh", ["--bundle", bundle, "--root", root, "--load"]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(root, support, "config.toml"), "utf8")).toBe('backend = "es"\n');
    expect(mode(`${support}/config.toml`)).toBe("0644");
    expect(mode("Library/Logs/macsensor/alerts.ndjson")).toBe("0640");
    expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
      `print system/${LAUNCHD_LABEL}`,
      `bootout system/${LAUNCHD_LABEL}`,
      `print system/${LAUNCHD_LABEL}`,
      `enable system/${LAUNCHD_LABEL}`,
      `bootstrap system ${root}/Library/LaunchDaemons/com.macsensor.agent.plist`,
    ]);
  });

  it("leaves system folders it did not create as they are (owner and mode belong to macOS or Homebrew)", () => {
    const other = trustedTempDir("system-");
    try {
      mkdirSync(join(other, "Library", "Logs"), { recursive: true });
      mkdirSync(join(other, "usr", "local", "bin"), { recursive: true });
      chmodSync(join(other, "Library", "Logs"), 0o775);
      chmodSync(join(other, "usr", "local", "bin"), 0o775);
      if (isRoot) chownSync(join(other, "usr", "local", "bin"), 501, 80);
      expect(run("install.sh", ["--bundle", bundle, "--root", other]).status).toBe(0);
      expect((statSync(join(other, "Library", "Logs")).mode & 0o777).toString(8)).toBe("775");
      expect((statSync(join(other, "usr", "local", "bin")).mode & 0o777).toString(8)).toBe("775");
      if (isRoot) expect(statSync(join(other, "usr", "local", "bin")).uid).toBe(501);
      expect((statSync(join(other, "Library", "Logs", "macsensor")).mode & 0o777).toString(8)).toBe("750");
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("refuses a folder that is not a macsensor bundle", () => {
    const r = run("install.sh", ["--bundle", work, "--root", root]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("is not a macsensor.app");
  });

  it("uninstall keeps alert logs, config and site rules; --purge removes them; both are idempotent", () => {
    mkdirSync(join(root, support, "rules", "site"), { recursive: true });
    writeFileSync(calls, "");
    const r = run("uninstall.sh", ["--root", root]);
    expect(r.status).toBe(0);
    expect(existsSync(join(root, "Library/LaunchDaemons/com.macsensor.agent.plist"))).toBe(false);
    expect(existsSync(join(root, support, "macsensor.app"))).toBe(false);
    expect(existsSync(join(root, support, "rules", "macsensor"))).toBe(false);
    expect(existsSync(join(root, support, "rules", "site"))).toBe(true);
    expect(existsSync(join(root, support, "config.toml"))).toBe(true);
    expect(existsSync(join(root, "Library/Logs/macsensor/alerts.ndjson"))).toBe(true);
    expect(() => lstatSync(join(root, "usr/local/bin/macsensor"))).toThrow(/ENOENT/);
    expect(run("uninstall.sh", ["--root", root]).status).toBe(0);
    const purge = run("uninstall.sh", ["--root", root, "--purge"]);
    expect(purge.status).toBe(0);
    expect(existsSync(join(root, support))).toBe(false);
    expect(existsSync(join(root, "Library/Logs/macsensor"))).toBe(false);
    expect(run("uninstall.sh", ["--root", root, "--purge"]).status).toBe(0);
    // --root never talks to launchctl
    expect(readFileSync(calls, "utf8")).toBe("");
  });
});
