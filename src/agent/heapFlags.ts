/**
 * The V8 heap flags the live agent ships with. The LaunchDaemon passes them in NODE_OPTIONS (the single-executable
 * build on Node 20 reads no flags from its command line, but honours NODE_OPTIONS); `macsensor run` warns when it
 * runs without them. See docs/internals.md, "Memory".
 *
 * --max-semi-space-size=1: Node 20 lets the young generation's semi-spaces grow to 16 MB each under a steady
 *   allocation rate (every event allocates its ECS document), and their pages stay resident: ~30 MB of RSS for
 *   garbage. 1 MB semi-spaces hold a whole event batch's short-lived objects many times over.
 * --max-old-space-size=256: at or under 256 MB V8 grows the old generation by a factor of at most ~1.3 over what
 *   survived the last full collection instead of up to 4; the agent's live heap is ~15 MB, so the limit is far.
 * --v8-pool-size=1: one V8 worker thread instead of four for concurrent marking, sweeping and compilation. The
 *   agent's heap is small enough for one; every thread that allocates gets its own malloc arena, and the three
 *   fewer held ~3 MB of RSS.
 */
export const AGENT_HEAP_FLAGS: readonly string[] = Object.freeze(["--max-semi-space-size=1", "--max-old-space-size=256", "--v8-pool-size=1"]);

/** The shipped flags whose option (the text before `=`) neither the command line nor NODE_OPTIONS sets. */
export function missingHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].map((arg) => arg.split("=")[0].replace(/_/g, "-"));
  return AGENT_HEAP_FLAGS.filter((flag) => !given.includes(flag.split("=")[0]));
}
