/**
 * The live agent: wires a backend, the ECS mapper, the rules, the response and the logs into one Pipeline, and
 * owns their lifecycle (start, rule reload, heartbeat, orderly stop). Every part is built by the caller or by
 * the defaults here, so tests can start a real agent with their own rules, logs and backend.
 */
import { DEFAULT_EVENT_BUDGET_MS } from "../config/schema.js";
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { createEcsMapper, type EcsMapper } from "../ecs/mapper.js";
import { defaultAgent } from "../ecs/agent.js";
import { detectHost, type EcsHost } from "../ecs/host.js";
import { seedFromProc } from "../ecs/procSeed.js";
import { ttyPath } from "../ecs/tty.js";
import { liveUserNames } from "../ecs/hostMapper.js";
import { prefetchKnownUsers } from "../ecs/userNames.js";
import { checkTrustedRulePaths, UntrustedPathError } from "../config/trust.js";
import type { Query } from "../eql/ast.js";
import type { AlertLog } from "../output/alertLog.js";
import type { OpsLogger } from "../output/opsLogger.js";
import { startHeartbeat } from "../output/opsLogger.js";
import { buildAlert } from "../response/alert.js";
import { createTtyNotifier, DEFAULT_TTY_MESSAGE, type TtyNotifier } from "../response/ttyNotice.js";
import { loadRules } from "../rules/loader.js";
import { ruleCoverage } from "../rules/coverage.js";
import type { RuleAction } from "../rules/ruleMetadata.js";
import { RuleSet } from "../rules/ruleSet.js";
import type { FileGuardReport, SensorBackend } from "../sensor/backend.js";
import type { GuardedRule } from "../sensor/fileGuards.js";
import type { EsBackend } from "../sensor/esBackend.js";
import type { RawEvent } from "../sensor/rawEvent.js";
import { deriveRelevanceSpec, relevanceOf, type EventRelevance } from "./eventRelevance.js";
import { Pipeline, type AuthAnswerStatus, type PipelineDetection, type PipelineDetector, type StoppedEvent } from "./pipeline.js";
import { SlowRuleReporter } from "./slowRules.js";

/** Shared by every event that matches nothing (almost all of them), so the hot path allocates nothing. */
const NO_DETECTIONS: readonly PipelineDetection[] = Object.freeze([]);

export interface AgentOptions {
  backend: SensorBackend;
  rulePaths: readonly string[];
  actions: ReadonlyMap<string, RuleAction>;
  alertLog: AlertLog;
  ops: OpsLogger;
  /** What block rules do on a backend that cannot block. */
  blockFallback: "kill" | "report";
  heartbeatMs: number;
  host?: EcsHost;
  mapper?: EcsMapper;
  /** Seed the process table from /proc (Linux). Default: on Linux. */
  seedFromProc?: boolean;
  /** The ES watchdog answers DENY when JavaScript is late. */
  failClosed?: boolean;
  /** Sends SIGKILL; default process.kill. */
  kill?: (pid: number) => string | null;
  /** Load rules a non-root user could change, with a warning (development); else such rules refuse the load. */
  relaxPermissions?: boolean;
  /** Rule evaluation budget per event (ms); default DEFAULT_EVENT_BUDGET_MS. */
  eventBudgetMs?: number;
  /** The clock (ms) rule evaluation is timed with; default performance.now. */
  clock?: () => number;
  /** Estimated bytes of pending sequence state, shared equally by the sequence rules (config sequences.max_pending_bytes). */
  maxPendingSequenceBytes?: number;
  /** The line shown on a stopped program's terminal (config notify.tty_message); null: none. Default DEFAULT_TTY_MESSAGE. */
  ttyMessage?: string | null;
}

const DEFAULT_MAX_PENDING_SEQUENCE_BYTES = 32 * 1024 * 1024;

export interface RulesSummary {
  loaded: number;
  /** Loaded rules whose event categories this sensor produces (src/rules/coverage.ts); the others never fire. */
  canFire: number;
  skipped: number;
  errors: number;
  block: number;
}

