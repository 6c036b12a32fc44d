// The ES stand-in's strictness itself: the misuses it makes fatal really are (each committed on purpose in a child
// process), and macsensor's ES client never commits them on any way a session ends.
import { spawnSync } from "node:child_process";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";

import { addonPath, until } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

const es = recordEsSessions((addon) => expect(addon.standin.state()).toMatchObject({ killed: false, violations: [] }));

/** Runs one misuse in a fresh node process; returns how it ended. */
function commit(what: string): { signal: NodeJS.Signals | null; stderr: string } {
  const code = `require(${JSON.stringify(addonPath)}).standin.selfTestMisuse(${JSON.stringify(what)});`;
  const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", timeout: 60_000 });
  return { signal: r.signal, stderr: r.stderr };
}

describe("misuses the stand-in makes fatal", () => {
  it("es_delete_client from the client's own handler aborts, saying so", () => {
    const r = commit("deleteFromHandler");
    expect(r.signal).toBe("SIGABRT");
    expect(r.stderr).toMatch(/ES stand-in: fatal: es_delete_client called from the client's own handler block/);
  });

  it("es_delete_client from another thread than es_new_client's aborts, saying so", () => {
    const r = commit("deleteFromOtherThread");
    expect(r.signal).toBe("SIGABRT");
    expect(r.stderr).toMatch(/ES stand-in: fatal: es_delete_client called from another thread than the one that called es_new_client/);
  });

  it("a string token read as a C string runs into the guard page after it: no token is NUL-terminated", () => {
    const r = commit("cstring");
    expect(r.signal).toBe("SIGSEGV");
    expect(r.stderr).not.toMatch(/instead of crashing/);
  });
});

describe("macsensor deletes its client only from the thread that created it", () => {
  // A wrong thread would abort this test process (see above); each way a session ends is run here.
  it("stopEs, on the JavaScript thread", () => {
    const before = es.addon.standin.state().clientsDeleted;
    es.start({ authExec: true });
    es.stop();
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, clientsDeleted: before + 1 });
  });

  it("a handle collected without stopEs, by its finalizer", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const before = es.addon.standin.state().clientsDeleted;
    (() => {
      es.addon.startEs({ authExec: true }, () => {}); // dropped at once
    })();
    await until(() => {
      gc();
      return es.addon.standin.state().clientsDeleted === before + 1;
    }, "the finalizer to delete the client");
    expect(es.addon.standin.state().clientAlive).toBe(false);
  });

  it("a worker exiting without stopEs, on the worker's thread", async () => {
    const { Worker } = await import("node:worker_threads");
    const before = es.addon.standin.state().clientsDeleted;
    const code = `
      const { workerData } = require("node:worker_threads");
      require(workerData).startEs({ authExec: true }, () => {});`;
    const worker = new Worker(code, { eval: true, workerData: addonPath });
    await new Promise((resolve, reject) => {
      worker.on("exit", resolve);
      worker.on("error", reject);
    });
    expect(es.addon.standin.state()).toMatchObject({ clientAlive: false, clientsDeleted: before + 1 });
  });
});
