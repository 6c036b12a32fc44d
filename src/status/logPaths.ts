/** Which alert log and agent log `status` and `alerts` read: the configured ones, else the defaults. */
import { loadConfig } from "../config/load.js";
import { defaultAlertsPath, defaultOpsLogPath } from "../config/paths.js";
import { MacsensorError } from "../errors.js";

export interface LogPaths {
  alerts: string;
  log: string;
  /** A configuration that could not be loaded (the defaults are used then). */
  warnings: string[];
}

export function configuredLogPaths(options: { configFile?: string; managedFile?: string }): LogPaths {
  try {
    const { config } = loadConfig({
      ...(options.configFile !== undefined ? { configFile: options.configFile } : {}),
      ...(options.managedFile !== undefined ? { managedFile: options.managedFile } : {}),
    });
    return { alerts: config.alerts.path, log: config.log.path, warnings: [] };
  } catch (e) {
    if (!(e instanceof MacsensorError)) throw e;
    return {
      alerts: defaultAlertsPath(),
      log: defaultOpsLogPath(),
      warnings: [`configuration not used (${e.message.split("\n").join(" ")}); reading the default log paths`],
    };
  }
}
