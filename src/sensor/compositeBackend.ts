/**
 * Several sources as one backend (on Linux: the process connector and fanotify). One onEvents stream; each
 * source keeps its own sequence numbers natively, and they are renumbered here into one increasing sequence
 * that keeps every source's gaps (a drop in either source is still a gap of the same size). Auth ids are
 * renumbered too, so that respond() reaches the source that asked. Stats are summed by name.
 */
import { MacsensorError } from "../errors.js";
import type { SensorContext } from "../agent/eventRelevance.js";
import type { BackendStats, EventRelevanceSpec, FileGuardReport, SensorBackend } from "./backend.js";
import type { GuardedRule } from "./fileGuards.js";
import type { RawEvent, RawEventKind } from "./rawEvent.js";

type RespondFn = (authId: number, allow: boolean) => unknown;

/** Auth requests remembered for routing; an agent answers each at once, so this bounds only a leak. */
const MAX_ROUTES = 65_536;

export class CompositeBackend implements SensorBackend {
  readonly authKinds: readonly RawEventKind[];
  private seq = 0;
  private nextAuthId = 1;
  private readonly routes = new Map<number, { part: SensorBackend; id: number }>();
  private started: SensorBackend[] = [];

  /**
   * optional: sources the others run without when they cannot start (onSkipped says why); the others fail the
   * whole start.
   */
  constructor(
    readonly name: SensorBackend["name"],
    private readonly parts: readonly SensorBackend[],
    private readonly options: { optional?: readonly SensorBackend[]; onSkipped?: (part: SensorBackend, error: unknown) => void } = {},
  ) {
    if (parts.length === 0) throw new MacsensorError("a composite backend needs at least one source");
    const exec: readonly RawEventKind[] = ["exec"];
    this.authKinds = [...new Set(parts.flatMap((p) => (p.respond ? (p.authKinds ?? exec) : [])))];
    if (parts.some((p) => p.respond)) this.respond = (id, allow) => this.route(id, allow);
  }

  respond?: (authId: number, allow: boolean) => unknown;

  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.started.length > 0) throw new MacsensorError(`the ${this.name} backend is already started`);
    for (const part of this.parts) {
      let last = 0;
      try {
        await part.start((events) => {
          for (const e of events) {
            this.seq += Math.max(1, e.seq - last);
            last = e.seq;
            e.seq = this.seq;
            if (e.auth) e.auth = { ...e.auth, id: this.routeFor(part, e.auth.id) };
          }
          onEvents(events);
        });
      } catch (err) {
        if (this.options.optional?.includes(part)) {
          this.options.onSkipped?.(part, err);
          continue;
        }
        await this.stop().catch(() => {});
        throw err;
      }
      this.started.push(part);
    }
  }

  async stop(): Promise<void> {
    const parts = this.started.splice(0).reverse();
    let first: unknown;
    for (const part of parts) {
      try {
        await part.stop();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  setGuardRules(rules: readonly GuardedRule[], context: SensorContext): FileGuardReport | undefined {
    let report: FileGuardReport | undefined;
    for (const part of this.parts) {
      const r = part.setGuardRules?.(rules, context);
      report ??= r;
    }
    return report;
  }

  setRelevance(relevance: EventRelevanceSpec): void {
    for (const part of this.parts) part.setRelevance?.(relevance);
  }

  stats(): BackendStats {
    const sum: BackendStats = { received: 0, delivered: 0, dropped: 0, queueHighWater: 0 };
    for (const part of this.parts) {
      for (const [key, value] of Object.entries(part.stats())) sum[key] = (sum[key] ?? 0) + value;
    }
    sum.lastSeq = this.seq;
    return sum;
  }

  private routeFor(part: SensorBackend, id: number): number {
    const mine = this.nextAuthId++;
    this.routes.set(mine, { part, id });
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value as number);
    return mine;
  }

  private route(authId: number, allow: boolean): unknown {
    const route = this.routes.get(authId);
    if (!route?.part.respond) return "unknown";
    this.routes.delete(authId);
    return (route.part.respond as RespondFn)(route.id, allow);
  }
}
