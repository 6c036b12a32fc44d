import { parseArgs, type ParseArgsConfig } from "node:util";
import { closestName } from "../closestName.js";

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
    process.stderr.write(`macsensor ${command}: ${usageProblem(err, withHelp)}\n\n${help}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help + "\n");
    return 0;
  }
  return parsed;
}

/** Node's parseArgs messages, said the way the rest of macsensor says things, with "did you mean" for a typo. */
export function usageProblem(err: unknown, options: OptionTable): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'(-[^']*)'/.exec(message)?.[1] ?? message;
    const flags = Object.keys(options).map((name) => `--${name}`);
    const typed = option.split("=")[0];
    const guess = typed.startsWith("--") ? (flags.find((f) => f.startsWith(typed)) ?? closestName(typed, flags)) : undefined;
    return `unknown option ${typed}${guess ? ` (did you mean ${guess}?)` : ""}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = /'(--?[\w-]+)/.exec(message)?.[1];
    if (option && /argument missing/.test(message)) return `${option} needs a value`;
    if (option && /does not take an argument/.test(message)) return `${option} takes no value`;
  }
  return message;
}