export interface RunningAgent {
  readonly backend: SensorBackend;
  readonly pipeline: Pipeline;
  /**
   * Loads the rules again; events keep flowing through the old rules until the new ones are ready. Throws, keeping
   * the old rules, when the new ones fail the trust check (UntrustedPathError) or cannot be read; it logs why.
   */
  /** With `changes`, the rule paths and per-rule actions to run with from now on (kept only if the load succeeds). */
  reload(changes?: { rulePaths?: readonly string[]; actions?: ReadonlyMap<string, RuleAction> }): RulesSummary;
  counts(): Record<string, number>;
  /** What the backend holds opens of, and why (Linux file backend; absent for the others). Current after a reload. */
  readonly guards: FileGuardReport | undefined;
  /** Stops the backend, runs what it still had queued through the rules, flushes the alert log. */
  stop(): Promise<void>;
  readonly rules: RulesSummary;
}

function defaultKill(pid: number): string | null {
  try {
    process.kill(pid, "SIGKILL");
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH" ? "the process had already exited" : String(err);
  }
}

function isEsBackend(backend: SensorBackend): backend is EsBackend {
  return backend.name === "es" && typeof (backend as Partial<EsBackend>).setBlockRules === "function";
}

const ANSWER_STATUS: Record<string, AuthAnswerStatus> = {
  answered: "ok",
  tooLate: "late",
  tooShort: "short",
  duplicate: "late",
  unknown: "unknown",
  error: "error",
};

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { backend, ops } = options;
  const host = options.host ?? detectHost();
  const mapper =
    options.mapper ??
    createEcsMapper({ host, agent: defaultAgent(host), users: liveUserNames() });
  if (options.seedFromProc ?? process.platform === "linux") {
    try {
      const seeded = seedFromProc(mapper.table);
      ops.info("process table seeded", { macsensor: { seeded } });
    } catch (error) {
      ops.warn("could not seed the process table from /proc", { error });
    }
  }

  // What a reload may change (managed preferences re-read while running); everything else is fixed at start.
  let rulePaths = options.rulePaths;
  let actions = options.actions;
  let ruleSet: RuleSet;
  let relevance: EventRelevance;
  let blockQueries: Query[] = [];
  let guardRules: GuardedRule[] = [];
  let guards: FileGuardReport | undefined;
  const loadRuleSet = (): RulesSummary => {
    // The same check as at start on every load, so a rule dropped in later cannot skip it.
    const relax = options.relaxPermissions ?? false;
    for (const warning of checkTrustedRulePaths(rulePaths, { relax })) ops.warn(warning);
    const result = loadRules(rulePaths);
    for (const file of result.files) {
      if (file.status === "skipped") ops.info("rule skipped", { file: { path: file.file }, macsensor: { reason: file.reason } });
      if (file.status === "error") ops.error("rule not loaded", { file: { path: file.file }, error: file.error });
      if (file.status === "loaded") {
        for (const w of file.warnings) {
          ops.warn("rule loaded with a warning", { file: { path: file.file }, rule: { id: file.rule.metadata.ruleId }, macsensor: { reason: w.summary } });
        }
      }
    }
    const sequenceRules = result.rules.filter((r) => r.query.isSequence).length;
    const maxPendingBytes = Math.max(64 * 1024, Math.floor((options.maxPendingSequenceBytes ?? DEFAULT_MAX_PENDING_SEQUENCE_BYTES) / Math.max(1, sequenceRules)));
    const next = new RuleSet(result.rules, { actions, compile: { maxPendingBytes } });
    for (const id of next.unknownActionIds()) ops.warn("an action is configured for a rule that is not loaded", { rule: { id } });
    const sensor = { hostOsType: host.os.type };
    const relevanceSpec = deriveRelevanceSpec(result.rules.map((r) => r.query.ast), sensor);
    ruleSet = next;
    relevance = relevanceOf(relevanceSpec);
    backend.setRelevance?.(relevanceSpec);
    const blockRules = result.rules.filter((r) => next.actionFor(r.metadata.ruleId) === "block");
    blockQueries = blockRules.map((r) => r.query.ast);
    guardRules = blockRules.map((r) => ({ id: r.metadata.ruleId, name: r.metadata.name, query: r.query.ast }));
    let canFire = 0;
    for (const rule of result.rules) {
      const coverage = ruleCoverage(rule.query.ast, sensor);
      if (coverage.fires) canFire++;
      else ops.warn("rule loaded but can never fire", { file: { path: rule.metadata.file }, rule: { id: rule.metadata.ruleId }, macsensor: { reason: coverage.reason } });
    }
    const summary: RulesSummary = {
      loaded: result.rules.length,
      canFire,
      skipped: result.files.filter((f) => f.status === "skipped").length,
      errors: result.errors.length,
      block: blockQueries.length,
    };
    // The kinds the backend subscribes to: a file kind here means file events are on.
    ops.info("rules loaded", { macsensor: { rules: summary, event_kinds: relevanceSpec.kinds } });
    return summary;
  };
  let rules = loadRuleSet();
  if (isEsBackend(backend)) backend.setBlockRules(blockQueries);
  /** Tells the backend which opens the block rules need held, and logs what it holds and what it cannot. */
  const applyGuards = (): void => {
    if (!backend.setGuardRules) return;
    guards = backend.setGuardRules(guardRules, { hostOsType: host.os.type });
    if (guards === undefined) return;
    logGuards(ops, guards);
  };

  const detector: PipelineDetector = {
    push: (event) => {
      const detections = ruleSet.push(event);
      return detections.length === 0 ? NO_DETECTIONS : detections.map((d) => ({ rule: d.rule.metadata, hit: d.hit }));
    },
    relevant: (raw) => relevance(raw),
    profile: (event, now) => ruleSet.profile(event, now).map((c) => ({ rule: c.rule.metadata, ms: c.ms })),
  };
  const clock = options.clock ?? (() => performance.now());
  const slowRules = new SlowRuleReporter({ ops, now: clock });
  const agentFields = defaultAgent(host);
  const respond = backend.respond
    ? (id: number, allow: boolean): AuthAnswerStatus => {
        const status = (backend.respond as (id: number, allow: boolean) => unknown)(id, allow);
        return typeof status === "string" ? (ANSWER_STATUS[status] ?? "error") : "ok";
      }
    : undefined;
  const ttyNotifier = options.ttyMessage === null ? undefined : createTtyNotifier(options.ttyMessage ?? DEFAULT_TTY_MESSAGE);
  const pipeline = new Pipeline({
    map: (raw) => mapper.map(raw),
    ...(mapper.preview ? { preview: (raw: RawEvent) => (mapper.preview as (raw: RawEvent) => EcsEvent)(raw) } : {}),
    track: (raw) => mapper.track(raw),
    detector: () => detector,
    actions: () => actions,
    ...(respond ? { respond, authExec: backend.authKinds?.includes("exec") ?? true } : {}),
    blockFallback: options.blockFallback,
    failClosed: options.failClosed ?? false,
    kill: options.kill ?? defaultKill,
    alert: ({ rule, event, sequenceEvents, response }) =>
      options.alertLog.write(
        buildAlert({ rule, event, response, agent: { id: agentFields.id, version: agentFields.version, name: agentFields.name ?? "macsensor" }, ...(sequenceEvents ? { sequenceEvents } : {}) }),
      ),
    onError: (error, raw: RawEvent) => ops.error("event not processed", { error, macsensor: { source: raw.source, kind: raw.kind, pid: raw.pid } }),
    evalBudget: { ms: options.eventBudgetMs ?? DEFAULT_EVENT_BUDGET_MS, now: clock },
    onOverrun: (overrun) => slowRules.report(overrun),
    ...(ttyNotifier ? { onStopped: (stopped: StoppedEvent) => tellTerminal(ttyNotifier, stopped) } : {}),
  });

  // Nothing on the event path may block (an AUTH exec waits for this thread): names are resolved off the thread,
  // the logged-in user's before the backend starts.
  await prefetchKnownUsers(mapper.users, 2000);
  await backend.start((events) => {
    for (const raw of events) {
      try {
        pipeline.handle(raw);
      } catch (error) {
        // Pipeline.handle contains its own failures; this guards the backend's reader against a bug here.
        ops.error("event not processed", { error });
      }
    }
  });
  ops.info("agent started", { process: { pid: process.pid }, macsensor: { backend: backend.name, rules } });
  // After the start record: `status` reads the latest run's records from there on.
  applyGuards();

  const counts = (): Record<string, number> => {
    const b = backend.stats();
    const sequences = ruleSet.sequenceStats();
    return {
      ...pipeline.counts,
      backendReceived: b.received,
      backendDelivered: b.delivered,
      // Backends number every event they lose, so their own count and the gaps the pipeline saw agree;
      // the larger covers a backend that reports neither way.
      drops: Math.max(b.dropped, pipeline.counts.seqGaps),
      // File events the backend's reader dropped because no rule's path condition can match them (not lost).
      fileEventsFiltered: b.pathFiltered ?? 0,
      deadlineFallbacks: b.watchdogAnswers ?? 0,
      // AUTH candidates allowed at once because their deadline left no time for the rules (never fail-closed).
      shortDeadlineAllows: b.shortDeadlineAllows ?? 0,
      // Endpoint Security only, and only when it happened: es_unsubscribe failed (more stays subscribed).
      ...(b.unsubscribeErrors ? { unsubscribeErrors: b.unsubscribeErrors } : {}),
      // ALLOWs Endpoint Security may answer from its cache, and failed clears of that cache (rule reloads).
      ...(b.cachedAllows ? { cachedAllows: b.cachedAllows } : {}),
      ...(b.cacheClearErrors ? { cacheClearErrors: b.cacheClearErrors } : {}),
      // Of the alerts raised: on disk, waiting in memory for the disk, never to be written.
      alertsWritten: options.alertLog.written,
      alertsSpooled: options.alertLog.spooled,
      alertsLost: options.alertLog.lost,
      rulesLoaded: rules.loaded,
      rulesSkipped: rules.skipped,
      rulesErrors: rules.errors,
      processTable: mapper.table.stats.live,
      sequencesPending: sequences.pending,
      sequencesPendingBytes: sequences.pendingBytes,
      sequenceEvictions: sequences.evicted,
    };
  };
  const slowRule = (): Record<string, unknown> => {
    const last = slowRules.lastSlowRule();
    return last ? { slow_rule: last } : {};
  };
  // The heap's figures beside RSS, so a heartbeat says whether growth is V8's (heap, young generation) or native.
  const heartbeatDetails = (): Record<string, unknown> => ({ ...slowRule(), memory: process.memoryUsage() });
  const stopHeartbeat = startHeartbeat(ops, counts, options.heartbeatMs, heartbeatDetails);

  return {
    backend,
    pipeline,
    get rules() {
      return rules;
    },
    reload(changes) {
      const previous = { rulePaths, actions };
      if (changes?.rulePaths) rulePaths = changes.rulePaths;
      if (changes?.actions) actions = changes.actions;
      try {
        rules = loadRuleSet();
      } catch (error) {
        ({ rulePaths, actions } = previous);
        const offender = error instanceof UntrustedPathError ? { file: { path: error.offender } } : {};
        ops.error("rule reload refused; the previous rules stay in force", { error, ...offender });
        throw error;
      }
      if (isEsBackend(backend)) backend.setBlockRules(blockQueries);
      applyGuards();
      return rules;
    },
    counts,
    get guards() {
      return guards;
    },
    async stop() {
      stopHeartbeat();
      await backend.stop();
      ops.info("agent stopped", { macsensor: { counts: counts() } });
      await options.alertLog.flush();
    },
  };
}

