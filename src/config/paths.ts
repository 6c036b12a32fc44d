/** Where macsensor's files live on each platform. Every other module asks here rather than hard-coding a path. */

export type Platform = NodeJS.Platform;

/** The managed-preferences domain MDM profiles configure. */
export const PREFERENCE_DOMAIN = "com.macsensor.agent";
/** The launchd label of the daemon (also its service target `system/<label>`). */
export const LAUNCHD_LABEL = "com.macsensor.agent";

const MAC_SUPPORT = "/Library/Application Support/macsensor";

/** The configuration file an admin (or the package) installs. */
export function defaultConfigPath(platform: Platform = process.platform): string {
  return platform === "darwin" ? `${MAC_SUPPORT}/config.toml` : "/etc/macsensor/config.toml";
}

/** The plist macOS writes from an MDM profile's managed preferences; there is none elsewhere. */
export function defaultManagedPath(platform: Platform = process.platform): string | undefined {
  return platform === "darwin" ? `/Library/Managed Preferences/${PREFERENCE_DOMAIN}.plist` : undefined;
}

/** The rule folder used when the configuration names none. */
export function defaultRulesPath(platform: Platform = process.platform): string {
  return platform === "darwin" ? `${MAC_SUPPORT}/rules` : "/etc/macsensor/rules";
}

function logDir(platform: Platform): string {
  return platform === "darwin" ? "/Library/Logs/macsensor" : "/var/log/macsensor";
}

/** The NDJSON alert log (same defaults as the alert log writer in src/output). */
export function defaultAlertsPath(platform: Platform = process.platform): string {
  return `${logDir(platform)}/alerts.ndjson`;
}

/** The agent's own NDJSON log (start, rules loaded, heartbeats, errors). */
export function defaultOpsLogPath(platform: Platform = process.platform): string {
  return `${logDir(platform)}/macsensor.log`;
}

/**
 * The pid file the agent writes when it runs outside launchd (and also under it; `status` reads launchd first on
 * macOS). `MACSENSOR_PID_FILE` overrides it, for tests and unusual installs.
 */
export function pidFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MACSENSOR_PID_FILE || "/var/run/macsensor.pid";
}

/** Where the agent keeps state across restarts (the crash-loop guard's count). `MACSENSOR_STATE_DIR` overrides it. */
export function stateDir(env: NodeJS.ProcessEnv = process.env, platform: Platform = process.platform): string {
  return env.MACSENSOR_STATE_DIR || (platform === "darwin" ? `${MAC_SUPPORT}/state` : "/var/lib/macsensor");
}
