/**
 * Applies a changed MDM profile to the running agent. Per-rule actions and rule paths take effect at once
 * through a rule reload (events keep flowing through the old rules until the new ones are ready, so nothing is
 * dropped); keys the running agent cannot change (backend, log paths, …) are named in the agent log as taking
 * effect at the next start. A profile that no longer loads leaves the running configuration as it is.
 */
import type { LoadedConfig } from "../config/load.js";
import type { RuleAction } from "../rules/ruleMetadata.js";
import type { RunningAgent } from "./agent.js";

type Log = (message: string, fields?: Record<string, unknown>) => void;

export interface ManagedReloadOptions {
  /** Loads the configuration again, as at start (file + managed preferences). */
  load(): LoadedConfig;
  agent: Pick<RunningAgent, "reload">;
  ops: { info: Log; warn: Log; error: Log };
  /** `--action` given on the command line: it still wins over the configuration. */
  commandLineActions?: ReadonlyMap<string, RuleAction>;
  /** `--rules` given on the command line: the configuration's rule paths are then not used. */
  commandLineRules?: readonly string[];
}

export interface ManagedReload {
  /** Re-reads the configuration and applies what changed; returns the changed keys. */
  apply(): { applied: string[]; atNextStart: string[] };
}

/** Keys a running agent applies through a rule reload. */
const LIVE = (key: string): boolean => key === "rules.paths" || key.startsWith("actions.");

export function createManagedReload(initial: LoadedConfig, options: ManagedReloadOptions): ManagedReload {
  let current = initial;
  return {
    apply() {
      let next: LoadedConfig;
      try {
        next = options.load();
      } catch (error) {
        options.ops.error("managed preferences changed but cannot be used; the running configuration stays", { error });
        return { applied: [], atNextStart: [] };
      }
      const keys = new Set([...Object.keys(current.settings), ...Object.keys(next.settings)]);
      const changed = [...keys].filter((k) => JSON.stringify(current.settings[k]?.value) !== JSON.stringify(next.settings[k]?.value));
      if (changed.length === 0) return { applied: [], atNextStart: [] };
      const applied = changed.filter(LIVE);
      const atNextStart = changed.filter((k) => !LIVE(k));
      if (applied.length > 0) {
        const actions = new Map<string, RuleAction>(Object.entries(next.config.actions));
        for (const [id, action] of options.commandLineActions ?? []) actions.set(id, action);
        try {
          options.agent.reload({ actions, ...(options.commandLineRules ? {} : { rulePaths: next.config.rules.paths }) });
          options.ops.info("managed preferences applied", { macsensor: { keys: applied } });
        } catch {
          // The agent has logged why (e.g. an untrusted rule path); the previous rules and actions stay.
          return { applied: [], atNextStart };
        }
      }
      if (atNextStart.length > 0) options.ops.warn("managed preferences changed; these keys take effect at the next start", { macsensor: { keys: atNextStart } });
      current = next;
      return { applied, atNextStart };
    },
  };
}
