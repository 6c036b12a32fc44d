// NOTIFY_EXEC beside AUTH_EXEC, and the agent's own children muted, through the ES stand-in.
import { describe, expect, it } from "vitest";

import { ES_EVENT, type MessageSpec, until } from "./es-standin/loadAddon.js";
import { recordEsSessions } from "./es-standin/session.js";

const es = recordEsSessions((addon) => expect(addon.standin.state()).toMatchObject({ killed: false, violations: [] }));

function exec(type: "auth_exec" | "notify_exec", tag: string, args: string[], ppid = 1): MessageSpec {
  return {
    type, tag, args,
    process: { pid: 60, pidversion: 1, ppid, executable: "/bin/zsh" },
    target: { pid: 60, pidversion: 2, ppid, executable: `/usr/bin/${args[0]}` },
  };
}

describe("NOTIFY_EXEC beside AUTH_EXEC", () => {
  it("a candidate exec comes twice, AUTH then NOTIFY, with the same (pid, pidversion) of the new image", async () => {
    const h = es.start({ authExec: true }, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
    expect(es.addon.standin.state().subscriptions).toContain(ES_EVENT.NOTIFY_EXEC);
    const events = await es.deliver([exec("auth_exec", "a", ["security", "x"]), exec("notify_exec", "n", ["security", "x"])]);
    expect(events.map((e) => [e.kind, e.auth !== undefined, e.auditToken?.pid, e.auditToken?.pidversion])).toEqual([
      ["exec", true, 60, 2],
      ["exec", false, 60, 2],
    ]);
    expect(es.addon.esStats(h)).toMatchObject({ authToJs: 1, toJs: 2 });
  });

  it("switching AUTH_EXEC off leaves NOTIFY_EXEC subscribed, so no exec goes unseen", () => {
    const h = es.start({ authExec: true });
    es.addon.setAuthExec(h, false);
    const subs = es.addon.standin.state().subscriptions;
    expect(subs).toContain(ES_EVENT.NOTIFY_EXEC);
    expect(subs).not.toContain(ES_EVENT.AUTH_EXEC);
  });
});

describe("the agent's own children", () => {
  it("their AUTH execs are allowed natively and none of their events reach JavaScript", async () => {
    const toJs: string[] = [];
    const h = es.start({ authExec: true }, (ev, hh) => {
      toJs.push(String(ev.args?.[0]));
      es.addon.respond(hh, ev.auth!.id, true);
    });
    const child = process.pid;
    await es.deliver(
      [
        exec("auth_exec", "child", ["id", "-un", "501"], child),
        exec("notify_exec", "child", ["id", "-un", "501"], child),
        { type: "exit", tag: "child-exit", process: { pid: 60, pidversion: 2, ppid: child, executable: "/usr/bin/id" } },
        exec("auth_exec", "other", ["ls"]),
      ],
      1,
    );
    await until(() => es.addon.standin.authRecords().every((r) => r.answers === 1), "both answered");
    expect(toJs).toEqual(["ls"]);
    expect(es.events.map((e) => e.args?.[0])).toEqual(["ls"]);
    expect(es.addon.standin.authRecords().map((r) => [r.tag, r.result])).toEqual([["child", "allow"], ["other", "allow"]]);
    expect(es.addon.esStats(h)).toMatchObject({ ownChildren: 3, authToJs: 1 });
  });

  it("with muteSelf off, the agent's children are seen like any process", async () => {
    es.start({ authExec: true, muteSelf: false }, (ev, hh) => es.addon.respond(hh, ev.auth!.id, true));
    const events = await es.deliver([exec("auth_exec", "child", ["id"], process.pid)]);
    expect(events.map((e) => e.args?.[0])).toEqual(["id"]);
  });
});
