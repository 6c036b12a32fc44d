import { createReadStream } from "node:fs";
import { parseCommandLine } from "./args.js";
import type { EcsMapper } from "../ecs/mapper.js";

const HELP = `Usage: macsensor ecs [--format eslogger|raw|ecs] [options] <file|->

Prints the ECS event (one JSON object per line) for every record of the input, without rules:
exactly what the rules see.

Formats (default: guessed from the first record):
  eslogger  Apple eslogger JSON (exec, fork, exit, and open, create, close (modified), rename, unlink as file
            events; other event types are counted and skipped).
            One message per line, pretty-printed, or concatenated objects.
  raw       macsensor RawEvent records, one JSON object each; bytes that are not UTF-8 as {"base64": "..."}.
  ecs       ECS documents: checked (dates, string ids, integer pids, arrays) and printed back.

Options:
  --env NAME        keep this environment variable in process.env_vars (repeatable; eslogger only)
  --host-id ID      host.id (and --host-name NAME) for eslogger input read off the Mac it was recorded on
  --host-name NAME
  -h, --help        show this help

Exit status: 0 when every record was read, 1 when some were bad (each is reported on stderr with its line and
column; the rest are still printed), 2 on usage errors.`;

type Format = "eslogger" | "raw" | "ecs";

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("ecs", HELP, argv, {
    format: { type: "string" },
    env: { type: "string", multiple: true },
    "host-id": { type: "string" },
    "host-name": { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`macsensor ecs: expected one input file (or - for stdin)\n\n${HELP}\n`);
    return 2;
  }
  const format = values.format;
  if (format !== undefined && format !== "eslogger" && format !== "raw" && format !== "ecs") {
    process.stderr.write(`macsensor ecs: unknown --format '${format}' (eslogger, raw or ecs)\n`);
    return 2;
  }
  const path = positionals[0];
  const file = path === "-" ? "<stdin>" : path;
  const stream = path === "-" ? process.stdin : createReadStream(path);
  const opened = await new Promise<Error | undefined>((resolve) => {
    if (path === "-") return resolve(undefined);
    stream.once("error", resolve);
    stream.once("readable", () => resolve(undefined));
  });
  if (opened) {
    process.stderr.write(`macsensor ecs: cannot read ${path}: ${opened.message}\n`);
    return 2;
  }

  const { input, first } = await peek(stream as AsyncIterable<Buffer>);
  const chosen: Format = format ?? guessFormat(first);
  const out = new LineWriter();
  let errors = 0;
  const report = (message: string): void => {
    errors++;
    process.stderr.write(`macsensor ecs: ${message}\n`);
  };

  if (chosen === "eslogger") {
    const { esloggerToEcs } = await import("../ecs/esloggerToEcs.js");
    const { newEsloggerReadStats } = await import("../sensor/esloggerReader.js");
    const { recordedMacHost } = await import("../ecs/agent.js");
    const stats = newEsloggerReadStats();
    const hostOverride = values["host-id"] !== undefined || values["host-name"] !== undefined;
    for await (const doc of esloggerToEcs(input, {
      file,
      stats,
      envNames: values.env,
      fileEvents: true,
      host: hostOverride ? recordedMacHost({ id: values["host-id"], name: values["host-name"] }) : undefined,
      onError: (e) => report(e.message),
      onNewerVersion: (v) => process.stderr.write(`macsensor ecs: warning: eslogger message version ${v} is newer than we know; reading it as the latest\n`),
    })) {
      await out.write(JSON.stringify(doc));
    }
    const skipped = Object.entries(stats.skipped);
    if (skipped.length > 0) {
      process.stderr.write(`macsensor ecs: skipped ${skipped.map(([name, n]) => `${n} ${name}`).join(", ")} (not a process or file event)\n`);
    }
  } else {
    const { JsonObjectSplitter } = await import("../sensor/esloggerSplitter.js");
    const { compactJsonText, parseJsonKeepingBigIntegers } = await import("../sensor/esloggerJson.js");
    let mapper: EcsMapper | undefined;
    if (chosen === "raw") {
      const { createEcsMapper } = await import("../ecs/mapper.js");
      const { detectHost } = await import("../ecs/host.js");
      const { defaultAgent } = await import("../ecs/agent.js");
      const { createSystemUserNames } = await import("../ecs/userNames.js");
      const host = detectHost();
      mapper = createEcsMapper({ host, agent: defaultAgent(host), users: createSystemUserNames() });
    }
    const { rawEventFromJson } = await import("../ecs/rawEventJson.js");
    const { validateEcsEvent } = await import("../ecs/validate.js");
    const splitter = new JsonObjectSplitter();
    const decoder = new TextDecoder();
    const handle = async (items: ReturnType<typeof splitter.push>): Promise<void> => {
      for (const item of items) {
        const where = `${file}:${item.line}:${item.column}`;
        if (item.kind === "error") {
          report(`${where}: ${item.reason}`);
          continue;
        }
        let value: unknown;
        try {
          // ECS documents are checked as JSON.parse reads them and printed as written (big integers untouched).
          value = mapper ? parseJsonKeepingBigIntegers(item.text) : JSON.parse(item.text);
        } catch (err) {
          report(`${where}: invalid JSON: ${(err as Error).message}`);
          continue;
        }
        if (mapper) {
          const r = rawEventFromJson(value);
          if ("problems" in r) {
            report(`${where}: not a raw event: ${r.problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}`);
            continue;
          }
          await out.write(JSON.stringify(mapper.map(r.event)));
        } else {
          const problems = validateEcsEvent(value);
          if (problems.length > 0) {
            report(`${where}: not a usable ECS event: ${problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}`);
            continue;
          }
          await out.write(compactJsonText(item.text));
        }
      }
    };
    for await (const chunk of input) await handle(splitter.push(decoder.decode(chunk, { stream: true })));
    await handle([...splitter.push(decoder.decode()), ...splitter.end()]);
  }
  await out.close();
  return errors > 0 ? 1 : 0;
}

/** Reads the first chunk and gives back a stream that still starts with it. */
async function peek(stream: AsyncIterable<Buffer>): Promise<{ input: AsyncIterable<Buffer>; first: string }> {
  const iterator = stream[Symbol.asyncIterator]();
  const head = await iterator.next();
  const first = head.done ? "" : head.value.toString("utf8", 0, Math.min(head.value.length, 65536));
  async function* rest(): AsyncGenerator<Buffer> {
    if (!head.done) yield head.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  }
  return { input: rest(), first };
}

/** eslogger messages have schema_version/event_type; ECS documents @timestamp; anything else is taken as raw. */
export function guessFormat(head: string): Format {
  if (/"schema_version"\s*:|"event_type"\s*:/.test(head)) return "eslogger";
  if (/"@timestamp"\s*:/.test(head)) return "ecs";
  return "raw";
}

/** NDJSON to stdout in batches, waiting when the pipe is full. */
class LineWriter {
  private lines: string[] = [];
  private size = 0;

  async write(line: string): Promise<void> {
    this.lines.push(line);
    this.size += line.length;
    if (this.size > 65536) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const text = this.lines.join("\n") + "\n";
    this.lines = [];
    this.size = 0;
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once("drain", resolve));
  }
}
