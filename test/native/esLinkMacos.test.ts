// native/check-macos.sh --link: the universal Mach-O addon. It links against a real macOS SDK where one is here
// ($MACSENSOR_MACOS_SDK, else the 13.3 SDK at /work/sdk/macos13/root, whose headers compile the macOS 13+
// branches, else the 12.0 one at /work/sdk/root; the last two never in CI), else against the sysroot
// native/macos-ci-sysroot.sh assembles from npm and Debian packages (as in CI, where no Apple SDK may be used).
// The result must be one file with an arm64 and an x86_64 slice, each a Mach-O bundle whose undefined symbols
// are Node-API's (looked up in Node at load time) or bound to libc++, libSystem, libEndpointSecurity or libbsm,
// and nothing else.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { MH_BUNDLE, foreignSymbols, readMachO, type MachOSlice } from "./machO.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// CI (CI=true) always links against the assembled sysroot, even on a machine that has an SDK lying around: that
// run is what shows the addon can be built from packages alone.
const localSdks = process.env.CI === "true" ? [] : ["/work/sdk/macos13/root", "/work/sdk/root"];
const realSdk = [process.env.MACSENSOR_MACOS_SDK, ...localSdks].find((p) => p && existsSync(p));
const ALLOWED = ["libc++.1.dylib", "libSystem.B.dylib", "libEndpointSecurity.dylib", "libbsm.0.dylib"];

describe("foreignSymbols", () => {
  const slice = (undefinedSymbols: MachOSlice["undefinedSymbols"]): MachOSlice => ({
    cpu: "arm64",
    fileType: MH_BUNDLE,
    dylibs: ["/usr/lib/libSystem.B.dylib", "/usr/lib/libfoo.dylib"],
    undefinedSymbols,
  });

  it("accepts Node-API looked up at load time and symbols bound to allowed libraries", () => {
    const clean = slice([
      { name: "_napi_create_object", from: "dynamic-lookup" },
      { name: "_node_api_symbol_for", from: "dynamic-lookup" },
      { name: "_malloc", from: "/usr/lib/libSystem.B.dylib" },
    ]);
    expect(foreignSymbols(clean, ALLOWED)).toEqual([]);
  });

  it("names a symbol from another library, one found in no library, and Node-API bound to a library", () => {
    const dirty = slice([
      { name: "_foo", from: "/usr/lib/libfoo.dylib" },
      { name: "_es_clear_cache", from: "dynamic-lookup" },
      { name: "_napi_get_undefined", from: "/usr/lib/libSystem.B.dylib" },
    ]);
    expect(foreignSymbols(dirty, ALLOWED)).toEqual([
      "arm64: _foo comes from /usr/lib/libfoo.dylib, which is not allowed",
      "arm64: _es_clear_cache is in no allowed library (dynamic-lookup)",
      "arm64: _napi_get_undefined is bound to /usr/lib/libSystem.B.dylib, not looked up in Node at load time",
    ]);
  });
});

describe("readMachO", () => {
  it("refuses a file that is not a Mach-O, saying where", () => {
    expect(() => readMachO(Buffer.from("\x7fELF not a mach-o file at all", "latin1"), "x.node")).toThrow(
      /^x\.node: not a 64-bit little-endian Mach-O \(magic 0x464c457f\)$/,
    );
  });
});

describe(`native/check-macos.sh --link against ${realSdk ?? "the assembled CI sysroot"}`, () => {
  // Kept after the run: CI leaves the universal addon it built here.
  const addon = join(repo, ".tmp", "macos-addon", "macsensor.node");
  let link: ReturnType<typeof spawnSync>;
  let slices: MachOSlice[] = [];

  beforeAll(() => {
    let sdk = realSdk;
    if (!sdk) {
      const assembled = spawnSync("bash", [join(repo, "native", "macos-ci-sysroot.sh")], { encoding: "utf8", timeout: 600_000 });
      expect(assembled.stderr).toBe("");
      expect(assembled.status).toBe(0);
      sdk = String(assembled.stdout).trim();
    }
    rmSync(addon, { force: true });
    const { MACSENSOR_MACOS_SDK: _ignored, ...env } = process.env;
    link = spawnSync("bash", [join(repo, "native", "check-macos.sh"), "--link", "--out", addon, sdk], {
      encoding: "utf8",
      env,
      timeout: 900_000,
    });
    if (link.status === 0) slices = readMachO(readFileSync(addon), addon);
  }, 1_200_000);

  it("compiles and links both targets without a warning", () => {
    expect(link.stderr).toBe("");
    expect(link.status).toBe(0);
    expect(link.stdout).toContain(`check-macos: universal addon ${addon}`);
  });

  it("writes one universal file with an arm64 and an x86_64 slice, each a Mach-O bundle", () => {
    expect(slices.map((s) => s.cpu).sort()).toEqual(["arm64", "x86_64"]);
    for (const s of slices) expect(s.fileType).toBe(MH_BUNDLE);
  });

  it("loads only libc++, libSystem, libEndpointSecurity and libbsm, and takes every symbol from them or Node", () => {
    for (const s of slices) {
      expect(s.dylibs.map((d) => d.slice(d.lastIndexOf("/") + 1)).sort()).toEqual([...ALLOWED].sort());
      expect(foreignSymbols(s, ALLOWED)).toEqual([]);
      // The link really resolved the ES and libbsm calls (not all through dynamic lookup).
      const from = new Map(s.undefinedSymbols.map((u) => [u.name, u.from]));
      expect(from.get("_es_new_client")).toBe("/usr/lib/libEndpointSecurity.dylib");
      expect(from.get("_audit_token_to_pid")).toBe("/usr/lib/libbsm.0.dylib");
      expect(from.get("_napi_add_env_cleanup_hook")).toBe("dynamic-lookup");
    }
  });
});
