import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { createHostMapper } from "../../src/ecs/hostMapper.js";
import { createLinuxBackend } from "../../src/sensor/linuxBackend.js";
import { get } from "./helpers.js";

const addon = new URL("../../build/Release/macsensor.node", import.meta.url).pathname;
const live = process.platform === "linux" && process.getuid?.() === 0 && existsSync(addon);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("live Linux events through the mapping", () => {
  it.runIf(live)("fork, exec and exit of a real program: one entity id, the same one /proc seeding computes; parent and exit code right", async () => {
    const mapper = createHostMapper();
    const backend = createLinuxBackend({});
    const docs: EcsEvent[] = [];
    await backend.start((events) => {
      for (const e of events) docs.push(mapper.map(e));
    });
    try {
      await sleep(200);
      const child = spawn("/bin/sh", ["-c", "sleep 1; exit 3"]);
      const exited = new Promise((resolve) => child.on("exit", resolve));
      await sleep(400);
      const seeded = createHostMapper().table.get(child.pid!);
      await exited;
      // The reader thread may still be a little behind on a loaded machine: wait for the end event itself.
      for (const end = Date.now() + 10_000; Date.now() < end; await sleep(20)) {
        if (docs.some((d) => get(d, "process.pid") === child.pid && get(d, "event.action") === "end")) break;
      }
      const mine = docs.filter((d) => get(d, "process.pid") === child.pid);
      expect(mine.map((d) => get(d, "event.action"))).toEqual(["fork", "exec", "end"]);
      const ids = new Set(mine.map((d) => get(d, "process.entity_id")));
      expect(ids.size).toBe(1);
      expect(seeded?.entityId).toBe(get(mine[0], "process.entity_id"));
      expect(get(mine[1], "process.args")).toEqual(["/bin/sh", "-c", "sleep 1; exit 3"]);
      expect(get(mine[1], "process.parent.pid")).toBe(process.pid);
      expect(get(mine[1], "process.parent.executable")).toBe(process.execPath);
      expect(get(mine[2], "process.exit_code")).toBe(3);
      const sleeper = docs.find((d) => get(d, "event.action") === "exec" && get(d, "process.name") === "sleep" && get(d, "process.parent.pid") === child.pid);
      expect(get(sleeper!, "process.parent.entity_id")).toBe(get(mine[0], "process.entity_id"));
      expect(get(sleeper!, "process.Ext.ancestry")).toContain(get(mine[1], "process.parent.entity_id"));
    } finally {
      await backend.stop();
    }
  });
});
