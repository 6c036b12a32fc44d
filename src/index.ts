export * from "./errors.js";
export type * from "./sensor/rawEvent.js";
export {
  loadConfig,
  checkTrustedPath,
  pidFilePath,
  ConfigError,
  UntrustedPathError,
  type LoadedConfig,
  type LoadConfigOptions,
  type MacsensorConfig,
} from "./config/index.js";
