import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/** host.* of every event, detected once at start-up. */
export interface EcsHost {
  id: string;
  name: string;
  hostname: string;
  architecture: string;
  os: {
    type: string;
    name: string;
    version: string;
    platform: string;
    family?: string;
    kernel?: string;
    full?: string;
  };
}

/** Where detectHost() reads facts from; tests pass their own. */
export interface HostFactsReader {
  platform: NodeJS.Platform;
  arch: string;
  hostname: string;
  /** uname -r */
  kernelRelease: string;
  /** File contents, or undefined when the file cannot be read. */
  readFile(path: string): string | undefined;
  /** A command's stdout, or undefined when it fails. */
  run(command: string, args: string[]): string | undefined;
}

export const systemHostFacts: HostFactsReader = {
  platform: process.platform,
  arch: process.arch,
  hostname: os.hostname(),
  kernelRelease: os.release(),
  readFile(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  run(command, args) {
    try {
      return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
    } catch {
      return undefined;
    }
  },
};

/** ECS host.architecture spelling of Node's process.arch. */
export function ecsArchitecture(arch: string): string {
  if (arch === "x64") return "x86_64";
  if (arch === "ia32") return "x86";
  return arch;
}

/** Parses /etc/os-release (KEY=value, values optionally quoted). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2];
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1).replace(/\\(["'\\$`])/g, "$1");
    }
    out.set(m[1], value);
  }
  return out;
}

/**
 * host.* from the running OS. Linux: /etc/os-release and /etc/machine-id. macOS: sw_vers and the IOPlatformUUID
 * (the hardware UUID, what Elastic Agent reports as host.id). host.name is the lower-case host name.
 */
export function detectHost(facts: HostFactsReader = systemHostFacts): EcsHost {
  const hostname = facts.hostname;
  const base = { name: hostname.toLowerCase(), hostname, architecture: ecsArchitecture(facts.arch) };
  if (facts.platform === "darwin") {
    const name = facts.run("sw_vers", ["-productName"])?.trim() || "macOS";
    const version = facts.run("sw_vers", ["-productVersion"])?.trim() ?? "";
    const uuid = /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(
      facts.run("ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]) ?? "",
    )?.[1];
    return {
      id: uuid ?? hostname,
      ...base,
      os: {
        type: "macos",
        name,
        version,
        platform: "darwin",
        family: "darwin",
        kernel: facts.kernelRelease,
        full: version ? `${name} ${version}` : name,
      },
    };
  }
  if (facts.platform === "linux") {
    const release = parseOsRelease(facts.readFile("/etc/os-release") ?? facts.readFile("/usr/lib/os-release") ?? "");
    const machineId = (facts.readFile("/etc/machine-id") ?? facts.readFile("/var/lib/dbus/machine-id"))?.trim();
    const id = release.get("ID") ?? "linux";
    const name = release.get("NAME") ?? "Linux";
    const version = release.get("VERSION_ID") ?? "";
    return {
      id: machineId || hostname,
      ...base,
      os: {
        type: "linux",
        name,
        version,
        platform: id,
        family: release.get("ID_LIKE")?.split(/\s+/)[0] ?? id,
        kernel: facts.kernelRelease,
        full: release.get("PRETTY_NAME") ?? (version ? `${name} ${version}` : name),
      },
    };
  }
  return {
    id: hostname,
    ...base,
    os: { type: facts.platform === "win32" ? "windows" : "unix", name: facts.platform, version: facts.kernelRelease, platform: facts.platform, kernel: facts.kernelRelease },
  };
}
