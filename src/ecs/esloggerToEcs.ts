import type { RawEvent } from "../sensor/rawEvent.js";
import { readEsloggerEvents, type EsloggerReadOptions } from "../sensor/esloggerReader.js";
import { defaultAgent, recordedMacHost } from "./agent.js";
import type { EcsEvent } from "./ecsEvent.js";
import { detectHost, type EcsHost } from "./host.js";
import { createEcsMapper, type EcsAgent, type EcsMapper } from "./mapper.js";
import { createSystemUserNames } from "./userNames.js";

export interface EsloggerToEcsOptions extends EsloggerReadOptions {
  /** A mapper to use (and whose process table to feed); otherwise one is made from host/agent. */
  mapper?: EcsMapper;
  /** Default: this Mac when running on macOS, else recordedMacHost(). */
  host?: EcsHost;
  /** Default: defaultAgent(host). */
  agent?: EcsAgent;
  /** event.created clock; default Date.now. */
  now?: () => number;
}

/** The mapper esloggerToEcs uses when none is given. */
export function esloggerMapper(options: Pick<EsloggerToEcsOptions, "host" | "agent" | "now"> = {}): EcsMapper {
  const host = options.host ?? (process.platform === "darwin" ? detectHost() : recordedMacHost());
  return createEcsMapper({
    host,
    agent: options.agent ?? defaultAgent(host),
    users: process.platform === "darwin" ? createSystemUserNames() : undefined,
    now: options.now,
  });
}

/**
 * eslogger output (a byte or text stream: a file, stdin, a child process's stdout) → ECS process events, in order.
 * Bad objects go to options.onError and reading continues; other event types are counted in options.stats.
 * For `macsensor replay --format eslogger`.
 */
export async function* esloggerToEcs(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: EsloggerToEcsOptions = {},
): AsyncGenerator<EcsEvent> {
  const mapper = options.mapper ?? esloggerMapper(options);
  // The instigating process of each message fills in parents we never saw start (e.g. the shell of a fork).
  const onInstigator = (record: RawEvent): void => {
    mapper.table.learn(record);
    options.onInstigator?.(record);
  };
  for await (const raw of readEsloggerEvents(input, { ...options, onInstigator })) yield mapper.map(raw);
}
