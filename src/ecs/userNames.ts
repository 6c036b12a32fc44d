import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";

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
 * The platform's lookup for one-shot tools (the `ecs` command, eslogger conversion): /etc/passwd and /etc/group
 * first; on macOS, ids they lack (directory users such as 501) are asked of Directory Services once each
 * (`id -un`, `dscacheutil`), and the answer, found or not, is cached. It blocks and spawns children: never use it
 * in the live agent (createLiveUserNames), where a child's AUTH exec would wait for the blocked JavaScript thread.
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

/** One answer of the addon's name resolver (native/common/id_names_js.h). */
export interface IdNameAnswer {
  kind: "user" | "group";
  id: number;
  name: string | null;
}

export type NameResolverHandle = { readonly __nameResolver: unique symbol };

/** The addon's uid/gid resolver: getpwuid_r / getgrgid_r on a thread of its own, answers through the callback. */
export interface NameResolverBinding {
  startNameResolver(onNames: (answers: IdNameAnswer[]) => void): NameResolverHandle;
  resolveName(handle: NameResolverHandle, kind: "user" | "group", id: number): void;
  stopNameResolver(handle: NameResolverHandle): void;
}

export function isNameResolverBinding(value: unknown): value is NameResolverBinding {
  const b = value as Partial<Record<keyof NameResolverBinding, unknown>> | null;
  return typeof b === "object" && b !== null && typeof b.startNameResolver === "function" && typeof b.resolveName === "function" && typeof b.stopNameResolver === "function";
}

/** A resolver that never blocks: a name not known yet is looked up in the background and is there on a later event. */
export interface AsyncUserNameResolver extends UserNameResolver {
  /**
   * Looks these ids up now. Resolves once each has its answer (found or not), or after timeoutMs, whichever is
   * first; never rejects. The agent awaits it for the users of running processes before it starts the backend.
   */
  prefetch(ids: { uids?: Iterable<number>; gids?: Iterable<number> }, timeoutMs: number): Promise<void>;
  /** Stops the resolver's thread; names already known stay. */
  close(): void;
}

/** How long "no such user" is believed before the id is looked up again (accounts get created). */
const NEGATIVE_TTL_MS = 5 * 60_000;

/**
 * The live agent's names: /etc/passwd and /etc/group (read once) first, then the addon's resolver, asynchronously.
 * userName/groupName never wait: an id not answered yet gives undefined (the ECS event then carries only the id)
 * and is asked of the resolver once; once answered, every later event carries the name.
 */
export function createAsyncUserNames(
  binding: NameResolverBinding,
  files: UserNameResolver = createFileUserNames(),
  now: () => number = Date.now,
): AsyncUserNameResolver {
  type Known = { name: string | undefined; at: number };
  const known = { user: new Map<number, Known>(), group: new Map<number, Known>() };
  const pending = { user: new Set<number>(), group: new Set<number>() };
  const waiters = new Set<{ remaining: Set<string>; done(): void }>();
  let handle: NameResolverHandle | undefined = binding.startNameResolver((answers) => {
    for (const a of answers) {
      pending[a.kind].delete(a.id);
      known[a.kind].set(a.id, { name: a.name ?? undefined, at: now() });
      for (const w of waiters) {
        w.remaining.delete(`${a.kind}:${a.id}`);
        if (w.remaining.size === 0) w.done();
      }
    }
  });

  /** The name if answered; otherwise asks the resolver (once) and returns undefined. */
  function lookUp(kind: "user" | "group", id: number): string | undefined {
    const entry = known[kind].get(id);
    if (entry && (entry.name !== undefined || now() - entry.at < NEGATIVE_TTL_MS)) return entry.name;
    if (!pending[kind].has(id) && handle !== undefined) {
      pending[kind].add(id);
      binding.resolveName(handle, kind, id);
    }
    return undefined;
  }

  return {
    userName: (uid) => files.userName(uid) ?? lookUp("user", uid),
    groupName: (gid) => files.groupName(gid) ?? lookUp("group", gid),
    prefetch(ids, timeoutMs) {
      const remaining = new Set<string>();
      for (const uid of ids.uids ?? []) if (files.userName(uid) === undefined && lookUp("user", uid) === undefined && pending.user.has(uid)) remaining.add(`user:${uid}`);
      for (const gid of ids.gids ?? []) if (files.groupName(gid) === undefined && lookUp("group", gid) === undefined && pending.group.has(gid)) remaining.add(`group:${gid}`);
      if (remaining.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const waiter = {
          remaining,
          done: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.done, timeoutMs);
        timer.unref?.();
        waiters.add(waiter);
      });
    },
    close() {
      if (handle === undefined) return;
      binding.stopNameResolver(handle);
      handle = undefined;
      for (const w of [...waiters]) w.done();
    },
  };
}

/**
 * The live agent's resolver: the addon's asynchronous one when the addon has it, else the files alone (never a
 * child process, never a blocking directory lookup on the JavaScript thread).
 */
export function createLiveUserNames(binding: unknown, files: UserNameResolver = createFileUserNames()): UserNameResolver | AsyncUserNameResolver {
  return isNameResolverBinding(binding) ? createAsyncUserNames(binding, files) : files;
}

/** The uid and gid owning /dev/console: the logged-in user on macOS (root when nobody is). */
export function consoleOwnerIds(stat: (path: string) => { uid: number; gid: number } = statSync): { uids: number[]; gids: number[] } {
  try {
    const st = stat("/dev/console");
    return { uids: [st.uid], gids: [st.gid] };
  } catch {
    return { uids: [], gids: [] };
  }
}

/**
 * Before the backend starts (before AUTH_EXEC is subscribed): the logged-in user's names, waited for at most
 * timeoutMs, so the main user's events carry names from the first one. Other ids are named from their second
 * event on.
 */
export async function prefetchKnownUsers(users: UserNameResolver | undefined, timeoutMs: number, ids = consoleOwnerIds()): Promise<void> {
  if (users && isAsyncUserNames(users)) await users.prefetch(ids, timeoutMs);
}

export function isAsyncUserNames(users: UserNameResolver): users is AsyncUserNameResolver {
  return typeof (users as Partial<AsyncUserNameResolver>).prefetch === "function";
}
