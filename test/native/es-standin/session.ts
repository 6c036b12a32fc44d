// What the ES stand-in test files share: the test addon loaded once per file, one session at a time that records
// the events it delivers, and after each test the session stopped and the stand-in reset.
import { afterEach, beforeAll, expect } from "vitest";

import type { RawEvent } from "../../../src/sensor/rawEvent.js";
import {
  type EsHandle, type EsStartOptions, type EsTestAddon, type MessageSpec, type TimebaseName, loadEsTestAddon, until,
} from "./loadAddon.js";

export class EsSessionRecorder {
  addon!: EsTestAddon;
  /** What the current session delivered to JavaScript, in order. */
  events: RawEvent[] = [];
  private handle: EsHandle | undefined;

  /** Starts a session recording into `events`; `decide` sees each AUTH event (and may answer it). */
  start(options: EsStartOptions = {}, decide?: (ev: RawEvent, h: EsHandle) => void): EsHandle {
    this.events = [];
    const h = this.addon.startEs(options, (batch) => {
      for (const ev of batch) {
        this.events.push(ev);
        if (ev.auth && decide) decide(ev, h);
      }
    });
    this.handle = h;
    return h;
  }

  /** Enqueues the messages and waits until the session has delivered `expected` more events; returns those. */
  async deliver(specs: MessageSpec[], expected = specs.length): Promise<RawEvent[]> {
    const before = this.events.length;
    this.addon.standin.enqueue(specs);
    expect(this.addon.standin.waitIdle(10_000)).toBe(true);
    await until(() => this.events.length >= before + expected, `${expected} events`);
    return this.events.slice(before);
  }

  /** A session started on the addon directly, to be stopped after the test like one from start(). */
  track(h: EsHandle): EsHandle {
    this.handle = h;
    return h;
  }

  /** Stops the current session (done after each test anyway). */
  stop(): void {
    if (this.handle) this.addon.stopEs(this.handle);
    this.handle = undefined;
  }
}

/**
 * Registers the file's hooks: the addon loaded before its tests; after each, the session stopped, `check` run on
 * the stand-in (e.g. no protocol violations) and the stand-in reset.
 */
export function recordEsSessions(
  check?: (addon: EsTestAddon) => void,
  timebase: TimebaseName = "appleSilicon",
): EsSessionRecorder {
  const es = new EsSessionRecorder();
  beforeAll(() => {
    es.addon = loadEsTestAddon(timebase);
  }, 300_000);
  afterEach(() => {
    es.stop();
    try {
      check?.(es.addon);
    } finally {
      es.addon.standin.reset(); // a failed check must not fail the next test too
    }
  });
  return es;
}
