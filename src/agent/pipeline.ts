/**
 * The per-event path of the live agent: raw event → ECS → rules → response (verdict to the backend, alert to the
 * log). Every collaborator is injected, so tests drive it with fakes and the daemon wires the real ones.
 */
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { isFileEventKind } from "../ecs/mapper.js";
import type { Hit } from "../eql/api.js";
import { actionOf, decideVerdict, type RuleActions } from "../response/verdict.js";
import type { RuleAction, RuleMetadata } from "../rules/ruleMetadata.js";
import type { RawEvent } from "../sensor/rawEvent.js";

export interface PipelineDetection {
  rule: RuleMetadata;
  hit: Hit;
}

/** What one rule's conditions cost on one event, timed alone. */
export interface PipelineRuleCost {
  rule: RuleMetadata;
  ms: number;
}

export interface PipelineDetector {
  push(event: EcsEvent): readonly PipelineDetection[];
  /** False when no rule of this detector could match the event (a necessary condition; see eventRelevance.ts). */
  relevant?(raw: RawEvent): boolean;
  /** Times each rule push would test on the event, alone, slowest first; changes no rule state (see RuleSet.profile). */
  profile?(event: EcsEvent, now: () => number): readonly PipelineRuleCost[];
}

/** An event whose rule evaluation (the detector's push) took longer than the budget. */
export interface EvalOverrun {
  raw: RawEvent;
  event: EcsEvent;
  /** The detector that evaluated it (a reload may replace it afterwards). */
  detector: PipelineDetector;
  ms: number;
  budgetMs: number;
}

export type ResponseResult = "success" | "failure" | "not_applicable";

export interface PipelineResponse {
  action: RuleAction;
  result: ResponseResult;
  reason?: string;
}

export interface AlertRequest {
  rule: RuleMetadata;
  event: EcsEvent;
  sequenceEvents?: EcsEvent[];
  response: PipelineResponse;
}

/**
 * What answering an AUTH request did: "ok", or why it did not take effect ("late": the watchdog answered;
 * "short": its deadline left too little time for any rule, so it was allowed at once, even fail-closed).
 */
export type AuthAnswerStatus = "ok" | "late" | "short" | "unknown" | "error";

export interface PipelineDeps {
  map(raw: RawEvent): EcsEvent;
  /**
   * Feeds the process table only. With `relevant`, an event no loaded rule could match goes here instead of
   * `map` and the detector (AUTH requests always take the full path).
   */
  track?(raw: RawEvent): void;
  /** Read per event, so a rule reload swaps the detector between two events. */
  detector(): PipelineDetector;
  /** Per-rule actions by rule_id (agent configuration); rules not listed report. Read per event (reloads). */
  actions(): RuleActions;
  /** The backend's AUTH answer; absent for backends that cannot block. */
  respond?(authId: number, allow: boolean): AuthAnswerStatus;
  /** Whether respond covers execs (default true); false: execs fall back as on a backend without respond. */
  authExec?: boolean;
  /** What a block rule does when the backend cannot block (Linux, eslogger): kill the new process, or report. */
  blockFallback: "kill" | "report";
  /** The backend's deadline watchdog answers DENY (fail-closed), so a late deny still took effect. */
  failClosed?: boolean;
  /** Sends SIGKILL; returns null on success, else the reason. */
  kill(pid: number): string | null;
  alert(request: AlertRequest): void;
  onError(error: unknown, raw: RawEvent): void;
  /** Rule evaluation budget per event and the clock (ms) it is measured with; absent: not measured. */
  evalBudget?: { ms: number; now(): number };
  /** Called once an over-budget event has been fully handled (verdict answered, alerts written). */
  onOverrun?(overrun: EvalOverrun): void;
}

export interface PipelineCounts {
  events: number;
  alerts: number;
  denied: number;
  killed: number;
  authAnswered: number;
  authLate: number;
  seqGaps: number;
  duplicateNotifySkipped: number;
  /** Execs that could not be read whole (Linux: the process was gone before /proc was read), so rules saw less. */
  partialExecs: number;
  /** Events no loaded rule could match: they fed the process table, with no ECS document or rule run. */
  notMatchable: number;
  /** Events whose rule evaluation took longer than the budget (they were still evaluated in full). */
  evalOverruns: number;
  errors: number;
}

