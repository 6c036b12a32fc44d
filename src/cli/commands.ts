/**
 * The command table. Each command lives in its own module, imported only when it runs, so that
 * `macsensor --help` and quick commands start fast.
 */
export interface CommandModule {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  name: string;
  usage: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

export const commands: CommandEntry[] = [
  {
    name: "ecs",
    usage: "ecs [--format eslogger|raw|ecs] <file|->",
    summary: "print the ECS event of every input record (what the rules see)",
    load: () => import("./ecsCommand.js"),
  },
];
