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
export { createEcsMapper, type EcsMapper, type EcsMapperOptions, type EcsAgent } from "./ecs/mapper.js";
export { ProcessTable, createProcessTable, type ProcessEntry, type ProcessTableOptions } from "./ecs/processTable.js";
export { seedFromProc, readProcProcesses } from "./ecs/procSeed.js";
export { detectHost, type EcsHost, type HostFactsReader } from "./ecs/host.js";
export { createFileUserNames, createSystemUserNames, type UserNameResolver } from "./ecs/userNames.js";
export { processEntityId } from "./ecs/entityId.js";
export { esloggerToEcs, type EsloggerToEcsOptions } from "./ecs/esloggerToEcs.js";
export { readEsloggerEvents, EsloggerInputError, type EsloggerReadOptions, type EsloggerReadStats } from "./sensor/esloggerReader.js";
export { validateEcsEvent, type EcsProblem } from "./ecs/validate.js";
export { rawEventToJson, rawEventFromJson } from "./ecs/rawEventJson.js";
export { buildAlert, alertMessage, alertId, SEVERITY_SCORES, ALERT_DATASET, ALERT_MODULE, type AlertInput, type ResponseOutcome } from "./response/alert.js";
export { decideVerdict, type Verdict, type VerdictDecision, type RuleActions } from "./response/verdict.js";
export { createAlertLog, createStdoutAlertSink, type AlertLog, type AlertLogOptions } from "./output/alertLog.js";
export { createStreamAlertSink } from "./output/streamSink.js";
export { createOpsLogger, flushOpsLogger, startHeartbeat, type OpsLogger, type OpsLoggerOptions } from "./output/opsLogger.js";
export { installSignalFlush, registerFlushable, flushAll, type Flushable, type SignalFlushOptions } from "./output/shutdown.js";
export { toNdjsonLine } from "./output/ndjson.js";
export { printableLine } from "./output/printable.js";
export { defaultAlertLogPath, defaultOpsLogPath, LogFileError } from "./output/logFiles.js";
export { RotatingFileTransport, type RotatingFileOptions } from "./output/rotatingFileTransport.js";
export { loadNative, defaultAddonPaths, NativeAddonError, type AddonAttempt } from "./sensor/native.js";
export type * from "./sensor/nativeBinding.js";
export type { SensorBackend, BackendStats } from "./sensor/backend.js";
export { createLinuxBackend, type LinuxBackendOptions } from "./sensor/linuxBackend.js";
export { createHostMapper, type HostMapperOptions } from "./ecs/hostMapper.js";
export { defaultAgent, recordedMacHost } from "./ecs/agent.js";
export {
  compileQuery,
  compileQuerySet,
  runQuery,
  parseQuery,
  sortEvents,
  EqlError,
  EqlSyntaxError,
  EqlSemanticError,
  type CompileOptions,
  type CompiledQuery,
  type EqlEvent,
  type Hit,
  type EventHit,
  type SequenceHit,
  type Matcher,
  type MatcherStats,
  type QuerySet,
  type QuerySetHit,
  type QuerySetMatcher,
} from "./eql/index.js";
