import { describe, expect, it } from "vitest";
import { detectHost, ecsArchitecture, parseOsRelease, systemHostFacts, type HostFactsReader } from "../../src/ecs/host.js";
import { createFileUserNames, parseColonFile } from "../../src/ecs/userNames.js";

function facts(over: Partial<HostFactsReader>, files: Record<string, string> = {}, commands: Record<string, string> = {}): HostFactsReader {
  return {
    platform: "linux",
    arch: "x64",
    hostname: "Build-01",
    kernelRelease: "6.8.0-45-generic",
    readFile: (p) => files[p],
    run: (c, a) => commands[[c, ...a].join(" ")],
    ...over,
  };
}

describe("detectHost", () => {
  it("Linux: os-release and machine-id", () => {
    const host = detectHost(
      facts({}, {
        "/etc/os-release": 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n',
        "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
      }),
    );
    expect(host).toEqual({
      id: "0123456789abcdef0123456789abcdef",
      name: "build-01",
      hostname: "Build-01",
      architecture: "x86_64",
      os: { type: "linux", name: "Ubuntu", version: "24.04", platform: "ubuntu", family: "debian", kernel: "6.8.0-45-generic", full: "Ubuntu 24.04.1 LTS" },
    });
  });

  it("macOS: sw_vers and the IOPlatformUUID", () => {
    const host = detectHost(
      facts({ platform: "darwin", arch: "arm64", hostname: "Alices-MacBook.local", kernelRelease: "24.1.0" }, {}, {
        "sw_vers -productName": "macOS\n",
        "sw_vers -productVersion": "15.1\n",
        "ioreg -rd1 -c IOPlatformExpertDevice": '  "IOPlatformSerialNumber" = "X"\n  "IOPlatformUUID" = "4C4C4544-0042-3510-8052-B7C04F4E3732"\n',
      }),
    );
    expect(host.id).toBe("4C4C4544-0042-3510-8052-B7C04F4E3732");
    expect(host.name).toBe("alices-macbook.local");
    expect(host.architecture).toBe("arm64");
    expect(host.os).toEqual({ type: "macos", name: "macOS", version: "15.1", platform: "darwin", family: "darwin", kernel: "24.1.0", full: "macOS 15.1" });
  });

  it("falls back to the host name when no id can be read", () => {
    expect(detectHost(facts({})).id).toBe("Build-01");
  });

  it("reads this machine without failing", () => {
    const host = detectHost(systemHostFacts);
    expect(host.id.length).toBeGreaterThan(0);
    expect(host.os.type).toBe(process.platform === "darwin" ? "macos" : "linux");
  });

  it("parses quoted os-release values and maps architectures", () => {
    expect(parseOsRelease("A=\"x \\\"y\\\"\"\nB='z'\n# c\n").get("A")).toBe('x "y"');
    expect(ecsArchitecture("x64")).toBe("x86_64");
    expect(ecsArchitecture("arm64")).toBe("arm64");
  });
});

describe("user names", () => {
  it("parses passwd and group files, first name wins, cached after the first read", () => {
    expect(parseColonFile("root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\n#c\nalice:x:501:20::/Users/alice:/bin/zsh\n")).toEqual(
      new Map([
        [0, "root"],
        [501, "alice"],
      ]),
    );
    let reads = 0;
    const names = createFileUserNames((p) => {
      reads++;
      return p.endsWith("passwd") ? "alice:x:501:20::/h:/bin/sh\n" : "staff:x:20:\n";
    });
    expect(names.userName(501)).toBe("alice");
    expect(names.userName(502)).toBeUndefined();
    expect(names.groupName(20)).toBe("staff");
    expect(reads).toBe(2);
  });
});

describe("system user names", () => {
  it("on macOS asks Directory Services once per id the files lack, and caches misses too", async () => {
    const { createSystemUserNames } = await import("../../src/ecs/userNames.js");
    const calls: string[] = [];
    const names = createSystemUserNames(
      "darwin",
      (cmd, args) => {
        calls.push([cmd, ...args].join(" "));
        if (cmd === "id" && args[1] === "501") return "alice\n";
        if (cmd === "dscacheutil" && args[4] === "20") return "name: staff\npassword: *\ngid: 20\n\n";
        return undefined;
      },
      { userName: (u) => (u === 0 ? "root" : undefined), groupName: () => undefined },
    );
    expect(names.userName(0)).toBe("root");
    expect(names.userName(501)).toBe("alice");
    expect(names.userName(501)).toBe("alice");
    expect(names.userName(777)).toBeUndefined();
    expect(names.userName(777)).toBeUndefined();
    expect(names.groupName(20)).toBe("staff");
    expect(calls).toEqual(["id -un 501", "id -un 777", "dscacheutil -q group -a gid 20"]);
  });

  it("elsewhere uses the files only", async () => {
    const { createSystemUserNames } = await import("../../src/ecs/userNames.js");
    const files = { userName: () => "x", groupName: () => undefined };
    expect(createSystemUserNames("linux", () => "never", files)).toBe(files);
  });
});
