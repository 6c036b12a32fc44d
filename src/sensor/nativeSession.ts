/** What the Linux backends share around a native session handle: the pids to ignore, start errors, stopping. */
import { MacsensorError } from "../errors.js";

/** The pids the session is told to ignore: those asked for, plus this process unless `ignoreSelf` is false. */
export function ignoredPids(ignorePids: readonly number[] | undefined, ignoreSelf: boolean): number[] {
  return [...(ignorePids ?? []), ...(ignoreSelf ? [process.pid] : [])];
}

/** The error for a native session that would not start, naming the backend (`the Linux backend`). */
export function nativeStartError(backend: string, err: unknown): MacsensorError {
  const reason = err instanceof Error ? err.message : String(err);
  return new MacsensorError(`cannot start ${backend}: ${reason}`, { cause: err });
}

/**
 * Stops a session and hands its final counters to `keep`. If onEvents threw during the final drain the session is
 * stopped all the same: `keep` gets its counters, then the error is rethrown.
 */
export function stopNativeSession<S>(handle: { stop(): S; stats(): S }, keep: (stats: S) => void): void {
  try {
    keep(handle.stop());
  } catch (err) {
    keep(handle.stats());
    throw err;
  }
}
