import { createReadStream } from "node:fs";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { esloggerToEcs } from "../../src/ecs/esloggerToEcs.js";
import type { EcsHost } from "../../src/ecs/host.js";
import { createEcsMapper, type EcsMapper } from "../../src/ecs/mapper.js";
import type { RawEvent } from "../../src/sensor/rawEvent.js";

export const fixtures = new URL("../fixtures/", import.meta.url).pathname;

export const testHost: EcsHost = {
  id: "4C4C4544-0042-3510-8052-B7C04F4E3732",
  name: "alices-macbook",
  hostname: "Alices-MacBook",
  architecture: "arm64",
  os: { type: "macos", name: "macOS", version: "14.4", platform: "darwin", family: "darwin", kernel: "23.4.0", full: "macOS 14.4" },
};

export const testAgent = { id: "agent-0001", version: "0.1.0" };
export const fixedNow = (): number => Date.UTC(2026, 0, 2, 3, 4, 5, 678);

export function testMapper(): EcsMapper {
  return createEcsMapper({
    host: testHost,
    agent: testAgent,
    now: fixedNow,
    users: { userName: (uid) => ({ 0: "root", 501: "alice" })[uid], groupName: (gid) => ({ 0: "wheel", 20: "staff" })[gid] },
  });
}

/** Every ECS event of an eslogger fixture, through a fresh test mapper. */
export async function mapEsloggerFixture(name: string, mapper = testMapper()): Promise<EcsEvent[]> {
  const out: EcsEvent[] = [];
  for await (const doc of esloggerToEcs(createReadStream(`${fixtures}eslogger/${name}`), { mapper, file: name })) out.push(doc);
  return out;
}

export function get(doc: EcsEvent, path: string): unknown {
  let v: unknown = doc;
  for (const key of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

let seq = 0;
export function exec(pid: number, fields: Partial<RawEvent> = {}): RawEvent {
  return { source: "linux", kind: "exec", seq: ++seq, time: 1_700_000_000_000 + seq, pid, ...fields };
}
export function fork(pid: number, ppid: number, fields: Partial<RawEvent> = {}): RawEvent {
  return { source: "linux", kind: "fork", seq: ++seq, time: 1_700_000_000_000 + seq, pid, ppid, ...fields };
}
export function exit(pid: number, fields: Partial<RawEvent> = {}): RawEvent {
  return { source: "linux", kind: "exit", seq: ++seq, time: 1_700_000_000_000 + seq, pid, ...fields };
}
