/**
 * The per-event path of the live agent: raw event → ECS → rules → response (verdict to the backend, alert to the
 * log). Every collaborator is injected, so tests drive it with fakes and the daemon wires the real ones.
 */
import type { EcsEvent } from "../ecs/ecsEvent.js";
import { isFileEventKind } from "../ecs/mapper.js";
import type { Hit } from "../eql/api.js";
import { actionOf, decideVerdict, type RuleActions } from "../response/verdict.js";
import type { RuleAction, RuleMetadata } from "../rules/ruleMetadata.js";
import type { RawAuthRequest, RawEvent } from "../sensor/rawEvent.js";

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
  /** The event was denied (by this rule's block or another's): the alert says so, whatever this rule's action. */
  denied?: boolean;
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
   * The document of an AUTH exec without changing the process table (EcsMapper.preview): the exec may be denied;
   * if it runs, its NOTIFY is mapped with `map`. Absent: AUTH execs are mapped with `map`.
   */
  preview?(raw: RawEvent): EcsEvent;
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
  /** Called once per event that a block or kill stopped, after its alerts: tells the user (their terminal). */
  onStopped?(stopped: StoppedEvent): void;
}

/** One event after the rules: its ECS document, what matched, and how long matching took. */
interface Evaluation {
  event: EcsEvent;
  detections: readonly PipelineDetection[];
  detector: PipelineDetector;
  evalMs: number;
}

/** An event a rule stopped: the first such rule and what was done. */
export interface StoppedEvent {
  raw: RawEvent;
  event: EcsEvent;
  rule: RuleMetadata;
  action: "blocked" | "killed";
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
  /** NOTIFY execs that completed an allowed AUTH exec: alerted with the AUTH's detections, rules not run again. */
  notifyPaired: number;
  /** AUTH execs that were denied (by a block rule, or by the fail-closed watchdog): alerted as denied, never as started. */
  execsDenied: number;
  /** Allowed AUTH execs whose NOTIFY never came (another ES client denied it, the exec failed, or ES dropped it). */
  execsNeverReported: number;
  /** Execs that could not be read whole (Linux: the process was gone before /proc was read), so rules saw less. */
  partialExecs: number;
  /** Events no loaded rule could match: they fed the process table, with no ECS document or rule run. */
  notMatchable: number;
  /** Of `events`, file events (what reached JavaScript; the backend may have dropped others no rule can match). */
  fileEvents: number;
  /** Events whose rule evaluation took longer than the budget (they were still evaluated in full). */
  evalOverruns: number;
  errors: number;
}

/**
 * Every exec of one image carries the same (pid, pidversion). Execs reported twice without AUTH: rules run on the
 * first only.
 */
const EXEC_MEMORY = 4096;
/**
 * How long (event time) an allowed AUTH exec waits for its NOTIFY_EXEC. ES sends the NOTIFY right after the exec
 * runs, on the same client, so a minute without it means it will not come.
 */
const NOTIFY_WAIT_MS = 60_000;
const NO_DETECTIONS: readonly PipelineDetection[] = Object.freeze([]);

