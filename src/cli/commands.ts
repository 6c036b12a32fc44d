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
    name: "run",
    usage: "run [--backend auto|es|eslogger|linux] [--rules PATH]... [--alerts FILE]",
    summary: "the agent: live sensor → ECS → rules → alerts/blocks (replays bundled events without root)",
    load: () => import("./runCommand.js"),
  },
  {
    name: "ecs",
    usage: "ecs [--format eslogger|raw|ecs] <file|->",
    summary: "print the ECS event of every input record (what the rules see)",
    load: () => import("./ecsCommand.js"),
  },
  {
    name: "config",
    usage: "config show [--json] [--config FILE] [--managed FILE]",
    summary: "show the effective configuration and where each value came from",
    load: () => import("./configCommand.js"),
  },
  {
    name: "query",
    usage: "query '<EQL>' <events|-> [--tiebreaker F] [--size N]",
    summary: "run an Elasticsearch EQL query over recorded events (NDJSON hits)",
    load: () => import("./queryCommand.js"),
  },
  {
    name: "rules",
    usage: "rules validate <path>... [--json]",
    summary: "check Elastic detection-rules TOML files: loaded, skipped or error (with file:line:column)",
    load: () => import("./rulesCommand.js"),
  },
  {
    name: "replay",
    usage: "replay [--rules PATH]... <events|-> [--alerts FILE] [--stats]",
    summary: "run the rules over recorded ECS events (NDJSON) and write the alerts",
    load: () => import("./replayCommand.js"),
  },
  {
    name: "status",
    usage: "status [--json]",
    summary: "is the agent running; backend, rules, last heartbeat, alerts of the last 24 h",
    load: () => import("./statusCommand.js"),
  },
  {
    name: "alerts",
    usage: "alerts [--since 24h] [--rule ID] [--json] [--file PATH]",
    summary: "review the local alert log (rotated files included) as a table or NDJSON",
    load: () => import("./alertsCommand.js"),
  },
];
