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
