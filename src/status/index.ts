export { alertLogFiles, field, parseSince, readAlerts, severityLabel, type AlertRecord, type ReadAlertsOptions } from "./alertFiles.js";
export { linesBackwards, readOpsSummary, type OpsSummary } from "./opsLog.js";
export { launchdState, parseLaunchctlPrint, pidFileState, type RunningState } from "./running.js";
export { configuredLogPaths, type LogPaths } from "./logPaths.js";
export { acquirePidLock, AgentRunningError, type PidLock } from "./pidLock.js";
