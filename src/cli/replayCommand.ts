import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { parseCommandLine } from "./args.js";
import type { RuleAction } from "../rules/ruleMetadata.js";

const HELP = `Usage: macsensor replay [--rules <path>]... <events.ndjson|->  [options]

Runs the whole detection path — rules, alert building, the alert log — over recorded ECS events (NDJSON, one
event per line; - reads standard input), or over Apple eslogger output with --format eslogger. Alerts go to
standard output as NDJSON unless --alerts names a log file.

Options:
  --rules <path>            rule file or folder (repeatable; folders are searched recursively for *.toml);
                            default: the rules shipped with macsensor
  --alerts <file>           write alerts to this rotated log file instead of standard output
  --alerts-max-bytes <n>    rotate the alert log at this size
  --alerts-max-files <n>    keep this many alert log files
  --action <RULE_ID=ACTION> report (default), block or kill for a rule (repeatable). Over recorded events nothing
                            can be blocked or killed: the alert records the action with result "not_applicable"
  --format <ecs|eslogger>   the input: ECS events as NDJSON (default), or eslogger JSON (exec, fork and exit
                            messages; one per line, pretty-printed or concatenated), mapped as \`macsensor ecs\` does
  --stats                   print {"events","alerts","alerts_written","alerts_lost","seconds","events_per_second"}
                            as one JSON line on stderr (alerts_written: on disk, or on standard output)
  --parse-all               parse every line; by default a line that contains none of the texts the rules need
                            is only checked to look like a JSON object ({...}), not parsed
  -h, --help                show this help

Lines that are not JSON objects are reported on stderr with their line number and skipped.
Exit status: 0 when everything was read, 1 when some event lines or rule files were bad (the rest ran) or
some alerts could not be written (disk full: the count and the cause go to stderr), 2 on wrong usage or when
no rule could be loaded.`;

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, found '${text}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("replay", HELP, argv, {
    rules: { type: "string", multiple: true },
    alerts: { type: "string" },
    "alerts-max-bytes": { type: "string" },
    "alerts-max-files": { type: "string" },
    action: { type: "string", multiple: true },
    stats: { type: "boolean" },
    "parse-all": { type: "boolean" },
    format: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  let actions: Map<string, RuleAction>;
  let maxBytes: number | undefined;
  let maxFiles: number | undefined;
  const { parseActionAssignment } = await import("../rules/ruleSet.js");
  try {
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? "missing <events> (a file, or - for stdin)" : `expected one events file, found ${positionals.length}`);
    actions = new Map((values.action ?? []).map(parseActionAssignment));
    maxBytes = positiveInteger("alerts-max-bytes", values["alerts-max-bytes"]);
    maxFiles = positiveInteger("alerts-max-files", values["alerts-max-files"]);
    if (values.format !== undefined && values.format !== "ecs" && values.format !== "eslogger") {
      throw new Error(`--format must be ecs or eslogger, found '${values.format}'`);
    }
    if ((maxBytes !== undefined || maxFiles !== undefined) && values.alerts === undefined) {
      throw new Error("--alerts-max-bytes and --alerts-max-files need --alerts <file>");
    }
  } catch (err) {
    process.stderr.write(`macsensor replay: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }

  const [{ loadRules }, { RuleSet }, { replayEvents }, { shippedRulesPath }, output] = await Promise.all([
    import("../rules/loader.js"),
    import("../rules/ruleSet.js"),
    import("../rules/replay.js"),
    import("../rules/shippedRules.js"),
    import("../output/alertLog.js"),
  ]);

  const loaded = loadRules(values.rules ?? [shippedRulesPath()]);
  for (const error of loaded.errors) process.stderr.write(`macsensor replay: rule not loaded: ${error.message}\n`);
  for (const file of loaded.files) if (file.status === "loaded") for (const w of file.warnings) process.stderr.write(`macsensor replay: warning: ${w.message}\n`);
  if (loaded.rules.length === 0) {
    process.stderr.write("macsensor replay: no rule could be loaded\n");
    return 2;
  }
  const rules = new RuleSet(loaded.rules, { actions });
  for (const id of rules.unknownActionIds()) process.stderr.write(`macsensor replay: --action for unknown rule_id '${id}'\n`);

  const sink =
    values.alerts !== undefined
      ? output.createAlertLog({ file: values.alerts, maxBytes, maxFiles })
      : output.createStdoutAlertSink();
  const inputName = positionals[0] === "-" ? "<stdin>" : positionals[0];
  let inputErrors = 0;
  const input =
    values.format === "eslogger"
      ? await esloggerAsNdjson(positionals[0], inputName, () => inputErrors++)
      : positionals[0] === "-"
        ? process.stdin
        : positionals[0];
  let stats;
  try {
    stats = await replayEvents({
      input,
      rules,
      sink,
      onBadLine: (line, reason) => process.stderr.write(`${inputName}:${line}: ${reason}\n`),
      prefilter: !values["parse-all"],
    });
  } catch (err) {
    await sink.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EACCES" || code === "EISDIR") {
      process.stderr.write(`macsensor replay: cannot read ${inputName}: ${code}\n`);
      return 2;
    }
    throw err;
  }
  await sink.close();
  if (values.stats) {
    const line = {
      events: stats.events,
      alerts: stats.alerts,
      alerts_written: sink.written,
      alerts_lost: sink.lost,
      seconds: Number(stats.seconds.toFixed(3)),
      events_per_second: Math.round(stats.eventsPerSecond),
    };
    process.stderr.write(JSON.stringify(line) + "\n");
  }
  if (sink.lost > 0) process.stderr.write(`macsensor replay: ${sink.lost} of ${stats.alerts} alerts lost: ${sink.lossCause ?? "unknown cause"}\n`);
  return stats.badLines > 0 || inputErrors > 0 || loaded.errors.length > 0 || sink.lost > 0 ? 1 : 0;
}

/** eslogger JSON → ECS events (the mapping `macsensor ecs` uses) → NDJSON lines for replay. */
async function esloggerAsNdjson(path: string, name: string, onError: () => void): Promise<Readable> {
  const [{ esloggerToEcs }, { toNdjsonLine }] = await Promise.all([import("../ecs/esloggerToEcs.js"), import("../output/ndjson.js")]);
  const source = path === "-" ? process.stdin : createReadStream(path);
  const docs = esloggerToEcs(source, {
    file: name,
    fileEvents: true,
    onError: (error) => {
      onError();
      process.stderr.write(`${error.message}\n`);
    },
  });
  return Readable.from(
    (async function* () {
      for await (const doc of docs) yield toNdjsonLine(doc) + "\n";
    })(),
  );
}
