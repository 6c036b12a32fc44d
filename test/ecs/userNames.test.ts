// The live agent's user names: never a child process, never a blocking lookup on the JavaScript thread; names
// resolved in the background by the addon's own thread and carried by events once known.
import { describe, expect, it } from "vitest";

import { createEcsMapper } from "../../src/ecs/mapper.js";
import {
  createAsyncUserNames, createLiveUserNames, isAsyncUserNames, prefetchKnownUsers,
  type IdNameAnswer, type NameResolverBinding, type NameResolverHandle, type UserNameResolver,
} from "../../src/ecs/userNames.js";
import { loadNative } from "../../src/sensor/native.js";
import { exec, testAgent, testHost } from "./helpers.js";

const noFiles: UserNameResolver = { userName: () => undefined, groupName: () => undefined };

/** A resolver binding whose answers the test gives by hand. */
function fakeBinding(): NameResolverBinding & { requests: string[]; answer(a: IdNameAnswer[]): void; stopped: boolean } {
  let onNames: ((a: IdNameAnswer[]) => void) | undefined;
  const fake = {
    requests: [] as string[],
    stopped: false,
    startNameResolver(cb: (a: IdNameAnswer[]) => void) {
      onNames = cb;
      return {} as NameResolverHandle;
    },
    resolveName(_h: NameResolverHandle, kind: "user" | "group", id: number) {
      fake.requests.push(`${kind}:${id}`);
    },
    stopNameResolver() {
      fake.stopped = true;
    },
    answer(a: IdNameAnswer[]) {
      onNames?.(a);
    },
  };
  return fake;
}

describe("asynchronous user names", () => {
  it("answer undefined at once, ask the resolver once, and know the name after its answer", () => {
    const binding = fakeBinding();
    const names = createAsyncUserNames(binding, { userName: (u) => (u === 0 ? "root" : undefined), groupName: () => undefined });
    expect(names.userName(0)).toBe("root");
    expect(names.userName(501)).toBeUndefined();
    expect(names.userName(501)).toBeUndefined();
    expect(names.groupName(20)).toBeUndefined();
    expect(binding.requests).toEqual(["user:501", "group:20"]);
    binding.answer([{ kind: "user", id: 501, name: "alice" }, { kind: "group", id: 20, name: "staff" }]);
    expect(names.userName(501)).toBe("alice");
    expect(names.groupName(20)).toBe("staff");
    expect(binding.requests).toHaveLength(2);
  });

  it("believe 'no such user' for a while, then ask again", () => {
    const binding = fakeBinding();
    let now = 0;
    const names = createAsyncUserNames(binding, noFiles, () => now);
    names.userName(777);
    binding.answer([{ kind: "user", id: 777, name: null }]);
    now = 60_000;
    expect(names.userName(777)).toBeUndefined();
    expect(binding.requests).toEqual(["user:777"]);
    now = 10 * 60_000;
    names.userName(777);
    expect(binding.requests).toEqual(["user:777", "user:777"]);
  });

  it("prefetch resolves once every id is answered, or at its timeout", async () => {
    const binding = fakeBinding();
    const names = createAsyncUserNames(binding, noFiles);
    let done = false;
    const p = names.prefetch({ uids: [501], gids: [20] }, 60_000).then(() => (done = true));
    await Promise.resolve();
    binding.answer([{ kind: "user", id: 501, name: "alice" }]);
    await Promise.resolve();
    expect(done).toBe(false);
    binding.answer([{ kind: "group", id: 20, name: null }]);
    await p;
    expect(names.userName(501)).toBe("alice");
    await names.prefetch({ uids: [4242] }, 1); // never answered: the timeout ends the wait
    names.close();
    expect(binding.stopped).toBe(true);
  });

  it("the mapper names a user from the first event after the answer (a nameless id is not cached)", () => {
    const binding = fakeBinding();
    const mapper = createEcsMapper({ host: testHost, agent: testAgent, users: createAsyncUserNames(binding, noFiles) });
    const first = mapper.map(exec(900, { uid: 501, euid: 501, gid: 20, egid: 20, executable: "/bin/ls" }));
    expect(first.user).toMatchObject({ id: "501" });
    expect((first.user as { name?: string }).name).toBeUndefined();
    binding.answer([{ kind: "user", id: 501, name: "alice" }, { kind: "group", id: 20, name: "staff" }]);
    const second = mapper.map(exec(901, { uid: 501, euid: 501, gid: 20, egid: 20, executable: "/bin/ls" }));
    expect(second.user).toMatchObject({ id: "501", name: "alice", Ext: { real: { id: "501", name: "alice" } } });
    expect(second.group).toMatchObject({ id: "20", name: "staff" });
    expect((second.process as { user?: unknown }).user).toMatchObject({ name: "alice" });
  });

  it("the agent waits (bounded) for the logged-in user's names before the backend starts", async () => {
    const binding = fakeBinding();
    const names = createAsyncUserNames(binding, noFiles);
    const waiting = prefetchKnownUsers(names, 60_000, { uids: [501], gids: [20] });
    expect(binding.requests).toEqual(["user:501", "group:20"]);
    binding.answer([{ kind: "user", id: 501, name: "alice" }, { kind: "group", id: 20, name: "staff" }]);
    await waiting;
    expect(names.userName(501)).toBe("alice");
    await prefetchKnownUsers(noFiles, 1); // a synchronous resolver has nothing to wait for
  });
});

describe("the addon's resolver (getpwuid_r / getgrgid_r on its own thread)", () => {
  it("resolves root and misses an id no account has", async () => {
    const names = createLiveUserNames(loadNative(), noFiles);
    expect(isAsyncUserNames(names)).toBe(true);
    if (!isAsyncUserNames(names)) return;
    expect(names.userName(0)).toBeUndefined(); // asked, not waited for
    await names.prefetch({ uids: [0, 3_999_999_999], gids: [0] }, 10_000);
    expect(names.userName(0)).toBe("root");
    expect(names.groupName(0)).toBe("root");
    expect(names.userName(3_999_999_999)).toBeUndefined();
    names.close();
  });

  it("refuses a bad kind or id where it is called", () => {
    const binding = loadNative() as unknown as NameResolverBinding;
    const h = binding.startNameResolver(() => {});
    expect(() => binding.resolveName(h, "host" as "user", 1)).toThrow(/resolveName\(handle, kind/);
    expect(() => binding.resolveName(h, "user", -1)).toThrow(/0 to 4294967295/);
    expect(() => binding.resolveName({} as NameResolverHandle, "user", 1)).toThrow(/handle returned by startNameResolver/);
    binding.stopNameResolver(h);
    binding.stopNameResolver(h);
  });

  it("without the addon's resolver, the files alone (no child process)", () => {
    expect(createLiveUserNames({ abiVersion: 1 }, noFiles)).toBe(noFiles);
  });
});
