/**
 * Flush every open log before the process ends on SIGTERM (launchd / systemd stop: exit 0, the daemon contract)
 * or SIGINT (Ctrl-C: exit 130, the shell's convention for an interrupted command).
 */
export interface Flushable {
  flush(): Promise<void>;
}

const registered = new Set<Flushable>();

/** Adds a log to those flushed on a signal; returns the function that removes it again. */
export function registerFlushable(log: Flushable): () => void {
  registered.add(log);
  return () => registered.delete(log);
}

/** Flushes every registered log; one failing does not stop the others. */
export async function flushAll(): Promise<void> {
  await Promise.allSettled([...registered].map((log) => log.flush()));
}

export const SIGNAL_EXIT_CODES: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGTERM: 0, SIGINT: 130 };

export interface SignalFlushOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Give up flushing after this long and exit 1 (default 10 s, well inside launchd's 20 s ExitTimeOut). */
  timeoutMs?: number;
  /** Runs first, e.g. to stop producing events so the flush sees the last of them. */
  beforeFlush?: (signal: NodeJS.Signals) => void | Promise<void>;
  /** How to end the process (tests replace it); default process.exit. */
  exit?: (code: number) => void;
}

/**
 * On each of `signals`: run beforeFlush, flush every registered log, then exit with the signal's code.
 * A second signal while flushing exits at once. Returns the function that removes the handlers.
 */
export function installSignalFlush(options: SignalFlushOptions = {}): () => void {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    const code = SIGNAL_EXIT_CODES[signal] ?? 0;
    if (stopping) {
      exit(code);
      return;
    }
    stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const flushed = (async () => {
      try {
        await options.beforeFlush?.(signal);
      } catch (error) {
        process.stderr.write(`macsensor: before exit: ${error instanceof Error ? error.message : String(error)}\n`);
      }
      await flushAll();
      return false;
    })();
    void Promise.race([flushed, timedOut]).then((late) => {
      clearTimeout(timer);
      if (late) process.stderr.write(`macsensor: logs not flushed within ${timeoutMs} ms, exiting\n`);
      exit(late ? 1 : code);
    });
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
