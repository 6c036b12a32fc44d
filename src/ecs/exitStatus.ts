/**
 * A wait(2) status word → process.exit_code: the exit status for a normal exit, 128 + signal number for a process
 * killed by a signal (the shell's convention; Defend's own encoding for signalled exits is not documented).
 */
export function decodeWaitStatus(status: number): { exitCode: number; signal?: number } {
  const low = status & 0x7f;
  if (low === 0) return { exitCode: (status >> 8) & 0xff };
  return { exitCode: 128 + low, signal: low };
}
