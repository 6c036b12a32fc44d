import { parseArgs, type ParseArgsConfig } from "node:util";

/** What parseArgs gives for these options (positionals allowed, strict). */
export type CommandLine<O extends OptionTable> = ReturnType<typeof parseArgs<{ args: string[]; options: WithHelp<O>; allowPositionals: true; strict: true }>>;

type OptionTable = NonNullable<ParseArgsConfig["options"]>;
type WithHelp<O extends OptionTable> = O & { help: { type: "boolean"; short: "h" } };

/**
 * Parses a command's arguments the same way for every command: `-h/--help` prints `help` (exit 0), a usage
 * error prints the message and `help` on stderr (exit 2). Returns the parsed values, or the exit code.
 */
export function parseCommandLine<const O extends OptionTable>(command: string, help: string, argv: string[], options: O): CommandLine<O> | number {
  const withHelp = { ...options, help: { type: "boolean", short: "h" } } as WithHelp<O>;
  let parsed: CommandLine<O>;
  try {
    parsed = parseArgs({ args: argv, options: withHelp, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`macsensor ${command}: ${err instanceof Error ? err.message : String(err)}\n\n${help}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help + "\n");
    return 0;
  }
  return parsed;
}
