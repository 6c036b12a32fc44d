import type { RawEvent } from "../sensor/rawEvent.js";
import { defaultAgent } from "./agent.js";
import { detectHost, type EcsHost } from "./host.js";
import { createEcsMapper, type EcsAgent, type EcsMapper } from "./mapper.js";
import { readProcProcesses } from "./procSeed.js";
import { ProcessTable, type ProcessTableOptions } from "./processTable.js";
import { loadNative } from "../sensor/native.js";
import { createLiveUserNames, isAsyncUserNames, type UserNameResolver } from "./userNames.js";

export interface HostMapperOptions {
  /** Default: detectHost(). */
  host?: EcsHost;
  /** Default: defaultAgent(host). */
  agent?: EcsAgent;
  /**
   * Processes already running: exec-like records (the macOS addon's KERN_PROCARGS2 list), or "proc" to read
   * /proc (Linux; the default there), or false for none.
   */
  seed?: RawEvent[] | "proc" | false;
  users?: UserNameResolver;
  table?: Omit<ProcessTableOptions, "hostId">;
}

/** The live agent's mapper: this host, its users, and a process table seeded with what is running now. */
export function createHostMapper(options: HostMapperOptions = {}): EcsMapper {
  const host = options.host ?? detectHost();
  const table = new ProcessTable({ ...options.table, hostId: host.id });
  const seed = options.seed ?? (process.platform === "linux" ? "proc" : false);
  if (seed === "proc") table.seed(readProcProcesses());
  else if (seed) table.seed(seed);
  const users = options.users ?? liveUserNames();
  // The users of what runs now are looked up at once, in the background, so that their events carry names.
  if (seed && seed !== "proc" && isAsyncUserNames(users)) {
    void users.prefetch({ uids: seed.flatMap((r) => [r.uid, r.euid]).filter(isId), gids: seed.flatMap((r) => [r.gid, r.egid]).filter(isId) }, 10_000);
  }
  return createEcsMapper({ host, agent: options.agent ?? defaultAgent(host), table, users });
}

function isId(id: number | undefined): id is number {
  return id !== undefined;
}

/** The live agent's user names: the addon's off-thread resolver when the addon loads, else /etc/passwd alone. */
export function liveUserNames(): UserNameResolver {
  let binding: unknown;
  try {
    binding = loadNative();
  } catch {
    binding = undefined;
  }
  return createLiveUserNames(binding);
}
