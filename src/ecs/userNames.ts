import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** uid/gid → name, cached. Unknown ids give undefined (the ECS name field is then left out). */
export interface UserNameResolver {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
}

/** Parses passwd/group style files: name:x:id:... → id → name (first name wins, as getpwuid does). */
export function parseColonFile(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 3) continue;
    const id = Number(fields[2]);
    if (Number.isInteger(id) && !out.has(id)) out.set(id, fields[0]);
  }
  return out;
}

/**
 * Reads /etc/passwd and /etc/group once, on first use. On macOS those files only hold the system accounts;
 * directory users (501 …) then have no name. `readFile` is injectable for tests.
 */
export function createFileUserNames(
  readFile: (path: string) => string | undefined = (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  paths = { passwd: "/etc/passwd", group: "/etc/group" },
): UserNameResolver {
  let users: Map<number, string> | undefined;
  let groups: Map<number, string> | undefined;
  return {
    userName(uid) {
      users ??= parseColonFile(readFile(paths.passwd) ?? "");
      return users.get(uid);
    },
    groupName(gid) {
      groups ??= parseColonFile(readFile(paths.group) ?? "");
      return groups.get(gid);
    },
  };
}

/** Runs a command and returns its stdout, or undefined when it fails. */
export type CommandRunner = (command: string, args: string[]) => string | undefined;

const runCommand: CommandRunner = (command, args) => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 2000 });
  } catch {
    return undefined;
  }
};

/**
 * The platform's lookup: /etc/passwd and /etc/group first; on macOS, ids they lack (directory users such as 501)
 * are asked of Directory Services once each (`id -un`, `dscacheutil`), and the answer, found or not, is cached.
 */
export function createSystemUserNames(platform: NodeJS.Platform = process.platform, run: CommandRunner = runCommand, files = createFileUserNames()): UserNameResolver {
  if (platform !== "darwin") return files;
  const users = new Map<number, string | undefined>();
  const groups = new Map<number, string | undefined>();
  return {
    userName(uid) {
      const known = files.userName(uid);
      if (known !== undefined) return known;
      if (!users.has(uid)) users.set(uid, run("id", ["-un", String(uid)])?.trim() || undefined);
      return users.get(uid);
    },
    groupName(gid) {
      const known = files.groupName(gid);
      if (known !== undefined) return known;
      if (!groups.has(gid)) groups.set(gid, /^name: (.+)$/m.exec(run("dscacheutil", ["-q", "group", "-a", "gid", String(gid)]) ?? "")?.[1]?.trim());
      return groups.get(gid);
    },
  };
}
