import { readFileSync } from "node:fs";
import { parseCommandLine } from "./args.js";
import { fieldTypesOption } from "./fieldTypesOption.js";

const HELP = `Usage: macsensor query '<EQL>' <events|-> [options]

Runs an Elasticsearch EQL query over recorded events and prints the hits as NDJSON, shaped like an
Elasticsearch EQL search hit:
  event query:     {"_source": {...}}
  sequence query:  {"join_keys": [...], "events": [{"_source": {...}}, {"missing": true}, ...]}

<events> is a file of NDJSON (one event per line) or one JSON array of events; - reads standard input.
Events are ordered by the timestamp field, then the tiebreaker field, then input order.

Options:
  --tiebreaker FIELD       break timestamp ties by this field (e.g. event.sequence)
  --size N                 print at most N hits (default: all)
  --category-field FIELD   the event category field (default: event.category)
  --timestamp-field FIELD  the timestamp field (default: @timestamp; ISO-8601 or epoch milliseconds)
  --no-ecs-types           do not check the query's fields against ECS (for data that is not ECS)
  --mapping FILE           check the fields against this mapping instead of ECS: a JSON object of field names
                           to types ({"pid": "long"}) or an Elasticsearch mapping ({"properties": ...})
  -h, --help               show this help

By default the query is checked against ECS field types (plus the fields macsensor and Elastic Defend add),
as for rules: a comparison Elasticsearch would reject for a field's type (process.pid : "x") is a bad query;
a field that ECS does not know is a warning on stderr, with the closest ECS name, and the query still runs.

Exit status: 0 whether or not anything matched; 2 for a bad query (the error with line, column and a caret
on stderr) or bad usage; 1 when the events cannot be read (the bad line is named).`;

function fail(message: string, code: number): number {
  process.stderr.write(`macsensor query: ${message}\n`);
  return code;
}

/** Events from NDJSON or a JSON array; throws an Error naming the line on bad input. */
export function parseEvents(text: string, name: string): Record<string, unknown>[] {
  const start = text.search(/\S/);
  if (start >= 0 && text[start] === "[") {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`${name}: not a valid JSON array of events: ${(err as Error).message}`);
    }
    const events = value as unknown[];
    events.forEach((e, i) => {
      if (e === null || typeof e !== "object" || Array.isArray(e)) {
        throw new Error(`${name}: element ${i} of the array is not a JSON object`);
      }
    });
    return events as Record<string, unknown>[];
  }
  const events: Record<string, unknown>[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${name}:${i + 1}: not valid JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${name}:${i + 1}: an event must be a JSON object`);
    }
    events.push(value as Record<string, unknown>);
  }
  return events;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("query", HELP, argv, {
    tiebreaker: { type: "string" },
    size: { type: "string" },
    "category-field": { type: "string" },
    "timestamp-field": { type: "string" },
    "no-ecs-types": { type: "boolean" },
    mapping: { type: "string" },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 2) return fail(`expected a query and an events file (or -)\n\n${HELP}`, 2);
  let size = Infinity;
  if (values.size !== undefined) {
    if (!/^\d+$/.test(values.size)) return fail(`--size must be a non-negative integer, found '${values.size}'`, 2);
    size = Number(values.size);
  }

  const fieldTypes = await fieldTypesOption("query", values["no-ecs-types"], values.mapping);
  if (typeof fieldTypes === "number") return fieldTypes;
  const { compileQuery, EqlError, sortEvents } = await import("../eql/index.js");
  const [source, path] = positionals;
  const options = {
    categoryField: values["category-field"],
    timestampField: values["timestamp-field"],
    tiebreakerField: values.tiebreaker,
  };
  let query;
  try {
    query = compileQuery(source, options);
    const schema = fieldTypes === undefined ? (await import("../ecs/ecsSchema.js")).ecsFieldSchema() : fieldTypes;
    if (schema) {
      const { checkFieldTypes } = await import("../eql/typeCheck.js");
      const warnings = checkFieldTypes(query.ast, schema);
      for (const w of warnings) {
        const at = new EqlError(w.reason, source, w.start, Math.max(1, w.end - w.start));
        const hint = fieldTypes === undefined ? " (--no-ecs-types turns this check off)" : "";
        process.stderr.write(`macsensor query: warning: ${at.message.replace(/\n/, `${hint}\n`)}\n`);
      }
    }
  } catch (err) {
    if (err instanceof EqlError) return fail(err.message, 2);
    throw err;
  }

  let events: Record<string, unknown>[];
  const name = path === "-" ? "<stdin>" : path;
  try {
    events = parseEvents(readFileSync(path === "-" ? 0 : path, "utf8"), name);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(e.code ? `cannot read ${name}: ${e.message}` : e.message, 1);
  }

  const ordered = sortEvents(events, options);
  const matcher = query.newMatcher();
  const out: string[] = [];
  let printed = 0;
  const emit = (hits: ReturnType<typeof matcher.push>): boolean => {
    for (const h of hits) {
      if (printed >= size) return false;
      out.push(
        JSON.stringify(
          h.kind === "event"
            ? { _source: h.event }
            : { join_keys: h.joinKeys, events: h.events.map((e) => (e ? { _source: e } : { missing: true })) },
        ),
      );
      printed++;
      if (out.length >= 512) flush();
    }
    return printed < size;
  };
  const flush = (): void => {
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  };
  let more = size > 0;
  for (let i = 0; more && i < ordered.length; i++) more = emit(matcher.push(ordered[i]));
  if (more) emit(matcher.finish());
  flush();
  return 0;
}