/**
 * Every exec of one image carries the same (pid, pidversion); ES may report it twice (AUTH then NOTIFY, or, while
 * AUTH_EXEC is being switched on or off, a pre-filtered AUTH and a NOTIFY). Rules run on the first only.
 */
const EXEC_MEMORY = 4096;

export class Pipeline {
  readonly counts: PipelineCounts = {
    events: 0,
    alerts: 0,
    denied: 0,
    killed: 0,
    authAnswered: 0,
    authLate: 0,
    seqGaps: 0,
    duplicateNotifySkipped: 0,
    partialExecs: 0,
    notMatchable: 0,
    evalOverruns: 0,
    errors: 0,
  };
  private readonly lastSeq = new Map<string, number>();
  private readonly seenExecs = new Set<string>();

  constructor(private readonly deps: PipelineDeps) {}

  handle(raw: RawEvent): void {
    this.trackSequence(raw);
    if (this.isRepeatedExec(raw)) {
      this.counts.duplicateNotifySkipped++;
      return;
    }
    this.counts.events++;
    if (raw.partial && raw.kind === "exec") this.counts.partialExecs++;
    let event: EcsEvent;
    let detections: readonly PipelineDetection[];
    let detector: PipelineDetector;
    const budget = this.deps.evalBudget;
    let evalMs = 0;
    try {
      detector = this.deps.detector();
      if (this.deps.track && detector.relevant && !raw.auth && !detector.relevant(raw)) {
        this.deps.track(raw);
        this.counts.notMatchable++;
        return;
      }
      event = this.deps.map(raw);
      if (budget) {
        const start = budget.now();
        detections = detector.push(event);
        evalMs = budget.now() - start;
      } else {
        detections = detector.push(event);
      }
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, raw);
      if (raw.auth) this.answer(raw.auth.id, true);
      return;
    }
    const actions = this.deps.actions();
    let authOutcome: PipelineResponse | undefined;
    if (raw.auth) {
      // AUTH_EXEC and AUTH_OPEN (or a fanotify permission event) alike: a block rule's hit denies.
      const allow = decideVerdict(detections.map((d) => d.rule), actions).verdict === "allow";
      const status = this.answer(raw.auth.id, allow);
      if (!allow) authOutcome = blockOutcome(status, this.deps.failClosed === true, raw);
    }
    let killOutcome: PipelineResponse | undefined;
    for (const detection of detections) {
      const action = actionOf(actions, detection.rule.ruleId);
      const response = this.respondTo(action, raw, authOutcome, () => (killOutcome ??= this.killOnce(raw.pid)));
      this.emitAlert(detection, event, response);
    }
    if (budget && evalMs > budget.ms) this.overran({ raw, event, detector, ms: evalMs, budgetMs: budget.ms });
  }

  private overran(overrun: EvalOverrun): void {
    this.counts.evalOverruns++;
    try {
      this.deps.onOverrun?.(overrun);
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, overrun.raw);
    }
  }

  private respondTo(
    action: RuleAction,
    raw: RawEvent,
    authOutcome: PipelineResponse | undefined,
    kill: () => PipelineResponse,
  ): PipelineResponse {
    if (action === "report") return { action: "report", result: "success" };
    if (action === "kill") {
      // Killing whoever touched a file would hit shells, editors and backup tools alike: file events only report.
      if (isFileEvent(raw)) return { action: "report", result: "success", reason: `kill does not apply to a file event (${raw.kind}); reported only` };
      return kill();
    }
    if (authOutcome) return authOutcome;
    if (raw.kind === "open") {
      if (this.deps.respond) {
        return { action: "block", result: "failure", reason: "the open arrived without an AUTH request (no AUTH_OPEN subscription at that moment), so it went ahead" };
      }
      return { action: "report", result: "success", reason: `the ${raw.source} backend cannot block opens; reported only` };
    }
    if (raw.kind !== "exec") {
      return { action: "block", result: "not_applicable", reason: `a ${raw.kind} event cannot be blocked${isFileEvent(raw) ? " (of file events, only opens can)" : ""}` };
    }
    if (this.deps.respond && this.deps.authExec !== false) {
      // An AUTH backend reporting an exec without an AUTH request: AUTH_EXEC was being switched on or off.
      return { action: "block", result: "failure", reason: "the exec arrived without an AUTH request (AUTH_EXEC was not subscribed at that moment), so it ran" };
    }
    if (this.deps.blockFallback === "kill") {
      const outcome = kill();
      return { ...outcome, reason: `the ${raw.source} backend cannot block; killed after exec${outcome.reason ? `: ${outcome.reason}` : ""}` };
    }
    return { action: "report", result: "success", reason: `the ${raw.source} backend cannot block; reported only` };
  }

  private killOnce(pid: number): PipelineResponse {
    const failure = this.deps.kill(pid);
    if (failure === null) {
      this.counts.killed++;
      return { action: "kill", result: "success" };
    }
    return { action: "kill", result: "failure", reason: failure };
  }

  private emitAlert(detection: PipelineDetection, event: EcsEvent, response: PipelineResponse): void {
    const sequenceEvents =
      detection.hit.kind === "sequence"
        ? detection.hit.events.filter((e): e is EcsEvent => e !== null)
        : undefined;
    try {
      this.deps.alert({ rule: detection.rule, event, response, ...(sequenceEvents ? { sequenceEvents } : {}) });
      this.counts.alerts++;
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, { source: "replay", kind: "exec", seq: 0, time: Date.now(), pid: 0 });
    }
  }

  private answer(id: number, allow: boolean): AuthAnswerStatus {
    if (!this.deps.respond) return "error";
    const status = this.deps.respond(id, allow);
    this.counts.authAnswered++;
    if (status === "late") this.counts.authLate++;
    if (!allow && status === "ok") this.counts.denied++;
    return status;
  }

  private trackSequence(raw: RawEvent): void {
    const previous = this.lastSeq.get(raw.source);
    if (previous !== undefined && raw.seq > previous + 1) this.counts.seqGaps += raw.seq - previous - 1;
    if (previous === undefined || raw.seq > previous) this.lastSeq.set(raw.source, raw.seq);
  }

  /** True for a second report of an exec already seen; remembers the first. */
  private isRepeatedExec(raw: RawEvent): boolean {
    if (raw.kind !== "exec") return false;
    const key = execKey(raw);
    if (key === undefined) return false;
    if (this.seenExecs.delete(key)) return true;
    if (this.seenExecs.size >= EXEC_MEMORY) {
      const oldest = this.seenExecs.values().next().value;
      if (oldest !== undefined) this.seenExecs.delete(oldest);
    }
    this.seenExecs.add(key);
    return false;
  }
}

function execKey(raw: RawEvent): string | undefined {
  const token = raw.auditToken;
  return token ? `${token.pid}:${token.pidversion}` : undefined;
}

function isFileEvent(raw: RawEvent): boolean {
  return isFileEventKind(raw.kind);
}

function blockOutcome(status: AuthAnswerStatus, failClosed: boolean, raw: RawEvent): PipelineResponse {
  switch (status) {
    case "ok":
      return isFileEvent(raw) ? { action: "block", result: "success", reason: `the ${raw.kind} was denied` } : { action: "block", result: "success" };
    case "late":
      return failClosed
        ? { action: "block", result: "success", reason: "the deadline watchdog had already denied it (fail-closed)" }
        : { action: "block", result: "failure", reason: "answered after the deadline watchdog had already allowed it" };
    case "short":
      return { action: "block", result: "failure", reason: "its deadline left too little time for the rules, so it was allowed at once" };
    case "unknown":
      return { action: "block", result: "failure", reason: "the AUTH request was no longer pending" };
    case "error":
      return { action: "block", result: "failure", reason: "the backend could not deliver the answer" };
  }
}
