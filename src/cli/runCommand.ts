import { existsSync } from "node:fs";
import { MacsensorError } from "../errors.js";
import type { RuleAction } from "../rules/ruleMetadata.js";
import { parseCommandLine } from "./args.js";

const HELP = `Usage: macsensor run [--backend auto|es|eslogger|linux] [--rules <path>]... [--alerts FILE] [--config FILE]

The agent's main: loads the rules, starts the event source, maps every program start to an ECS event, runs the
rules, answers or kills per rule action, writes alerts to the rotated NDJSON alert log and heartbeats to the
agent log. SIGHUP reloads the rules without losing events; SIGTERM stops the source, drains its queue, flushes
the logs and exits 0.

Options:
  --backend <name>          auto (default: Endpoint Security on macOS, the process connector on Linux as root),
                            es, eslogger (macOS 13+, no entitlement; cannot block), linux
  --rules <path>            rule file or folder (repeatable); default: the configured rules, else those shipped
  --alerts <file>           alert log; default: the configured one (/Library/Logs/macsensor/alerts.ndjson on
                            macOS, /var/log/macsensor/alerts.ndjson on Linux)
  --log <file>              the agent's own log; default: the configured one
  --config <file>           configuration file (TOML); default the platform's path
  --managed <file>          managed preferences plist (MDM); default /Library/Managed Preferences/com.macsensor.agent.plist
  --action <RULE_ID=ACTION> report, block or kill for a rule (repeatable); overrides the configuration
  --heartbeat <seconds>     heartbeat interval
  --replay <file>           do not start a live source: replay recorded ECS events (NDJSON) through the rules
  --supervised              started by launchd (KeepAlive): a start that fails on the configuration waits 10 s,
                            20 s, ... up to 10 min before exiting 78, or until the configuration changes
  -h, --help                show this help

Exit status: 0 after SIGTERM; 2 on a configuration or usage error (78 with --supervised, after the wait); 75 when
another agent already runs with the same pid file (it is named).

Without root (or any live source) and with --backend auto, it says what is missing and replays the bundled
recorded events instead, so that a first run still shows an alert.`;

type LiveBackend = "es" | "eslogger" | "linux";

/** EX_TEMPFAIL (sysexits.h): another agent holds the pid file; try again once it has stopped. */
export const EXIT_ALREADY_RUNNING = 75;

/** What `auto` means here, or why no live source can run. */
export function resolveBackend(requested: string, platform = process.platform, euid = process.geteuid?.() ?? 0): { backend?: LiveBackend; unavailable?: string } {
  if (requested === "es" || requested === "eslogger" || requested === "linux") return { backend: requested };
  if (requested !== "auto") throw new MacsensorError(`--backend must be auto, es, eslogger or linux, found '${requested}'`);
  if (platform === "darwin") {
    if (euid !== 0) return { unavailable: "the live sensor needs root on macOS (Endpoint Security and eslogger both require it)" };
    return { backend: "es" };
  }
  if (platform === "linux") {
    if (euid !== 0) return { unavailable: "the live sensor needs root on Linux (the kernel's process connector requires CAP_NET_ADMIN)" };
    return { backend: "linux" };
  }
  return { unavailable: `no live event source exists for ${platform}` };
}

function bundledRecording(): string {
  return new URL("../../samples/recorded-events.ndjson", import.meta.url).pathname;
}

const RUN_OPTIONS = {
  backend: { type: "string" },
  rules: { type: "string", multiple: true },
  alerts: { type: "string" },
  log: { type: "string" },
  config: { type: "string" },
  managed: { type: "string" },
  action: { type: "string", multiple: true },
  heartbeat: { type: "string" },
  replay: { type: "string" },
  supervised: { type: "boolean" },
} as const;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("run", HELP, argv, RUN_OPTIONS);
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`macsensor run: unexpected argument '${parsed.positionals[0]}'\n\n${HELP}\n`);
    return 2;
  }
  if (!values.supervised) return runAgent(values);
  return runSupervised(values);
}

