/**
 * The eslogger backend (macOS 13+, no ES entitlement needed): runs Apple's `eslogger exec fork exit` (root and
 * Full Disk Access) and reads its JSON through the same parser as `macsensor ecs`. eslogger is a NOTIFY-only
 * client, so it cannot block: the agent falls back to kill or report (PipelineDeps.blockFallback). When the
 * process dies it is started again with back-off, and the gap is reported through onGap.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { MacsensorError } from "../errors.js";
import type { BackendStats, SensorBackend } from "./backend.js";
import { newEsloggerReadStats, readEsloggerEvents, type EsloggerInputError } from "./esloggerReader.js";
import type { RawEvent } from "./rawEvent.js";

export interface EsloggerBackendOptions {
  /** Default /usr/bin/eslogger. */
  command?: string;
  /** Default ["exec", "fork", "exit"]. */
  args?: string[];
  /** First restart delay; doubles per consecutive failure up to maxBackoffMs. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 60 s. */
  maxBackoffMs?: number;
  /** A run this long resets the back-off. Default 60 s. */
  healthyAfterMs?: number;
  /** eslogger died (code/signal, last stderr line) and will be started again after delayMs. */
  onGap?: (info: { exitCode: number | null; signal: NodeJS.Signals | null; stderr: string; delayMs: number; restarts: number }) => void;
  /** A message eslogger printed that could not be read (the rest goes on). */
  onInputError?: (error: EsloggerInputError) => void;
  /** onEvents (or another callback) threw: reported here, and reading goes on. Default: a line on stderr. */
  onConsumerError?: (error: unknown) => void;
  /** The instigating process of an event (parent facts for the process table). */
  onInstigator?: (record: RawEvent) => void;
}

const BATCH_MAX = 256;

class EsloggerBackend implements SensorBackend {
  readonly name = "eslogger" as const;
  private child: ChildProcess | undefined;
  private reading: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private failures = 0;
  /** The last RawEvent.seq given out: ours, +1 per event and per drop, continuous across eslogger restarts. */
  private seq = 0;
  private readonly counts = { received: 0, delivered: 0, dropped: 0, queueHighWater: 0, restarts: 0, inputErrors: 0, consumerErrors: 0 };

  constructor(private readonly options: EsloggerBackendOptions) {}

  async start(onEvents: (events: RawEvent[]) => void): Promise<void> {
    if (this.started) throw new MacsensorError("the eslogger backend is already started");
    this.started = true;
    this.stopping = false;
    try {
      await this.launch(onEvents);
    } catch (err) {
      // Nothing runs: a later start (e.g. once eslogger is installed) must not be refused as a second one.
      this.started = false;
      throw err;
    }
  }

  private launch(onEvents: (events: RawEvent[]) => void): Promise<void> {
    const command = this.options.command ?? "/usr/bin/eslogger";
    const child = spawn(command, this.options.args ?? ["exec", "fork", "exit"], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const launchedAt = Date.now();
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (err: NodeJS.ErrnoException) => {
        reject(
          new MacsensorError(
            err.code === "ENOENT"
              ? `cannot run ${command}: not found (eslogger ships with macOS 13 and later)`
              : `cannot run ${command}: ${err.message}`,
            { cause: err },
          ),
        );
      });
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("close", (code, signal) => resolve({ code, signal }));
    });
    this.reading = (async () => {
      try {
        await spawned;
      } catch {
        return;
      }
      let batch: RawEvent[] = [];
      const read = newEsloggerReadStats();
      const events = readEsloggerEvents(child.stdout!, {
        file: "eslogger",
        stats: read,
        onError: (error) => {
          this.counts.inputErrors++;
          this.options.onInputError?.(error);
        },
        ...(this.options.onInstigator ? { onInstigator: this.options.onInstigator } : {}),
      });
      // eslogger's global_seq_num counts this ES client's messages: it starts over with each eslogger process,
      // and messages read but not yielded (other event types, bad objects) also took a number.
      let lastGlobal: number | undefined;
      let consumedAtLast = 0;
      for await (const event of events) {
        const consumed = read.events + read.errors + Object.values(read.skipped).reduce((a, b) => a + b, 0);
        const missed = lastGlobal === undefined ? 0 : Math.max(0, event.seq - lastGlobal - 1 - (consumed - consumedAtLast - 1));
        lastGlobal = event.seq;
        consumedAtLast = consumed;
        this.counts.dropped += missed;
        this.seq += missed + 1;
        event.seq = this.seq;
        this.counts.received++;
        batch.push(event);
        // The reader yields per chunk; hand events over as soon as the chunk is used up.
        if (batch.length >= BATCH_MAX || child.stdout!.readableLength === 0) {
          this.deliver(onEvents, batch);
          batch = [];
        }
      }
      this.deliver(onEvents, batch);
      const { code, signal } = await exited;
      if (this.stopping) return;
      if (Date.now() - launchedAt >= (this.options.healthyAfterMs ?? 60_000)) this.failures = 0;
      const delayMs = Math.min((this.options.initialBackoffMs ?? 1000) * 2 ** this.failures, this.options.maxBackoffMs ?? 60_000);
      this.failures++;
      this.counts.restarts++;
      this.options.onGap?.({ exitCode: code, signal, stderr: stderr.trim().split("\n").pop() ?? "", delayMs, restarts: this.counts.restarts });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopping) this.launch(onEvents).catch(() => this.scheduleAfterSpawnFailure(onEvents));
      }, delayMs);
    })();
    return spawned;
  }

  private scheduleAfterSpawnFailure(onEvents: (events: RawEvent[]) => void): void {
    if (this.stopping) return;
    const delayMs = Math.min((this.options.initialBackoffMs ?? 1000) * 2 ** this.failures, this.options.maxBackoffMs ?? 60_000);
    this.failures++;
    this.counts.restarts++;
    this.options.onGap?.({ exitCode: null, signal: null, stderr: "could not be started", delayMs, restarts: this.counts.restarts });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.launch(onEvents).catch(() => this.scheduleAfterSpawnFailure(onEvents));
    }, delayMs);
  }

  private deliver(onEvents: (events: RawEvent[]) => void, batch: RawEvent[]): void {
    if (batch.length === 0) return;
    this.counts.delivered += batch.length;
    try {
      onEvents(batch);
    } catch (error) {
      // A consumer's bug must not end the reader: eslogger would be left running with nobody reading it.
      this.counts.consumerErrors++;
      if (this.options.onConsumerError) this.options.onConsumerError(error);
      else process.stderr.write(`macsensor: eslogger events not processed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.started = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    // What eslogger had printed before it ended is still read and delivered.
    await this.reading;
  }

  stats(): BackendStats {
    return { ...this.counts };
  }
}

export function createEsloggerBackend(options: EsloggerBackendOptions = {}): SensorBackend {
  return new EsloggerBackend(options);
}