/** An allowed AUTH exec whose alerts wait for its NOTIFY_EXEC: only an exec that ran is alerted as started. */
interface AwaitingNotify {
  detections: readonly PipelineDetection[];
  /** The AUTH exec's document (the one the rules saw, in any sequence hit). */
  event: EcsEvent;
  authOutcome: PipelineResponse | undefined;
  time: number;
}

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
    notifyPaired: 0,
    execsDenied: 0,
    execsNeverReported: 0,
    partialExecs: 0,
    notMatchable: 0,
    fileEvents: 0,
    evalOverruns: 0,
    errors: 0,
  };
  private readonly lastSeq = new Map<string, number>();
  private readonly seenExecs = new Set<string>();
  /** Allowed AUTH execs by (pid, pidversion), oldest first. */
  private readonly awaitingNotify = new Map<string, AwaitingNotify>();

  // Made once, not per event: the general mapping, and the AUTH exec's (which leaves the process table as it is).
  private readonly mapEvent: (raw: RawEvent) => EcsEvent;
  private readonly previewEvent: (raw: RawEvent) => EcsEvent;

  constructor(private readonly deps: PipelineDeps) {
    this.mapEvent = (raw) => deps.map(raw);
    this.previewEvent = deps.preview ? (raw) => deps.preview!(raw) : this.mapEvent;
  }

  /**
   * AUTH and NOTIFY of one exec run the rules once, on the AUTH (they must decide before it runs). A denied exec is
   * alerted at once as denied; an allowed one's alerts wait for its NOTIFY, which ES sends only if the exec ran, and
   * then carry the NOTIFY's document (the started process). An exec without AUTH (pre-filtered natively, cached by
   * ES, or AUTH_EXEC off) is judged on its NOTIFY.
   */
  handle(raw: RawEvent): void {
    this.trackSequence(raw);
    if (raw.kind === "exec") {
      this.expireAwaitingNotify(raw.time);
      const key = execKey(raw);
      if (key !== undefined && raw.auth) {
        this.handleAuthExec(raw, key);
        return;
      }
      const awaiting = key === undefined ? undefined : this.awaitingNotify.get(key);
      if (key !== undefined && awaiting) {
        this.awaitingNotify.delete(key);
        this.completeExec(raw, awaiting);
        return;
      }
    }
    if (this.isRepeatedExec(raw)) {
      this.counts.duplicateNotifySkipped++;
      return;
    }
    this.counts.events++;
    if (raw.partial && raw.kind === "exec") this.counts.partialExecs++;
    if (isFileEvent(raw)) this.counts.fileEvents++;
    const evaluation = this.evaluate(raw, this.mapEvent);
    if (!evaluation) return;
    const { event, detections, detector, evalMs } = evaluation;
    const budget = this.deps.evalBudget;
    const actions = this.deps.actions();
    let authOutcome: PipelineResponse | undefined;
    if (raw.auth) {
      // AUTH_EXEC and AUTH_OPEN (or a fanotify permission event) alike: a block rule's hit denies.
      const allow = decideVerdict(detections.map((d) => d.rule), actions).verdict === "allow";
      const status = this.answer(raw.auth.id, allow);
      if (!allow) authOutcome = blockOutcome(status, this.deps.failClosed === true, raw);
    }
    let killOutcome: PipelineResponse | undefined;
    let stopped: StoppedEvent | undefined;
    for (const detection of detections) {
      const action = actionOf(actions, detection.rule.ruleId);
      const response = this.respondTo(action, raw, authOutcome, () => (killOutcome ??= this.killOnce(raw.pid)));
      this.emitAlert(detection, event, response);
      stopped ??= stoppedBy(raw, event, detection, response);
    }
    this.tellStopped(stopped);
    if (budget && evalMs > budget.ms) this.overran({ raw, event, detector, ms: evalMs, budgetMs: budget.ms });
  }

  /**
   * The rules on one event, timed against the budget. Undefined when there is nothing more to do: no loaded rule
   * could match it (the process table is fed instead), or mapping or matching failed (logged; an AUTH is allowed).
   */
  private evaluate(raw: RawEvent, map: (raw: RawEvent) => EcsEvent): Evaluation | undefined {
    const budget = this.deps.evalBudget;
    try {
      const detector = this.deps.detector();
      if (this.deps.track && detector.relevant && !raw.auth && !detector.relevant(raw)) {
        this.deps.track(raw);
        this.counts.notMatchable++;
        return undefined;
      }
      const event = map(raw);
      const start = budget?.now();
      const detections = detector.push(event);
      const evalMs = budget && start !== undefined ? budget.now() - start : 0;
      return { event, detections, detector, evalMs };
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, raw);
      if (raw.auth) this.answer(raw.auth.id, true);
      return undefined;
    }
  }

  /** An AUTH exec: rules run here, once; the answer goes back; alerts now if denied, else when its NOTIFY comes. */
  private handleAuthExec(raw: RawEvent, key: string): void {
    const auth = raw.auth as RawAuthRequest;
    this.counts.events++;
    if (raw.partial) this.counts.partialExecs++;
    const evaluation = this.evaluate(raw, this.previewEvent);
    if (!evaluation) return;
    const { event, detections, detector, evalMs } = evaluation;
    const budget = this.deps.evalBudget;
    const actions = this.deps.actions();
    const allow = decideVerdict(detections.map((d) => d.rule), actions).verdict === "allow";
    const status = this.answer(auth.id, allow);
    const authOutcome = allow ? undefined : blockOutcome(status, this.deps.failClosed === true, raw);
    // Denied for certain: our DENY was taken, or JavaScript was late and the fail-closed watchdog denied it.
    const denied = status === "ok" ? !allow : status === "late" && this.deps.failClosed === true;
    if (denied) {
      this.counts.execsDenied++;
      const deniedEvent = asDenied(event);
      let stopped: StoppedEvent | undefined;
      for (const detection of detections) {
        const action = actionOf(actions, detection.rule.ruleId);
        const response: PipelineResponse =
          action === "block" && authOutcome
            ? authOutcome
            : { action, result: "success", reason: "the exec was denied, so it never ran; reported only", denied: true };
        this.emitAlert(detection, deniedEvent, response);
        stopped ??= stoppedBy(raw, deniedEvent, detection, response);
      }
      this.tellStopped(stopped);
    } else {
      // A block rule matched but its DENY did not take (late, no longer pending): a failed block is alerted now,
      // not when (or whether) the NOTIFY comes; the NOTIFY then only feeds the process table.
      let waiting = detections;
      if (!allow) {
        let killOutcome: PipelineResponse | undefined;
        for (const detection of detections) {
          const response = this.respondTo(actionOf(actions, detection.rule.ruleId), raw, authOutcome, () => (killOutcome ??= this.killOnce(raw.pid)));
          this.emitAlert(detection, event, response);
        }
        waiting = NO_DETECTIONS;
      }
      if (this.awaitingNotify.size >= EXEC_MEMORY) this.expireOldestAwaiting();
      this.awaitingNotify.set(key, { detections: waiting, event, authOutcome, time: raw.time });
    }
    if (budget && evalMs > budget.ms) this.overran({ raw, event, detector, ms: evalMs, budgetMs: budget.ms });
  }

  /** The NOTIFY of an allowed AUTH exec: the exec ran. Feeds the process table and raises the AUTH's alerts. */
  private completeExec(raw: RawEvent, awaiting: AwaitingNotify): void {
    this.counts.notifyPaired++;
    let event: EcsEvent;
    try {
      event = this.deps.map(raw);
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, raw);
      return;
    }
    if (awaiting.detections.length === 0) return;
    const actions = this.deps.actions();
    let killOutcome: PipelineResponse | undefined;
    let stopped: StoppedEvent | undefined;
    for (const detection of awaiting.detections) {
      const action = actionOf(actions, detection.rule.ruleId);
      const response = this.respondTo(action, raw, awaiting.authOutcome, () => (killOutcome ??= this.killOnce(raw.pid)));
      this.emitAlert(detection, event, response, awaiting.event);
      stopped ??= stoppedBy(raw, event, detection, response);
    }
    this.tellStopped(stopped);
  }

  private tellStopped(stopped: StoppedEvent | undefined): void {
    if (!stopped || !this.deps.onStopped) return;
    try {
      this.deps.onStopped(stopped);
    } catch (error) {
      this.counts.errors++;
      this.deps.onError(error, stopped.raw);
    }
  }

  private expireAwaitingNotify(now: number): void {
    for (const [key, awaiting] of this.awaitingNotify) {
      if (now - awaiting.time <= NOTIFY_WAIT_MS) break;
      this.awaitingNotify.delete(key);
      this.counts.execsNeverReported++;
    }
  }

  private expireOldestAwaiting(): void {
    const oldest = this.awaitingNotify.keys().next().value;
    if (oldest === undefined) return;
    this.awaitingNotify.delete(oldest);
    this.counts.execsNeverReported++;
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
        const why = raw.source === "linux" ? "no guard held opens of this path" : "no AUTH_OPEN subscription at that moment";
        return { action: "block", result: "failure", reason: `the open arrived without an AUTH request (${why}), so it went ahead` };
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

  /** `replaced`: the AUTH document the rules saw, shown in a sequence as `event` (its NOTIFY's) instead. */
  private emitAlert(detection: PipelineDetection, event: EcsEvent, response: PipelineResponse, replaced?: EcsEvent): void {
    const sequenceEvents =
      detection.hit.kind === "sequence"
        ? detection.hit.events.filter((e): e is EcsEvent => e !== null).map((e) => (replaced !== undefined && e === replaced ? event : e))
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

/** The AUTH exec's document as the alert shows a denied exec: not a started process (event.type "denied"). */
function asDenied(event: EcsEvent): EcsEvent {
  const fields = (event.event ?? {}) as Record<string, unknown>;
  return { ...event, event: { ...fields, type: ["denied"], outcome: "failure" } };
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

/** What a block or kill that took effect stopped, for the user's terminal; undefined for anything else. */
function stoppedBy(raw: RawEvent, event: EcsEvent, detection: PipelineDetection, response: PipelineResponse): StoppedEvent | undefined {
  if (response.result !== "success" || (response.action !== "block" && response.action !== "kill")) return undefined;
  return { raw, event, rule: detection.rule, action: response.action === "block" ? "blocked" : "killed" };
}