type RunValues = Exclude<ReturnType<typeof parseCommandLine<typeof RUN_OPTIONS>>, number>["values"];

/**
 * Under launchd (KeepAlive): a start that fails on the admin's input (configuration, rules, permissions) waits
 * longer each time before exiting (src/agent/startupBackoff.ts), so a bad profile cannot restart the agent every
 * 10 s forever; a change to the configuration ends the wait.
 */
async function runSupervised(values: RunValues): Promise<number> {
  const [{ StartupBackoff, waitUnlessChanged, EXIT_CONFIG, HEALTHY_AFTER_MS }, { stateDir, defaultConfigPath, defaultManagedPath }] = await Promise.all([
    import("../agent/startupBackoff.js"),
    import("../config/paths.js"),
  ]);
  const backoff = new StartupBackoff(`${stateDir()}/startup-failures.json`);
  try {
    return await runAgent(values, () => setTimeout(() => backoff.reset(), HEALTHY_AFTER_MS).unref());
  } catch (error) {
    if (!isUserError(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const { failures, delayMs } = backoff.recordFailure(reason);
    process.stderr.write(
      `macsensor: ${reason}\nmacsensor: start ${failures} in a row failed on the configuration; waiting ${Math.round(delayMs / 1000)} s (or until it changes) before exiting ${EXIT_CONFIG}\n`,
    );
    const watched = [values.config ?? process.env.MACSENSOR_CONFIG ?? defaultConfigPath(), values.managed ?? defaultManagedPath()].filter((p): p is string => p !== undefined);
    await waitUnlessChanged(delayMs, watched);
    return EXIT_CONFIG;
  }
}

/** Errors an admin's input causes, as opposed to a bug: the ones worth waiting on rather than crashing. */
function isUserError(error: unknown): boolean {
  // Endpoint Security refusing the client (not entitled, no Full Disk Access, not root) is the admin's to fix too.
  return error instanceof MacsensorError || esErrorCode(error) !== undefined;
}

async function runAgent(values: RunValues, onStarted?: () => void): Promise<number> {
  const [{ loadConfig, checkTrustedRulePaths, permissionsRelaxed, pidFilePath, defaultManagedPath }, { shippedRulesPath }, { parseActionAssignment }] = await Promise.all([
    import("../config/index.js"),
    import("../rules/shippedRules.js"),
    import("../rules/ruleSet.js"),
  ]);
  const loadOptions = {
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values.managed !== undefined ? { managedFile: values.managed } : {}),
  };
  const loaded = loadConfig(loadOptions);
  const config = loaded.config;
  for (const warning of loaded.warnings) process.stderr.write(`macsensor: warning: ${warning}\n`);
  const relax = config.development.relaxPermissions || permissionsRelaxed();

  const actions = new Map<string, RuleAction>(Object.entries(config.actions));
  const commandLineActions = new Map<string, RuleAction>();
  for (const assignment of values.action ?? []) {
    const [id, action] = parseActionAssignment(assignment);
    commandLineActions.set(id, action);
    actions.set(id, action);
  }
  const configuredRules = loaded.settings["rules.paths"]?.source !== "default" || config.rules.paths.every((p) => existsSync(p));
  const rulePaths = values.rules ?? (configuredRules ? config.rules.paths : [shippedRulesPath()]);
  for (const warning of checkTrustedRulePaths(rulePaths, { relax })) process.stderr.write(`macsensor: warning: ${warning}\n`);

  const heartbeatSeconds = values.heartbeat !== undefined ? Number(values.heartbeat) : config.heartbeat.intervalSeconds;
  if (!Number.isFinite(heartbeatSeconds) || heartbeatSeconds <= 0) throw new MacsensorError(`--heartbeat must be a positive number of seconds, found '${values.heartbeat}'`);

  const { backend: live, unavailable } = values.replay !== undefined ? {} : resolveBackend(values.backend ?? config.backend);
  if (live === undefined) {
    const input = values.replay ?? bundledRecording();
    if (unavailable) process.stderr.write(`macsensor: ${unavailable}.\nmacsensor: replaying the bundled recorded events instead: ${input}\n`);
    return replay(input, rulePaths, actions, values.alerts);
  }

  // One agent per pid file, taken before anything is started or opened; the second start changes nothing.
  const { acquirePidLock, AgentRunningError } = await import("../status/pidLock.js");
  const pidFile = pidFilePath();
  let pidLock: import("../status/pidLock.js").PidLock | undefined;
  try {
    pidLock = acquirePidLock(pidFile);
  } catch (error) {
    if (error instanceof AgentRunningError) {
      process.stderr.write(`macsensor: ${error.message}\n`);
      return EXIT_ALREADY_RUNNING;
    }
    process.stderr.write(`macsensor: warning: running without a pid file: ${error instanceof Error ? error.message : String(error)}\n`);
  }

  const { createOpsLogger } = await import("../output/opsLogger.js");
  const { createAlertLog } = await import("../output/alertLog.js");
  const { installSignalFlush } = await import("../output/shutdown.js");
  const { startAgent } = await import("../agent/agent.js");
  const ops = createOpsLogger({ file: values.log ?? config.log.path });
  const alertLog = createAlertLog({
    file: values.alerts ?? config.alerts.path,
    maxBytes: config.alerts.maxBytes,
    maxFiles: config.alerts.maxFiles,
    spoolMaxBytes: config.alerts.spoolMaxBytes,
    spoolMaxAlerts: config.alerts.spoolMaxAlerts,
    ops,
  });
  const { createHostMapper } = await import("../ecs/hostMapper.js");
  const mapper = createHostMapper({ seed: await processesRunningNow(config.capture.envVars) });
  const start = async (which: LiveBackend) =>
    startAgent({
      backend: await createBackend(which, config, ops, (record) => mapper.table.learn(record)),
      rulePaths,
      actions,
      alertLog,
      ops,
      mapper,
      seedFromProc: false,
      blockFallback: which === "es" ? "report" : config.eslogger.blockFallback,
      failClosed: (which === "es" || which === "linux") && config.auth.failMode === "closed",
      heartbeatMs: heartbeatSeconds * 1000,
      relaxPermissions: relax,
      eventBudgetMs: config.rules.eventBudgetMs,
      ttyMessage: config.notify.ttyMessage === "" ? null : config.notify.ttyMessage,
      maxPendingSequenceBytes: config.sequences.maxPendingBytes,
    });

  let running: LiveBackend = live;
  let agent;
  try {
    try {
      agent = await start(live);
    } catch (err) {
      // auto on a Mac whose binary lacks the ES entitlement: eslogger still sees every exec (it cannot block).
      if ((values.backend ?? config.backend) !== "auto" || live !== "es" || esErrorCode(err) !== "ES_NOT_ENTITLED") throw err;
      ops.warn("Endpoint Security refused the client (not entitled); falling back to eslogger, which cannot block", { error: err });
      process.stderr.write(`macsensor: ${err instanceof Error ? err.message : String(err)}\nmacsensor: falling back to the eslogger backend (block rules: ${config.eslogger.blockFallback})\n`);
      running = "eslogger";
      agent = await start(running);
    }
  } catch (err) {
    ops.error("agent not started", { error: err });
    pidLock?.release();
    await alertLog.close();
    throw err;
  }
  if (pidLock === undefined) ops.warn("running without a pid file", { file: { path: pidFile } });
  // A changed MDM profile applies without a restart (actions and rule paths; other keys at the next start).
  const managedPath = values.managed ?? defaultManagedPath();
  if (managedPath !== undefined) {
    const [{ watchManagedPreferences }, { createManagedReload }] = await Promise.all([import("../config/managedWatch.js"), import("../agent/managedReload.js")]);
    const managed = createManagedReload(loaded, {
      load: () => loadConfig(loadOptions),
      agent,
      ops,
      commandLineActions,
      ...(values.rules !== undefined ? { commandLineRules: values.rules } : {}),
    });
    watchManagedPreferences(managedPath, () => {
      const { applied, atNextStart } = managed.apply();
      if (applied.length > 0 || atNextStart.length > 0) {
        process.stderr.write(`macsensor: managed preferences changed: applied ${applied.join(", ") || "nothing"}${atNextStart.length > 0 ? `; at the next start: ${atNextStart.join(", ")}` : ""}\n`);
      }
    });
  }
  const { AGENT_HEAP_FLAGS, missingHeapFlags } = await import("../agent/heapFlags.js");
  const missingFlags = missingHeapFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (missingFlags.length > 0) {
    // Not fatal: the agent works, but its young generation alone may hold ~30 MB more (docs/internals.md, Memory).
    const hint = `NODE_OPTIONS="${AGENT_HEAP_FLAGS.join(" ")}"`;
    ops.warn("running without the V8 heap flags the agent ships with; its memory use will be higher", { macsensor: { missing: missingFlags, hint } });
    process.stderr.write(`macsensor: warning: running without the shipped V8 heap flags (${missingFlags.join(" ")}); set ${hint}\n`);
  }
  process.on("SIGHUP", () => {
    try {
      agent.reload();
      if (agent.guards) process.stderr.write(describeGuards(agent.guards));
    } catch (error) {
      // The agent has logged why; an operator watching the terminal learns it too.
      process.stderr.write(`macsensor: rule reload refused, the previous rules stay in force: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
  installSignalFlush({
    beforeFlush: async () => {
      try {
        await agent.stop();
        // Alerts still waiting for the disk are counted lost and the agent log says so before it is flushed.
        await alertLog.close();
      } finally {
        pidLock?.release();
      }
    },
  });
  onStarted?.();
  // One write: whoever waits for the "running with" line sees the guards with it.
  process.stderr.write(
    `macsensor: running with the ${running} backend, ${agent.rules.loaded} rules (${agent.rules.canFire} can fire on this sensor's events, ${agent.rules.block} blocking); alerts → ${values.alerts ?? config.alerts.path}\n` +
      (agent.guards ? describeGuards(agent.guards) : ""),
  );
  // The backend's thread-safe function or child process keeps the event loop alive until a signal stops it.
  await new Promise<never>(() => undefined);
  return 0;
}

/** Which opens wait for a verdict and why, and the block rules that cannot hold theirs (start-up output). */
export function describeGuards(report: import("../sensor/backend.js").FileGuardReport): string {
  const lines: string[] = [];
  if (!report.active) {
    if (report.marks.length > 0 || report.configured.length > 0 || report.unguarded.length > 0) lines.push("warning: file events are off, so no open is held: block rules on files only alert");
  } else if (report.marks.length === 0 && report.configured.length === 0) {
    lines.push("no open is held for a verdict (no block rule on file opens, no auth.guard_paths)");
  } else {
    lines.push("opens held for a verdict (fanotify FAN_OPEN_PERM):");
    for (const path of report.configured) lines.push(`  ${path}: auth.guard_paths`);
    for (const m of report.marks) {
      const where = m.kind === "dir" ? `files in ${m.path}` : `the filesystem mounted at ${m.path}`;
      lines.push(`  ${where}: block rule${m.rules.length === 1 ? "" : "s"} ${m.rules.join(", ")}${m.note ? ` (${m.note})` : ""}`);
    }
  }
  for (const rule of report.unguarded) {
    lines.push(`warning: block rule ${rule.id} (${rule.name}) cannot hold the opens it matches (${rule.reason}): it alerts, but they go ahead`);
  }
  for (const problem of report.problems) lines.push(`warning: an open guard could not be set, opens there are not held: ${problem}`);
  return lines.map((l) => `macsensor: ${l}\n`).join("");
}

/** The ES result name an Endpoint Security start failure carries (the addon sets `code`). */
export function esErrorCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? (err.cause ?? err) : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What the process table starts from: /proc on Linux, the addon's process list on macOS when it has one. */
async function processesRunningNow(captureEnv: string[]): Promise<import("../sensor/rawEvent.js").RawEvent[] | "proc" | false> {
  if (process.platform === "linux") return "proc";
  try {
    const { loadNative } = await import("../sensor/native.js");
    return loadNative().listProcesses?.({ captureEnv }) ?? false;
  } catch {
    return false;
  }
}

async function createBackend(
  live: LiveBackend,
  config: import("../config/schema.js").MacsensorConfig,
  ops: import("../output/opsLogger.js").OpsLogger,
  learnInstigator: (record: import("../sensor/rawEvent.js").RawEvent) => void,
) {
  if (live === "linux") {
    // Process events and file events together. fanotify runs always: with no file rule loaded, setRelevance
    // leaves it with no marks (the kernel sends nothing), so it costs nothing, and a file rule added on reload
    // needs no restart. A host without fanotify keeps the process connector (said in the log).
    const [{ createLinuxBackend }, { createLinuxFileBackend }, { CompositeBackend }] = await Promise.all([
      import("../sensor/linuxBackend.js"),
      import("../sensor/linuxFileBackend.js"),
      import("../sensor/compositeBackend.js"),
    ]);
    const files = createLinuxFileBackend({ guardPaths: config.auth.guardPaths, denyOnTimeout: config.auth.failMode === "closed" });
    return new CompositeBackend("linux", [createLinuxBackend({}), files], {
      optional: [files],
      onSkipped: (_part, error) => ops.warn("file events are off: fanotify could not start", { error }),
    });
  }
  if (live === "es") {
    const { createEsBackend } = await import("../sensor/esBackend.js");
    return createEsBackend({
      failClosed: config.auth.failMode === "closed",
      captureEnv: config.capture.envVars,
      muteExecutables: config.mute.executables,
      deadlineMarginMs: config.auth.deadlineMarginMs,
      minRuleMs: config.auth.minRuleMs,
    });
  }
  const { createEsloggerBackend } = await import("../sensor/esloggerBackend.js");
  return createEsloggerBackend({
    ...(process.env.MACSENSOR_ESLOGGER ? { command: process.env.MACSENSOR_ESLOGGER } : {}),
    onGap: (gap) => ops.warn("eslogger exited; events until it restarts are lost", { macsensor: { gap } }),
    onInputError: (error) => ops.warn("eslogger printed a message that could not be read", { error }),
    onInstigator: learnInstigator,
  });
}

async function replay(input: string, rulePaths: readonly string[], actions: Map<string, RuleAction>, alertsFile: string | undefined): Promise<number> {
  const [{ loadRules }, { RuleSet }, { replayEvents }, { createAlertLog, createStdoutAlertSink }] = await Promise.all([
    import("../rules/loader.js"),
    import("../rules/ruleSet.js"),
    import("../rules/replay.js"),
    import("../output/alertLog.js"),
  ]);
  const result = loadRules(rulePaths);
  for (const error of result.errors) process.stderr.write(`macsensor: ${error.message}\n`);
  for (const file of result.files) if (file.status === "loaded") for (const w of file.warnings) process.stderr.write(`macsensor: warning: ${w.message}\n`);
  const sink = alertsFile ? createAlertLog({ file: alertsFile }) : createStdoutAlertSink();
  const stats = await replayEvents({
    input,
    rules: new RuleSet(result.rules, { actions }),
    sink,
    onBadLine: (line, reason) => process.stderr.write(`macsensor: ${input}:${line}: ${reason}\n`),
  });
  await sink.close();
  process.stderr.write(`macsensor: replayed ${stats.events} events, ${stats.alerts} alerts\n`);
  if (sink.lost > 0) process.stderr.write(`macsensor: ${sink.lost} of ${stats.alerts} alerts lost: ${sink.lossCause ?? "unknown cause"}\n`);
  return result.errors.length > 0 || stats.badLines > 0 || sink.lost > 0 ? 1 : 0;
}