/** The stopped process's terminal: the raw event's, else the one its ECS char_device names. */
function tellTerminal(notifier: TtyNotifier, { raw, event, rule, action }: StoppedEvent): void {
  const own = typeof raw.tty === "string" && raw.tty.startsWith("/dev/") ? raw.tty : undefined;
  const device = (event.process as { tty?: { char_device?: { major?: unknown; minor?: unknown } } } | undefined)?.tty?.char_device;
  const tty = own ?? ttyPath(device);
  if (tty !== undefined) notifier.notify({ tty, rule: rule.name, action, event });
}

function logGuards(ops: OpsLogger, report: FileGuardReport): void {
  ops.info("file guards", {
    macsensor: {
      guards: {
        active: report.active,
        configured: report.configured,
        marks: report.marks,
        unguarded: report.unguarded.map((u) => u.id),
      },
    },
  });
  for (const rule of report.unguarded) {
    ops.warn("block rule cannot hold the opens it matches: it alerts, but every open it matches goes ahead", {
      rule: { id: rule.id, name: rule.name },
      macsensor: { reason: rule.reason },
    });
  }
  for (const problem of report.problems) ops.warn("an open guard could not be set; opens there are not held", { macsensor: { reason: problem } });
  if (!report.active && (report.marks.length > 0 || report.configured.length > 0)) {
    ops.warn("file events are off, so no open is held: block rules on files only alert");
  }
}
