import { describe, expect, it } from "vitest";
import { MacsensorError } from "../../src/errors.js";
import { ignoredPids, nativeStartError, stopNativeSession } from "../../src/sensor/nativeSession.js";

describe("native session helpers", () => {
  it("ignores this process unless told not to", () => {
    expect(ignoredPids([7], true)).toEqual([7, process.pid]);
    expect(ignoredPids(undefined, false)).toEqual([]);
  });

  it("names the backend and the cause when a session will not start", () => {
    const cause = new Error("EPERM");
    const err = nativeStartError("the Linux backend", cause);
    expect(err).toBeInstanceOf(MacsensorError);
    expect(err.message).toBe("cannot start the Linux backend: EPERM");
    expect(err.cause).toBe(cause);
  });

  it("keeps the final counters when stopping throws (onEvents threw in the final drain), then rethrows", () => {
    const kept: number[] = [];
    stopNativeSession({ stop: () => 1, stats: () => 2 }, (s) => kept.push(s));
    const drain = new Error("onEvents threw");
    const throwing = {
      stop: (): number => {
        throw drain;
      },
      stats: () => 3,
    };
    expect(() => stopNativeSession(throwing, (s) => kept.push(s))).toThrow(drain);
    expect(kept).toEqual([1, 3]);
  });
});
