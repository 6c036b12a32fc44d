export {
  LAUNCHD_LABEL,
  PREFERENCE_DOMAIN,
  defaultAlertsPath,
  defaultConfigPath,
  defaultManagedPath,
  defaultOpsLogPath,
  defaultRulesPath,
  pidFilePath,
} from "./paths.js";
export {
  ConfigError,
  loadConfig,
  type ConfigProblem,
  type ConfigSourceInfo,
  type LoadConfigOptions,
  type LoadedConfig,
  type SettingValue,
} from "./load.js";
export {
  ACTION_ENTRY_DOC,
  SETTINGS,
  type BackendName,
  type BlockFallback,
  type FailMode,
  type MacsensorConfig,
  type ValueSource,
} from "./schema.js";
export { checkTrustedPath, checkTrustedRulePaths, permissionsRelaxed, UntrustedPathError, type TrustOptions } from "./trust.js";
export { parsePlist, readPlistFile, PlistError, type PlistValue } from "./plist/index.js";
